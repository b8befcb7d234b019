"""Webhook endpoints: where events are delivered (https://docs.stripe.com/api/webhook_endpoints).

The signing `secret` is returned only by the create call, as on Stripe.
"""

from collections.abc import Sequence

from campaign_billing.stripe_server.errors import invalid_param
from campaign_billing.stripe_server.ids import new_id, new_webhook_secret
from campaign_billing.stripe_server.listing import LIST_PARAMS, list_page
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject


def register_endpoint(
    state: AccountState,
    url: str,
    enabled_events: Sequence[str],
    *,
    secret: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    api_version: str | None = None,
) -> JsonObject:
    """Adds an endpoint; returns it with its `secret`, which tests may choose."""
    endpoint: JsonObject = {
        "id": new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": state.clock.timestamp(),
        "description": description,
        "enabled_events": list(enabled_events),
        "livemode": False,
        "metadata": metadata or {},
        "status": "enabled",
        "url": url,
    }
    state.webhook_endpoints.add(endpoint)
    state.webhook_secrets[endpoint["id"]] = secret or new_webhook_secret()
    return {**endpoint, "secret": state.webhook_secrets[endpoint["id"]]}


def _enabled_events(params: Params) -> list[str]:
    events = params.texts("enabled_events")
    if not events:
        raise invalid_param(
            "Missing required param: enabled_events.", "enabled_events", "parameter_missing"
        )
    return events


def create_endpoint(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    return register_endpoint(
        state,
        params.required_text("url"),
        _enabled_events(params),
        description=params.text("description"),
        metadata=params.metadata(),
        api_version=params.text("api_version"),
    )


def retrieve_endpoint(state: AccountState, request: ApiRequest) -> JsonObject:
    return state.webhook_endpoints.require(request.path_param("webhook_endpoint"))


def update_endpoint(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    endpoint = state.webhook_endpoints.require(request.path_param("webhook_endpoint"))
    if params.has("url"):
        endpoint["url"] = params.required_text("url")
    if params.has("enabled_events"):
        endpoint["enabled_events"] = _enabled_events(params)
    if params.has("description"):
        endpoint["description"] = params.text("description") or None
    disabled = params.boolean("disabled")
    if disabled is not None:
        endpoint["status"] = "disabled" if disabled else "enabled"
    endpoint["metadata"] = params.metadata(endpoint["metadata"])
    return endpoint


def delete_endpoint(state: AccountState, request: ApiRequest) -> JsonObject:
    endpoint_id = request.path_param("webhook_endpoint")
    state.webhook_endpoints.require(endpoint_id)
    state.webhook_endpoints.remove(endpoint_id)
    state.webhook_secrets.pop(endpoint_id, None)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def list_endpoints(state: AccountState, request: ApiRequest) -> JsonObject:
    return list_page(
        state.webhook_endpoints.newest_first(),
        request.params,
        "/v1/webhook_endpoints",
        state.webhook_endpoints,
    )


ROUTES = (
    Route(
        "POST",
        "/v1/webhook_endpoints",
        create_endpoint,
        COMMON_PARAMS
        | {"api_version", "connect", "description", "enabled_events", "metadata", "url"},
    ),
    Route("GET", "/v1/webhook_endpoints/{webhook_endpoint}", retrieve_endpoint, COMMON_PARAMS),
    Route(
        "POST",
        "/v1/webhook_endpoints/{webhook_endpoint}",
        update_endpoint,
        COMMON_PARAMS | {"description", "disabled", "enabled_events", "metadata", "url"},
    ),
    Route("DELETE", "/v1/webhook_endpoints/{webhook_endpoint}", delete_endpoint),
    Route(
        "GET", "/v1/webhook_endpoints", list_endpoints, COMMON_PARAMS | LIST_PARAMS - {"created"}
    ),
)
