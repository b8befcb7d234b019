"""PaymentIntents: create (and confirm), confirm, retrieve, update, cancel, list, search.

https://docs.stripe.com/api/payment_intents; what a confirmation does is in payment_attempts.py.
Events: `payment_intent.created` and `payment_intent.canceled` here.
"""

from campaign_billing.stripe_server.errors import invalid_param, invalid_request, unexpected_state
from campaign_billing.stripe_server.event_log import Origin
from campaign_billing.stripe_server.ids import new_client_secret, new_id
from campaign_billing.stripe_server.listing import LIST_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.resources.payment_attempts import check_owner, confirm
from campaign_billing.stripe_server.resources.payment_methods import (
    ensure_usable,
    payment_method_for_use,
    payment_method_from_data,
)
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.search import FieldKind, search_page
from campaign_billing.stripe_server.state import AccountState, LedgerEntry
from campaign_billing.stripe_server.types import JsonObject

# https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts (in minor units).
_MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30, "aud": 50, "cad": 50, "nzd": 50}
_CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
_CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")

# https://docs.stripe.com/search#query-fields-for-payment-intents
SEARCH_FIELDS = {
    "amount": FieldKind.NUMBER,
    "created": FieldKind.NUMBER,
    "currency": FieldKind.STRING,
    "customer": FieldKind.STRING,
    "metadata": FieldKind.METADATA,
    "status": FieldKind.STRING,
}

_WRITABLE = frozenset(
    {
        "allowed_payment_method_types",
        "amount",
        "amount_details",
        "application_fee_amount",
        "capture_method",
        "currency",
        "customer",
        "customer_account",
        "description",
        "excluded_payment_method_types",
        "hooks",
        "metadata",
        "payment_details",
        "payment_method",
        "payment_method_configuration",
        "payment_method_data",
        "payment_method_options",
        "receipt_email",
        "setup_future_usage",
        "shipping",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_data",
        "transfer_group",
    }
)
_CONFIRM_OPTIONS = frozenset(
    {
        "confirmation_token",
        "error_on_requires_action",
        "mandate",
        "mandate_data",
        "off_session",
        "radar_options",
        "return_url",
        "use_stripe_sdk",
    }
)


def _currency(params: Params) -> str:
    currency = params.required_text("currency").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid_param(f"Invalid currency: {currency}.", "currency")
    return currency


def _check_amount(amount: int, currency: str) -> None:
    minimum = _MINIMUM_AMOUNTS.get(currency, 1)
    if amount < minimum:
        raise invalid_request(
            f"Amount must be at least {minimum} {currency} (in the currency's smallest unit).",
            param="amount",
            code="amount_too_small",
        )


def _capture_method(params: Params) -> str:
    method = params.text("capture_method") or "automatic_async"
    if method not in ("automatic", "automatic_async"):
        raise invalid_param(
            f"The test server supports capture_method automatic and automatic_async, not {method}.",
            "capture_method",
        )
    return method


def _off_session(params: Params) -> bool:
    # off_session takes a boolean or "one_off" / "recurring"
    # (https://docs.stripe.com/api/payment_intents/create#create_payment_intent-off_session).
    return params.text("off_session") in ("true", "one_off", "recurring")


def new_payment_intent(
    state: AccountState,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    metadata: dict[str, str],
    origin: Origin,
    description: str | None = None,
    receipt_email: str | None = None,
    setup_future_usage: str | None = None,
    statement_descriptor: str | None = None,
    statement_descriptor_suffix: str | None = None,
    capture_method: str = "automatic_async",
    automatic_payment_methods: JsonObject | None = None,
) -> JsonObject:
    _check_amount(amount, currency)
    intent_id = new_id("pi_")
    intent: JsonObject = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": automatic_payment_methods,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": new_client_secret(intent_id),
        "confirmation_method": "automatic",
        "created": state.clock.timestamp(),
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": statement_descriptor_suffix,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    state.payment_intents.add(intent)
    state.ledger.append(
        LedgerEntry(intent_id, origin.request_id, origin.idempotency_key, state.clock.now())
    )
    state.event_log.emit("payment_intent.created", intent, origin)
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
    state: AccountState, intent: JsonObject, payment_method: JsonObject | None, request: ApiRequest
) -> JsonObject:
    if payment_method is None and intent["payment_method"]:
        payment_method = state.payment_methods.require(intent["payment_method"], "payment_method")
    if payment_method is None:
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "Update it with a payment_method, or pass one when confirming.",
            param="payment_method",
        )
    return confirm(
        state,
        intent,
        payment_method,
        request.origin,
        off_session=_off_session(request.params),
        error_on_requires_action=request.params.flag("error_on_requires_action"),
    )


# --- HTTP handlers ---------------------------------------------------------------------------


def create_payment_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    amount = params.required_integer("amount")
    currency = _currency(params)
    customer = params.text("customer") or None
    if customer is not None:
        state.customers.require(customer, "customer")
    if params.has("off_session") and not params.flag("confirm"):
        raise invalid_param("You can only pass off_session when confirm=true.", "off_session")
    apm = params.nested("automatic_payment_methods")
    payment_method = _payment_method_param(state, params)
    if payment_method is not None:
        ensure_usable(state, payment_method, "payment_method")
        check_owner({"customer": customer}, payment_method)
    intent = new_payment_intent(
        state,
        amount=amount,
        currency=currency,
        customer=customer,
        metadata=params.metadata(),
        origin=request.origin,
        description=params.text("description"),
        receipt_email=params.text("receipt_email"),
        setup_future_usage=params.text("setup_future_usage") or None,
        statement_descriptor=params.text("statement_descriptor"),
        statement_descriptor_suffix=params.text("statement_descriptor_suffix"),
        capture_method=_capture_method(params),
        automatic_payment_methods=(
            {"allow_redirects": "always", "enabled": apm.flag("enabled")} if apm else None
        ),
    )
    if payment_method is not None:
        intent["payment_method"] = payment_method["id"]
        intent["status"] = "requires_confirmation"
    if not params.flag("confirm"):
        return intent
    return _confirm_from_request(state, intent, payment_method, request)


