"""PaymentMethods (cards only): create, retrieve, update, attach, detach, list.

https://docs.stripe.com/api/payment_methods. Test PaymentMethod ids such as `pm_card_visa` make a
new PaymentMethod each time they are used, as Stripe's do (https://docs.stripe.com/testing#cards).
"""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

from campaign_billing.stripe_server.cards import (
    INCORRECT_NUMBER,
    Authentication,
    CardNumberError,
    CardProfile,
    Decline,
    card_error,
    card_for_number,
    card_for_payment_method_id,
)
from campaign_billing.stripe_server.errors import invalid_param, invalid_request
from campaign_billing.stripe_server.event_log import Origin, previous_attributes
from campaign_billing.stripe_server.ids import new_id
from campaign_billing.stripe_server.listing import PAGINATION_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject

# The other payment method types PaymentMethods can be created with; the server knows their names
# so it can say it supports only cards instead of calling them unknown parameters.
_OTHER_TYPES = frozenset(
    {
        "acss_debit", "affirm", "afterpay_clearpay", "alipay", "alma", "amazon_pay",
        "au_becs_debit", "bacs_debit", "bancontact", "billie", "bizum", "blik", "boleto",
        "cashapp", "crypto", "custom", "customer_balance", "eps", "fpx", "giropay", "grabpay",
        "ideal", "interac_present", "kakao_pay", "klarna", "konbini", "kr_card", "link", "mb_way",
        "mobilepay", "multibanco", "naver_pay", "nz_bank_account", "oxxo", "p24", "pay_by_bank",
        "payco", "paynow", "paypal", "paypay", "payto", "pix", "promptpay", "revolut_pay",
        "samsung_pay", "satispay", "scalapay", "sepa_debit", "sequra", "sofort", "sunbit", "swish",
        "twint", "upi", "us_bank_account", "wechat_pay", "zip",
    }
)  # fmt: skip

SPENT_MESSAGE = (
    "This PaymentMethod was previously used without being attached to a Customer or was detached "
    "from a Customer, and may not be used again."
)


def _fingerprint(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()[:16]


def _billing_details(params: Params | None) -> JsonObject:
    address = (params.strings("address") if params else None) or {}
    return {
        "address": {
            key: address.get(key)
            for key in ("city", "country", "line1", "line2", "postal_code", "state")
        },
        "email": params.text("email") if params else None,
        "name": params.text("name") if params else None,
        "phone": params.text("phone") if params else None,
        "tax_id": params.text("tax_id") if params else None,
    }


def _default_expiry(state: AccountState) -> tuple[int, int]:
    today = datetime.fromtimestamp(state.clock.now(), UTC)
    return today.month, today.year + 1


def add_card_payment_method(
    state: AccountState,
    card: CardProfile,
    *,
    exp_month: int | None = None,
    exp_year: int | None = None,
    cvc_given: bool = False,
    billing_details: Params | None = None,
    metadata: dict[str, str] | None = None,
    allow_redisplay: str = "unspecified",
) -> JsonObject:
    default_month, default_year = _default_expiry(state)
    payment_method: JsonObject = {
        "id": new_id("pm_1", 23),
        "object": "payment_method",
        "allow_redisplay": allow_redisplay,
        "billing_details": _billing_details(billing_details),
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass" if cvc_given else None,
            },
            "country": card.country,
            "display_brand": card.brand,
            "exp_month": exp_month or default_month,
            "exp_year": exp_year or default_year,
            "fingerprint": _fingerprint(card.number),
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": state.clock.timestamp(),
        "customer": None,
        "customer_account": None,
        "livemode": False,
        "metadata": metadata or {},
        "type": "card",
    }
    state.payment_methods.add(payment_method)
    state.card_of_payment_method[payment_method["id"]] = card
    return payment_method


def payment_method_from_card_params(
    state: AccountState,
    card: Params,
    billing_details: Params | None = None,
    metadata: dict[str, str] | None = None,
) -> JsonObject:
    """A PaymentMethod from raw card details, validated as Stripe validates them on creation."""
    number = card.required_text("number")
    try:
        profile = card_for_number(number)
    except CardNumberError:
        raise card_error(INCORRECT_NUMBER) from None
    exp_month = card.integer("exp_month")
    exp_year = card.integer("exp_year")
    _check_expiry(state, exp_month, exp_year)
    return add_card_payment_method(
        state,
        profile,
        exp_month=exp_month,
        exp_year=exp_year,
        cvc_given=bool(card.text("cvc")),
        billing_details=billing_details,
        metadata=metadata,
    )


def _check_expiry(state: AccountState, exp_month: int | None, exp_year: int | None) -> None:
    today = datetime.fromtimestamp(state.clock.now(), UTC)
    if exp_month is not None and not 1 <= exp_month <= 12:
        raise card_error(
            Decline(
                "invalid_expiry_month",
                None,
                "Your card's expiration month is invalid.",
                "exp_month",
            )
        )
    if exp_year is not None and exp_year < today.year:
        raise card_error(
            Decline(
                "invalid_expiry_year", None, "Your card's expiration year is invalid.", "exp_year"
            )
        )
    if exp_year == today.year and exp_month is not None and exp_month < today.month:
        raise card_error(
            Decline(
                "invalid_expiry_month",
                None,
                "Your card's expiration month is invalid.",
                "exp_month",
            )
        )


