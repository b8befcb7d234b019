"""Events: list and retrieve (https://docs.stripe.com/api/events).

`delivery_success=false` returns events still pending or failed for at least one webhook
endpoint, `true` those delivered everywhere (https://docs.stripe.com/api/events/list).
"""

from campaign_billing.stripe_server.listing import LIST_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject


def _type_matches(pattern: str, event_type: str) -> bool:
    # `type` takes one wildcard, e.g. `payment_intent.*`.
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def list_events(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    in_range = created_filter(params)
    delivered = params.boolean("delivery_success")
    type_pattern = params.text("type")
    types = params.texts("types")
    matching = [
        event
        for event in state.event_log.events.newest_first()
        if in_range(event)
        and (delivered is None or (event["pending_webhooks"] == 0) == delivered)
        and (not type_pattern or _type_matches(type_pattern, event["type"]))
        and (not types or event["type"] in types)
    ]
    return list_page(matching, params, "/v1/events", state.event_log.events)


def retrieve_event(state: AccountState, request: ApiRequest) -> JsonObject:
    return state.event_log.events.require(request.path_param("id"))


ROUTES = (
    Route(
        "GET",
        "/v1/events",
        list_events,
        COMMON_PARAMS | LIST_PARAMS | {"delivery_success", "type", "types"},
    ),
    Route("GET", "/v1/events/{id}", retrieve_event, COMMON_PARAMS),
)