def confirm_payment_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    intent = state.payment_intents.require(request.path_param("intent"), "intent")
    if intent["status"] not in _CONFIRMABLE:
        raise unexpected_state(
            f"This PaymentIntent's status is {intent['status']}, so it cannot be confirmed."
        )
    return _confirm_from_request(
        state, intent, _payment_method_param(state, request.params), request
    )


def retrieve_payment_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    return state.payment_intents.require(request.path_param("intent"), "intent")


def update_payment_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    intent = state.payment_intents.require(request.path_param("intent"), "intent")
    settled = intent["status"] in ("succeeded", "canceled")
    for name in ("amount", "currency", "payment_method", "payment_method_data", "customer"):
        if settled and params.has(name):
            raise unexpected_state(
                f"You cannot update {name} on a PaymentIntent whose status is {intent['status']}.",
                param=name,
            )
    if params.has("amount"):
        intent["amount"] = params.required_integer("amount")
    if params.has("currency"):
        intent["currency"] = _currency(params)
    _check_amount(intent["amount"], intent["currency"])
    if params.has("customer"):
        customer = params.text("customer") or None
        if customer is not None:
            state.customers.require(customer, "customer")
        intent["customer"] = customer
    for name in (
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
    ):
        if params.has(name):
            intent[name] = params.text(name) or None
    if params.has("setup_future_usage"):
        intent["setup_future_usage"] = params.text("setup_future_usage") or None
    intent["metadata"] = params.metadata(intent["metadata"])
    payment_method = _payment_method_param(state, params)
    if payment_method is not None:
        check_owner(intent, payment_method)
        intent["payment_method"] = payment_method["id"]
        intent["status"] = "requires_confirmation"
    return intent


def cancel_payment_intent(state: AccountState, request: ApiRequest) -> JsonObject:
    intent = state.payment_intents.require(request.path_param("intent"), "intent")
    if intent["status"] not in _CANCELABLE:
        raise unexpected_state(
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{intent['status']}. Only a PaymentIntent with one of the following statuses may be "
            f"canceled: {', '.join(_CANCELABLE)}."
        )
    reason = request.params.text("cancellation_reason") or None
    if reason is not None and reason not in _CANCELLATION_REASONS:
        raise invalid_param(f"Invalid cancellation_reason: {reason}", "cancellation_reason")
    intent.update(
        status="canceled",
        canceled_at=state.clock.timestamp(),
        cancellation_reason=reason,
        next_action=None,
    )
    state.event_log.emit("payment_intent.canceled", intent, request.origin)
    return intent


def list_payment_intents(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer = params.text("customer")
    in_range = created_filter(params)
    matching = [
        intent
        for intent in state.payment_intents.newest_first()
        if (not customer or intent["customer"] == customer) and in_range(intent)
    ]
    return list_page(matching, params, "/v1/payment_intents", state.payment_intents)


def search_payment_intents(state: AccountState, request: ApiRequest) -> JsonObject:
    return search_page(
        state.payment_intents.newest_first(),
        request.params,
        SEARCH_FIELDS,
        "/v1/payment_intents/search",
    )


ROUTES = (
    Route(
        "POST",
        "/v1/payment_intents",
        create_payment_intent,
        COMMON_PARAMS
        | _WRITABLE
        | _CONFIRM_OPTIONS
        | {"confirm", "automatic_payment_methods", "confirmation_method", "on_behalf_of"},
    ),
    Route(
        "GET",
        "/v1/payment_intents/search",
        search_payment_intents,
        COMMON_PARAMS | {"query", "limit", "page"},
    ),
    Route(
        "GET",
        "/v1/payment_intents/{intent}",
        retrieve_payment_intent,
        COMMON_PARAMS | {"client_secret"},
    ),
    Route("POST", "/v1/payment_intents/{intent}", update_payment_intent, COMMON_PARAMS | _WRITABLE),
    Route(
        "POST",
        "/v1/payment_intents/{intent}/confirm",
        confirm_payment_intent,
        COMMON_PARAMS
        | _CONFIRM_OPTIONS
        | {
            "allowed_payment_method_types",
            "amount_details",
            "amount_to_confirm",
            "capture_method",
            "excluded_payment_method_types",
            "hooks",
            "payment_details",
            "payment_method",
            "payment_method_data",
            "payment_method_options",
            "receipt_email",
            "setup_future_usage",
            "shipping",
        },
    ),
    Route(
        "POST",
        "/v1/payment_intents/{intent}/cancel",
        cancel_payment_intent,
        COMMON_PARAMS | {"cancellation_reason"},
    ),
    Route(
        "GET",
        "/v1/payment_intents",
        list_payment_intents,
        COMMON_PARAMS | LIST_PARAMS | {"customer", "customer_account"},
    ),
)