def payment_method_for_use(state: AccountState, payment_method_id: str, param: str) -> JsonObject:
    """The PaymentMethod a request names; a test id makes a fresh one, as on Stripe."""
    test_card = card_for_payment_method_id(payment_method_id)
    if test_card is not None:
        return add_card_payment_method(state, test_card)
    return state.payment_methods.require(payment_method_id, param)


def payment_method_from_data(state: AccountState, data: Params) -> JsonObject:
    """`payment_method_data[...]` on an intent: an inline PaymentMethod to create."""
    method_type = data.required_text("type")
    if method_type != "card":
        raise invalid_param(
            f"The test server supports only card PaymentMethods, not {method_type!r}.",
            data.path("type"),
        )
    card = data.nested("card")
    if card is None:
        raise invalid_param("Missing required param: card.", data.path("card"), "parameter_missing")
    return payment_method_from_card_params(
        state, card, data.nested("billing_details"), data.metadata()
    )


def card_profile(state: AccountState, payment_method: JsonObject) -> CardProfile:
    return state.card_of_payment_method[payment_method["id"]]


def ensure_usable(state: AccountState, payment_method: JsonObject, param: str) -> None:
    if payment_method["id"] in state.spent_payment_methods:
        raise invalid_request(SPENT_MESSAGE, param=param)


def check_attachable(state: AccountState, payment_method: JsonObject, customer_id: str) -> None:
    """Raises what attaching would raise, so a request can fail before changing anything."""
    if payment_method["customer"] not in (None, customer_id):
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            param="payment_method",
        )
    ensure_usable(state, payment_method, "payment_method")
    profile = card_profile(state, payment_method)
    if not profile.attachable and profile.charge_decline is not None:
        # Attaching validates the card with the issuer, so a declining card cannot be saved.
        raise card_error(profile.charge_decline, {"payment_method": payment_method})


def attach(
    state: AccountState, payment_method: JsonObject, customer_id: str, origin: Origin
) -> None:
    check_attachable(state, payment_method, customer_id)
    if payment_method["customer"] == customer_id:
        return
    payment_method["customer"] = customer_id
    state.event_log.emit("payment_method.attached", payment_method, origin)


def detach(state: AccountState, payment_method: JsonObject, origin: Origin) -> None:
    """Detaches the card. A customer whose default it was keeps the dangling id in
    `invoice_settings.default_payment_method` and gets no `customer.updated`: that is what
    Stripe does, as users observed (dj-stripe issues #1155 and #1836)."""
    customer_id = payment_method["customer"]
    if customer_id is None:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            param="payment_method",
        )
    payment_method["customer"] = None
    state.spent_payment_methods.add(payment_method["id"])
    state.event_log.emit(
        "payment_method.detached", payment_method, origin, {"customer": customer_id}
    )


def override_outcome(
    state: AccountState,
    payment_method: JsonObject,
    *,
    charge_decline: Decline | None,
    authentication: Authentication,
) -> None:
    """Test control: the issuer answers this card's future charges differently (a saved card
    that now has insufficient funds, say)."""
    state.card_of_payment_method[payment_method["id"]] = replace(
        card_profile(state, payment_method),
        charge_decline=charge_decline,
        authentication=authentication,
    )


# --- HTTP handlers ---------------------------------------------------------------------------


