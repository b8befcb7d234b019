"""SetupIntents: saving a card for later off-session charges.

https://docs.stripe.com/api/setup_intents and https://docs.stripe.com/payments/save-and-reuse:
a successful confirmation attaches the card to the SetupIntent's customer
(`payment_method.attached`) and emits `setup_intent.succeeded`; a card that needs 3D Secure
moves to `requires_action` (`setup_intent.requires_action`); a card the issuer declines fails
with a 402 `card_error` that carries the SetupIntent, left in `requires_payment_method` with
`last_setup_error` (`setup_intent.setup_failed`).
"""

from campaign_billing.stripe_server.cards import Authentication, card_error, last_payment_error
from campaign_billing.stripe_server.errors import invalid_param, invalid_request, unexpected_state
from campaign_billing.stripe_server.event_log import Origin
from campaign_billing.stripe_server.ids import new_client_secret, new_id
from campaign_billing.stripe_server.listing import LIST_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.resources.payment_methods import (
    attach,
    card_profile,
    ensure_usable,
    payment_method_for_use,
    payment_method_from_data,
)
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.snapshot import snapshot
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject

_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_WRITABLE = frozenset(
    {
        "allowed_payment_method_types",
        "attach_to_self",
        "customer",
        "customer_account",
        "description",
        "excluded_payment_method_types",
        "flow_directions",
        "metadata",
        "payment_method",
        "payment_method_configuration",
        "payment_method_data",
        "payment_method_options",
    }
)


def new_setup_intent(
    state: AccountState,
    *,
    customer: str | None,
    metadata: dict[str, str],
    origin: Origin,
    description: str | None = None,
    usage: str = "off_session",
) -> JsonObject:
    intent_id = new_id("seti_")
    intent: JsonObject = {
        "id": intent_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": new_client_secret(intent_id),
        "created": state.clock.timestamp(),
        "customer": customer,
        "description": description,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": usage,
    }
    state.setup_intents.add(intent)
    state.event_log.emit("setup_intent.created", intent, origin)
    return intent


def confirm_setup(
    state: AccountState,
    intent: JsonObject,
    payment_method: JsonObject,
    origin: Origin,
    *,
    cardholder_authenticates: bool = False,
) -> JsonObject:
    ensure_usable(state, payment_method, "payment_method")
    owner = payment_method["customer"]
    if owner is not None and owner != intent["customer"]:
        raise invalid_request(
            f"The provided PaymentMethod {payment_method['id']} is attached to customer {owner}, "
            "not to this SetupIntent's customer.",
            param="payment_method",
        )
    intent["payment_method"] = payment_method["id"]
    profile = card_profile(state, payment_method)
    if profile.authentication is not Authentication.NEVER and not cardholder_authenticates:
        intent["status"] = "requires_action"
        intent["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "source": new_id("src_")},
        }
        state.event_log.emit("setup_intent.requires_action", intent, origin)
        return intent
    if not profile.attachable and profile.charge_decline is not None:
        intent.update(
            status="requires_payment_method",
            last_setup_error={
                **last_payment_error(profile.charge_decline),
                "payment_method": snapshot(payment_method),
            },
            next_action=None,
            payment_method=None,
        )
        state.event_log.emit("setup_intent.setup_failed", intent, origin)
        raise card_error(
            profile.charge_decline,
            {
                "setup_intent": snapshot(intent),
                "payment_method": snapshot(payment_method),
            },
        )
    if intent["customer"]:
        attach(state, payment_method, intent["customer"], origin)
    state.set_up_for_off_session.add(payment_method["id"])
    intent.update(status="succeeded", last_setup_error=None, next_action=None)
    state.event_log.emit("setup_intent.succeeded", intent, origin)
    return intent


def _payment_method_param(state: AccountState, params: Params) -> JsonObject | None:
    payment_method_id = params.text("payment_method")
    if payment_method_id:
        return payment_method_for_use(state, payment_method_id, "payment_method")
    data = params.nested("payment_method_data")
    if data is not None:
        return payment_method_from_data(state, data)
    return None


def _confirm_from_request(
    state: AccountState, intent: JsonObject, payment_method: JsonObject | None, origin: Origin
) -> JsonObject:
    if payment_method is None and intent["payment_method"]:
        payment_method = state.payment_methods.require(intent["payment_method"], "payment_method")
    if payment_method is None:
        raise invalid_request(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            param="payment_method",
            code="setup_intent_unexpected_state",
        )
    return confirm_setup(state, intent, payment_method, origin)


# --- HTTP handlers ---------------------------------------------------------------------------


