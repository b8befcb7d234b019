"""`expand[]`: replacing ids in a response by the objects they name.

https://docs.stripe.com/api/expanding_objects: dotted paths (`latest_charge`,
`invoice_settings.default_payment_method`, `data.customer` inside lists), applied to a copy of the
response so stored objects keep their ids.
"""

from typing import Any

from campaign_billing.stripe_server.collection import Collection
from campaign_billing.stripe_server.errors import invalid_param
from campaign_billing.stripe_server.snapshot import snapshot
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject


def expand(state: AccountState, response: JsonObject, paths: list[str]) -> JsonObject:
    if not paths:
        return response
    expanded = snapshot(response)
    for path in paths:
        _expand_path(state, expanded, path.split("."), path)
    return expanded


def _expand_path(state: AccountState, node: Any, parts: list[str], path: str) -> None:
    if isinstance(node, list):
        for item in node:
            _expand_path(state, item, parts, path)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        raise invalid_param(f"This property cannot be expanded ({path}).", "expand")
    key, rest = parts[0], parts[1:]
    value = node[key]
    if isinstance(value, str):
        # `setup_intent.payment_method` expands setup_intent on the way, as Stripe does.
        node[key] = snapshot(_collection_for(state, value, path).require(value, "expand"))
    elif value is not None and not isinstance(value, dict | list):
        raise invalid_param(f"This property cannot be expanded ({path}).", "expand")
    if rest and node[key] is not None:
        _expand_path(state, node[key], rest, path)


def _collection_for(state: AccountState, object_id: str, path: str) -> Collection:
    prefixes = {
        "cus_": state.customers,
        "pm_": state.payment_methods,
        "seti_": state.setup_intents,
        "pi_": state.payment_intents,
        "ch_": state.charges,
        "cs_": state.checkout_sessions,
        "evt_": state.event_log.events,
        "we_": state.webhook_endpoints,
    }
    for prefix, collection in prefixes.items():
        if object_id.startswith(prefix):
            return collection
    raise invalid_param(f"This property cannot be expanded ({path}).", "expand")