def create_payment_method(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    method_type = params.required_text("type")
    if method_type != "card":
        raise invalid_param(
            f"The test server supports only card PaymentMethods, not {method_type!r}.", "type"
        )
    card = params.nested("card")
    if card is None:
        raise invalid_param("Missing required param: card.", "card", "parameter_missing")
    payment_method = payment_method_from_card_params(
        state, card, params.nested("billing_details"), params.metadata()
    )
    allow_redisplay = params.text("allow_redisplay")
    if allow_redisplay:
        payment_method["allow_redisplay"] = allow_redisplay
    return payment_method


def retrieve_payment_method(state: AccountState, request: ApiRequest) -> JsonObject:
    return payment_method_for_use(state, request.path_param("payment_method"), "payment_method")


def update_payment_method(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    payment_method = payment_method_for_use(
        state, request.path_param("payment_method"), "payment_method"
    )
    before = {key: value for key, value in payment_method.items() if key != "card"}
    before["card"] = dict(payment_method["card"])
    payment_method["metadata"] = params.metadata(payment_method["metadata"])
    billing = params.nested("billing_details")
    if billing is not None:
        payment_method["billing_details"] = _billing_details(billing)
    card = params.nested("card")
    if card is not None:
        exp_month = card.integer("exp_month") or payment_method["card"]["exp_month"]
        exp_year = card.integer("exp_year") or payment_method["card"]["exp_year"]
        _check_expiry(state, exp_month, exp_year)
        payment_method["card"] = {
            **payment_method["card"],
            "exp_month": exp_month,
            "exp_year": exp_year,
        }
    allow_redisplay = params.text("allow_redisplay")
    if allow_redisplay:
        payment_method["allow_redisplay"] = allow_redisplay
    changed = previous_attributes(before, payment_method)
    if changed:
        state.event_log.emit("payment_method.updated", payment_method, request.origin, changed)
    return payment_method


def attach_payment_method(state: AccountState, request: ApiRequest) -> JsonObject:
    customer_id = request.params.required_text("customer")
    state.customers.require(customer_id, "customer")
    payment_method = payment_method_for_use(
        state, request.path_param("payment_method"), "payment_method"
    )
    attach(state, payment_method, customer_id, request.origin)
    return payment_method


def detach_payment_method(state: AccountState, request: ApiRequest) -> JsonObject:
    payment_method = state.payment_methods.require(
        request.path_param("payment_method"), "payment_method"
    )
    detach(state, payment_method, request.origin)
    return payment_method


def list_payment_methods(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer_id = params.text("customer")
    if customer_id:
        state.customers.require(customer_id, "customer")
    return list_page(
        _matching(state, customer_id, params), params, "/v1/payment_methods", state.payment_methods
    )


def list_customer_payment_methods(state: AccountState, request: ApiRequest) -> JsonObject:
    customer_id = request.path_param("customer")
    state.customers.require(customer_id, "customer")
    return list_page(
        _matching(state, customer_id, request.params),
        request.params,
        f"/v1/customers/{customer_id}/payment_methods",
        state.payment_methods,
    )


def retrieve_customer_payment_method(state: AccountState, request: ApiRequest) -> JsonObject:
    customer_id = request.path_param("customer")
    state.customers.require(customer_id, "customer")
    payment_method = state.payment_methods.require(
        request.path_param("payment_method"), "payment_method"
    )
    if payment_method["customer"] != customer_id:
        raise invalid_request(
            f"No such PaymentMethod: '{payment_method['id']}'",
            param="payment_method",
            code="resource_missing",
            status=404,
        )
    return payment_method


def _matching(state: AccountState, customer_id: str | None, params: Params) -> list[JsonObject]:
    method_type = params.text("type")
    in_range = created_filter(params)
    return [
        pm
        for pm in state.payment_methods.newest_first()
        if (customer_id is None or pm["customer"] == customer_id)
        and (not method_type or pm["type"] == method_type)
        and in_range(pm)
    ]


ROUTES = (
    Route(
        "POST",
        "/v1/payment_methods",
        create_payment_method,
        COMMON_PARAMS
        | _OTHER_TYPES
        | {
            "type",
            "card",
            "billing_details",
            "metadata",
            "allow_redisplay",
            "customer",
            "payment_method",
            "radar_options",
        },
    ),
    Route("GET", "/v1/payment_methods/{payment_method}", retrieve_payment_method, COMMON_PARAMS),
    Route(
        "POST",
        "/v1/payment_methods/{payment_method}",
        update_payment_method,
        COMMON_PARAMS
        | {"billing_details", "card", "metadata", "allow_redisplay", "us_bank_account"},
    ),
    Route(
        "POST",
        "/v1/payment_methods/{payment_method}/attach",
        attach_payment_method,
        COMMON_PARAMS | {"customer", "customer_account"},
    ),
    Route(
        "POST", "/v1/payment_methods/{payment_method}/detach", detach_payment_method, COMMON_PARAMS
    ),
    Route(
        "GET",
        "/v1/payment_methods",
        list_payment_methods,
        COMMON_PARAMS
        | PAGINATION_PARAMS
        | {"customer", "customer_account", "type", "allow_redisplay"},
    ),
    Route(
        "GET",
        "/v1/customers/{customer}/payment_methods",
        list_customer_payment_methods,
        COMMON_PARAMS | PAGINATION_PARAMS | {"type", "allow_redisplay"},
    ),
    Route(
        "GET",
        "/v1/customers/{customer}/payment_methods/{payment_method}",
        retrieve_customer_payment_method,
        COMMON_PARAMS,
    ),
)


def automatically_update(
    state: AccountState,
    payment_method: JsonObject,
    *,
    exp_month: int | None,
    exp_year: int | None,
    last4: str | None,
    origin: Origin,
) -> JsonObject:
    """Test control: the card network updates a saved card (a renewed card's new expiry), which
    Stripe reports as `payment_method.automatically_updated`
    (https://docs.stripe.com/saved-cards#automatic-card-updates)."""
    before = dict(payment_method["card"])
    updates = {
        key: value
        for key, value in (("exp_month", exp_month), ("exp_year", exp_year), ("last4", last4))
        if value is not None
    }
    payment_method["card"] = {**payment_method["card"], **updates}
    state.event_log.emit(
        "payment_method.automatically_updated",
        payment_method,
        origin,
        {"card": previous_attributes(before, payment_method["card"])},
    )
    return payment_method