def create_setup_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer = params.text("customer") or None
    if customer is not None:
        state.customers.require(customer, "customer")
    usage = params.text("usage") or "off_session"
    if usage not in ("off_session", "on_session"):
        raise invalid_param(f"Invalid usage: {usage}", "usage")
    payment_method = _payment_method_param(state, params)
    intent = new_setup_intent(
        state,
        customer=customer,
        metadata=params.metadata(),
        origin=request.origin,
        description=params.text("description"),
        usage=usage,
    )
    if payment_method is not None:
        intent["payment_method"] = payment_method["id"]
        intent["status"] = "requires_confirmation"
    if params.flag("confirm"):
        return _confirm_from_request(state, intent, payment_method, request.origin)
    return intent


def retrieve_setup_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    return state.setup_intents.require(request.path_param("intent"), "intent")


def update_setup_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    intent = state.setup_intents.require(request.path_param("intent"), "intent")
    if params.has("customer"):
        customer = params.text("customer") or None
        if customer is not None:
            state.customers.require(customer, "customer")
        intent["customer"] = customer
    if params.has("description"):
        intent["description"] = params.text("description") or None
    intent["metadata"] = params.metadata(intent["metadata"])
    payment_method = _payment_method_param(state, params)
    if payment_method is not None:
        intent["payment_method"] = payment_method["id"]
        intent["status"] = "requires_confirmation"
    return intent


def confirm_setup_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    intent = state.setup_intents.require(request.path_param("intent"), "intent")
    if intent["status"] not in _CONFIRMABLE:
        raise unexpected_state(
            f"This SetupIntent's status is {intent['status']}, so it cannot be confirmed."
        )
    payment_method = _payment_method_param(state, request.params)
    return _confirm_from_request(state, intent, payment_method, request.origin)


def cancel_setup_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    intent = state.setup_intents.require(request.path_param("intent"), "intent")
    if intent["status"] not in _CANCELABLE:
        raise invalid_request(
            f"You cannot cancel this SetupIntent because it has a status of {intent['status']}.",
            code="setup_intent_unexpected_state",
        )
    intent.update(
        status="canceled",
        cancellation_reason=request.params.text("cancellation_reason") or None,
        next_action=None,
    )
    state.event_log.emit("setup_intent.canceled", intent, request.origin)
    return intent


def list_setup_intents(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer = params.text("customer")
    payment_method = params.text("payment_method")
    in_range = created_filter(params)
    matching = [
        intent
        for intent in state.setup_intents.newest_first()
        if (not customer or intent["customer"] == customer)
        and (not payment_method or intent["payment_method"] == payment_method)
        and in_range(intent)
    ]
    return list_page(matching, params, "/v1/setup_intents", state.setup_intents)


ROUTES = (
    Route(
        "POST",
        "/v1/setup_intents",
        create_setup_intent,
        COMMON_PARAMS
        | _WRITABLE
        | {
            "automatic_payment_methods",
            "confirm",
            "confirmation_token",
            "mandate_data",
            "on_behalf_of",
            "return_url",
            "single_use",
            "usage",
            "use_stripe_sdk",
        },
    ),
    Route(
        "GET",
        "/v1/setup_intents/{intent}",
        retrieve_setup_intent,
        COMMON_PARAMS | {"client_secret"},
    ),
    Route("POST", "/v1/setup_intents/{intent}", update_setup_intent, COMMON_PARAMS | _WRITABLE),
    Route(
        "POST",
        "/v1/setup_intents/{intent}/confirm",
        confirm_setup_intent,
        COMMON_PARAMS
        | {
            "allowed_payment_method_types",
            "confirmation_token",
            "mandate_data",
            "payment_method",
            "payment_method_data",
            "payment_method_options",
            "return_url",
            "use_stripe_sdk",
        },
    ),
    Route(
        "POST",
        "/v1/setup_intents/{intent}/cancel",
        cancel_setup_intent,
        COMMON_PARAMS | {"cancellation_reason"},
    ),
    Route(
        "GET",
        "/v1/setup_intents",
        list_setup_intents,
        COMMON_PARAMS
        | LIST_PARAMS
        | {"attach_to_self", "customer", "customer_account", "payment_method"},
    ),
)


# --- test-only --------------------------------------------------------------------------------


def authenticate(
    state: AccountState, intent: JsonObject, *, passes: bool, origin: Origin
) -> JsonObject:
    """The cardholder answers the 3D Secure challenge of a `requires_action` SetupIntent."""
    if intent["status"] != "requires_action":
        raise unexpected_state(
            f"This SetupIntent's status is {intent['status']}; only one in requires_action "
            "can be authenticated."
        )
    payment_method = state.payment_methods.require(intent["payment_method"], "payment_method")
    if not passes:
        intent.update(
            status="requires_payment_method",
            last_setup_error={
                "type": "invalid_request_error",
                "code": "setup_intent_authentication_failure",
                "message": "The latest attempt to set up the payment method has failed because "
                "authentication failed.",
                "payment_method": snapshot(payment_method),
            },
            next_action=None,
            payment_method=None,
        )
        state.event_log.emit("setup_intent.setup_failed", intent, origin)
        return intent
    return confirm_setup(state, intent, payment_method, origin, cardholder_authenticates=True)
