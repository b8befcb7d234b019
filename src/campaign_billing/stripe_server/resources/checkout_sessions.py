"""Checkout Sessions in `setup` and `payment` mode: create, retrieve, list, expire, and the
test-only completion a customer would perform on the hosted page.

https://docs.stripe.com/api/checkout/sessions. A session expires 24 hours after creation unless
`expires_at` says otherwise (30 minutes to 24 hours); expiring emits `checkout.session.expired`.
Completing a setup-mode session confirms its SetupIntent (the card is attached to the session's
customer); completing a payment-mode session creates and confirms a PaymentIntent carrying
`payment_intent_data[metadata]`. Both emit `checkout.session.completed` last
(https://docs.stripe.com/payments/checkout/fulfill-orders).
"""

from campaign_billing.stripe_server.errors import invalid_param, invalid_request, parameter_missing
from campaign_billing.stripe_server.event_log import NOT_AN_API_REQUEST
from campaign_billing.stripe_server.ids import new_id
from campaign_billing.stripe_server.listing import LIST_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.resources.payment_attempts import confirm
from campaign_billing.stripe_server.resources.payment_intents import new_payment_intent
from campaign_billing.stripe_server.resources.setup_intents import confirm_setup, new_setup_intent
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject

_DAY = 24 * 3600
_MIN_LIFETIME = 30 * 60

_ACCEPTS = COMMON_PARAMS | {
    "adaptive_pricing",
    "after_expiration",
    "allow_promotion_codes",
    "allowed_payment_method_types",
    "automatic_tax",
    "billing_address_collection",
    "branding_settings",
    "cancel_url",
    "client_reference_id",
    "consent_collection",
    "currency",
    "custom_fields",
    "custom_text",
    "customer",
    "customer_account",
    "customer_creation",
    "customer_email",
    "customer_update",
    "discounts",
    "excluded_payment_method_types",
    "expires_at",
    "integration_identifier",
    "invoice_creation",
    "line_items",
    "locale",
    "managed_payments",
    "metadata",
    "mode",
    "name_collection",
    "optional_items",
    "origin_context",
    "payment_intent_data",
    "payment_method_collection",
    "payment_method_configuration",
    "payment_method_data",
    "payment_method_options",
    "permissions",
    "phone_number_collection",
    "redirect_on_completion",
    "return_url",
    "saved_payment_method_options",
    "setup_intent_data",
    "shipping_address_collection",
    "shipping_options",
    "submit_type",
    "subscription_data",
    "success_url",
    "tax_id_collection",
    "ui_mode",
    "wallet_options",
}


def _line_items_total(params: Params) -> tuple[int, str]:
    """Amount and currency of `line_items[i][price_data]` (inline prices; Price ids are not
    modelled by the test server)."""
    items = params.records("line_items")
    if not items:
        raise invalid_param(
            "Missing required param: line_items.", "line_items", "parameter_missing"
        )
    total = 0
    currencies: set[str] = set()
    for item in items:
        price_data = item.nested("price_data")
        if price_data is None:
            raise invalid_param(
                "The test server supports only line_items with inline price_data.",
                item.path("price_data"),
            )
        currencies.add(price_data.required_text("currency").lower())
        quantity = item.integer("quantity") or 1
        total += price_data.required_integer("unit_amount") * quantity
    if len(currencies) != 1:
        raise invalid_param("All line_items must share one currency.", "line_items")
    return total, currencies.pop()


def _expires_at(params: Params, created: int) -> int:
    expires_at = params.integer("expires_at")
    if expires_at is None:
        return created + _DAY
    if not created + _MIN_LIFETIME <= expires_at <= created + _DAY:
        raise invalid_param(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from the time "
            "of Checkout Session creation.",
            "expires_at",
        )
    return expires_at


def expire_if_due(state: AccountState, session: JsonObject) -> None:
    """Sessions expire on their own at `expires_at`; this applies it when one is next touched."""
    if session["status"] == "open" and state.clock.timestamp() >= session["expires_at"]:
        session.update(status="expired", url=None)
        state.event_log.emit("checkout.session.expired", session, NOT_AN_API_REQUEST)


def customer_details(
    state: AccountState, session: JsonObject, email: str | None, name: str | None
) -> JsonObject:
    customer = state.customers.get(session["customer"]) if session["customer"] else None
    return {
        "address": None,
        "business_name": None,
        "email": email or session["customer_email"] or (customer or {}).get("email"),
        "individual_name": None,
        "name": name or (customer or {}).get("name"),
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def complete_session(
    state: AccountState,
    session: JsonObject,
    payment_method: JsonObject,
    *,
    email: str | None = None,
    name: str | None = None,
) -> JsonObject:
    """What happens when a customer fills in the hosted page and pays (or saves the card).

    A declined card raises the 402 the page would show; the session stays open, as on Stripe.
    """
    expire_if_due(state, session)
    if session["status"] != "open":
        raise invalid_request(
            f"This Checkout Session is {session['status']} and can no longer be completed.",
            param="session",
        )
    origin = NOT_AN_API_REQUEST
    if session["mode"] == "setup":
        intent = state.setup_intents.require(session["setup_intent"], "setup_intent")
        confirm_setup(state, intent, payment_method, origin, cardholder_authenticates=True)
    else:
        intent = _session_payment_intent(state, session)
        confirm(state, intent, payment_method, origin, cardholder_authenticates=True)
        session["payment_status"] = "paid"
    session.update(
        status="complete", customer_details=customer_details(state, session, email, name)
    )
    state.event_log.emit("checkout.session.completed", session, origin)
    return session


def _session_payment_intent(state: AccountState, session: JsonObject) -> JsonObject:
    # Stripe creates the PaymentIntent when the customer first submits, and reuses it for
    # another attempt within the same session.
    if session["payment_intent"]:
        return state.payment_intents.require(session["payment_intent"], "payment_intent")
    data = state.checkout_intent_data.get(session["id"], {})
    intent = new_payment_intent(
        state,
        amount=session["amount_total"],
        currency=session["currency"],
        customer=session["customer"],
        metadata=dict(data.get("metadata", {})),
        origin=NOT_AN_API_REQUEST,
        description=data.get("description"),
        receipt_email=data.get("receipt_email"),
        setup_future_usage=data.get("setup_future_usage"),
        statement_descriptor=data.get("statement_descriptor"),
        statement_descriptor_suffix=data.get("statement_descriptor_suffix"),
    )
    session["payment_intent"] = intent["id"]
    return intent


# --- HTTP handlers ---------------------------------------------------------------------------


def create_session(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    mode = params.required_text("mode")
    if mode not in ("setup", "payment"):
        raise invalid_param(
            f"The test server supports Checkout Sessions in setup and payment mode, not {mode}.",
            "mode",
        )
    customer = params.text("customer") or None
    if customer is not None:
        state.customers.require(customer, "customer")
    amount: int | None = None
    currency = (params.text("currency") or "").lower() or None
    if mode == "payment":
        amount, currency = _line_items_total(params)
    elif currency is None and not params.has("allowed_payment_method_types"):
        # "Required in setup mode when allowed_payment_method_types is not set"
        # (https://docs.stripe.com/api/checkout/sessions/create#create_checkout_session-currency).
        raise parameter_missing("currency")
    session_id = new_id("cs_test_", 58)
    created = state.clock.timestamp()
    session: JsonObject = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": params.text("billing_address_collection"),
        "cancel_url": params.text("cancel_url"),
        "client_reference_id": params.text("client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_account": None,
        "customer_creation": params.text("customer_creation")
        or ("if_required" if mode == "payment" and customer is None else None),
        "customer_details": None,
        "customer_email": params.text("customer_email"),
        "discounts": [],
        "expires_at": _expires_at(params, created),
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": params.text("locale"),
        "managed_payments": None,
        "metadata": params.metadata(),
        "mode": mode,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": params.texts("allowed_payment_method_types") or ["card"],
        "payment_status": "unpaid" if mode == "payment" else "no_payment_required",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.text("submit_type"),
        "subscription": None,
        "success_url": params.text("success_url"),
        "total_details": (
            {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}
            if mode == "payment"
            else None
        ),
        "ui_mode": params.text("ui_mode") or "hosted",
        "url": f"{request.base_url}/checkout/pay/{session_id}",
        "wallet_options": None,
    }
    if mode == "setup":
        setup_data = params.nested("setup_intent_data")
        intent = new_setup_intent(
            state,
            customer=customer,
            metadata=setup_data.metadata() if setup_data else {},
            origin=request.origin,
            description=setup_data.text("description") if setup_data else None,
        )
        session["setup_intent"] = intent["id"]
    else:
        intent_data = params.nested("payment_intent_data")
        state.checkout_intent_data[session_id] = (
            {
                "metadata": intent_data.metadata(),
                "description": intent_data.text("description"),
                "receipt_email": intent_data.text("receipt_email"),
                "setup_future_usage": intent_data.text("setup_future_usage") or None,
                "statement_descriptor": intent_data.text("statement_descriptor"),
                "statement_descriptor_suffix": intent_data.text("statement_descriptor_suffix"),
            }
            if intent_data
            else {}
        )
    state.checkout_sessions.add(session)
    return session


def retrieve_session(state: AccountState, request: ApiRequest) -> JsonObject:
    session = state.checkout_sessions.require(request.path_param("session"), "session")
    expire_if_due(state, session)
    return session


def expire_session(state: AccountState, request: ApiRequest) -> JsonObject:
    session = state.checkout_sessions.require(request.path_param("session"), "session")
    expire_if_due(state, session)
    if session["status"] != "open":
        raise invalid_request(
            f"This Checkout Session is {session['status']}; only open sessions can be expired.",
            param="session",
        )
    session.update(status="expired", url=None)
    state.event_log.emit("checkout.session.expired", session, request.origin)
    return session


def list_sessions(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer = params.text("customer")
    payment_intent = params.text("payment_intent")
    status = params.text("status")
    in_range = created_filter(params)
    for session in state.checkout_sessions:
        expire_if_due(state, session)
    matching = [
        session
        for session in state.checkout_sessions.newest_first()
        if (not customer or session["customer"] == customer)
        and (not payment_intent or session["payment_intent"] == payment_intent)
        and (not status or session["status"] == status)
        and in_range(session)
    ]
    return list_page(matching, params, "/v1/checkout/sessions", state.checkout_sessions)


ROUTES = (
    Route("POST", "/v1/checkout/sessions", create_session, _ACCEPTS),
    Route("GET", "/v1/checkout/sessions/{session}", retrieve_session, COMMON_PARAMS),
    Route("POST", "/v1/checkout/sessions/{session}/expire", expire_session, COMMON_PARAMS),
    Route(
        "GET",
        "/v1/checkout/sessions",
        list_sessions,
        COMMON_PARAMS
        | LIST_PARAMS
        | {
            "customer",
            "customer_account",
            "customer_details",
            "payment_intent",
            "payment_link",
            "status",
            "subscription",
        },
    ),
)
