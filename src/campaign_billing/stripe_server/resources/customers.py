"""Customers: create, retrieve, update (default payment method included), delete, list, search.

https://docs.stripe.com/api/customers. Events: `customer.created`, `customer.updated` (with
`previous_attributes`), `customer.deleted`.
"""

from campaign_billing.stripe_server.errors import invalid_request, resource_missing
from campaign_billing.stripe_server.event_log import previous_attributes
from campaign_billing.stripe_server.ids import new_id
from campaign_billing.stripe_server.listing import LIST_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.resources.payment_methods import (
    attach,
    check_attachable,
    payment_method_for_use,
)
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.search import FieldKind, search_page
from campaign_billing.stripe_server.snapshot import snapshot
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject

_WRITABLE = frozenset(
    {
        "address",
        "balance",
        "business_name",
        "cash_balance",
        "description",
        "email",
        "individual_name",
        "invoice_prefix",
        "invoice_settings",
        "metadata",
        "name",
        "next_invoice_sequence",
        "phone",
        "preferred_locales",
        "shipping",
        "source",
        "tax",
        "tax_exempt",
        "validate",
    }
)

# https://docs.stripe.com/search#query-fields-for-customers
SEARCH_FIELDS = {
    "created": FieldKind.NUMBER,
    "email": FieldKind.STRING,
    "metadata": FieldKind.METADATA,
    "name": FieldKind.STRING,
    "phone": FieldKind.STRING,
}


def _address(params: Params) -> JsonObject | None:
    address = params.strings("address")
    if address is None:
        return None
    return {
        key: address.get(key)
        for key in ("city", "country", "line1", "line2", "postal_code", "state")
    }


def _apply_writable_fields(customer: JsonObject, params: Params) -> None:
    for key in ("description", "email", "name", "phone"):
        if params.has(key):
            customer[key] = params.text(key) or None
    if params.has("address"):
        customer["address"] = _address(params)
    if params.has("preferred_locales"):
        customer["preferred_locales"] = params.texts("preferred_locales") or []
    tax_exempt = params.text("tax_exempt")
    if tax_exempt:
        customer["tax_exempt"] = tax_exempt
    customer["metadata"] = params.metadata(customer["metadata"])


def _apply_default_payment_method(
    state: AccountState,
    customer: JsonObject,
    params: Params,
    aliases: dict[str, str] | None = None,
) -> None:
    """`invoice_settings[default_payment_method]`, which must be attached to this customer.
    `aliases` maps a test id (`pm_card_visa`) to the PaymentMethod it just created."""
    settings = params.nested("invoice_settings")
    if settings is None or not settings.has("default_payment_method"):
        return
    param = settings.path("default_payment_method")
    named = settings.text("default_payment_method") or None
    payment_method_id = (aliases or {}).get(named, named) if named else None
    if payment_method_id is not None:
        payment_method = state.payment_methods.require(payment_method_id, param)
        if payment_method["customer"] != customer["id"]:
            raise invalid_request(
                f"The customer does not have a payment method with the ID {payment_method_id}. "
                "The payment method must be attached to the customer.",
                param=param,
            )
    customer["invoice_settings"] = {
        **customer["invoice_settings"],
        "default_payment_method": payment_method_id,
    }


# --- HTTP handlers ---------------------------------------------------------------------------


def create_customer(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer: JsonObject = {
        "id": new_id("cus_", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": state.clock.timestamp(),
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": new_id("", 8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
    _apply_writable_fields(customer, params)
    payment_method_id = params.text("payment_method")
    payment_method = None
    if payment_method_id:
        payment_method = payment_method_for_use(state, payment_method_id, "payment_method")
        check_attachable(state, payment_method, customer["id"])
    state.customers.add(customer)
    state.event_log.emit("customer.created", customer, request.origin)
    aliases: dict[str, str] = {}
    if payment_method_id and payment_method is not None:
        attach(state, payment_method, customer["id"], request.origin)
        aliases[payment_method_id] = payment_method["id"]
    before = snapshot(customer)
    _apply_default_payment_method(state, customer, params, aliases)
    if customer != before:
        state.event_log.emit(
            "customer.updated", customer, request.origin, previous_attributes(before, customer)
        )
    return customer


def retrieve_customer(state: AccountState, request: ApiRequest) -> JsonObject:
    customer_id = request.path_param("customer")
    if customer_id in state.deleted_customers:
        return {"id": customer_id, "object": "customer", "deleted": True}
    return state.customers.require(customer_id)


def update_customer(state: AccountState, request: ApiRequest) -> JsonObject:
    customer = state.customers.require(request.path_param("customer"))
    before = snapshot(customer)
    _apply_writable_fields(customer, request.params)
    _apply_default_payment_method(state, customer, request.params)
    changed = previous_attributes(before, customer)
    if changed:
        state.event_log.emit("customer.updated", customer, request.origin, changed)
    return customer


def delete_customer(state: AccountState, request: ApiRequest) -> JsonObject:
    customer_id = request.path_param("customer")
    customer = state.customers.get(customer_id)
    if customer is None:
        raise resource_missing("customer", customer_id)
    for payment_method in state.payment_methods:
        if payment_method["customer"] == customer_id:
            payment_method["customer"] = None
            state.spent_payment_methods.add(payment_method["id"])
    state.customers.remove(customer_id)
    state.deleted_customers.add(customer_id)
    state.event_log.emit("customer.deleted", customer, request.origin)
    return {"id": customer_id, "object": "customer", "deleted": True}


def list_customers(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    email = params.text("email")
    in_range = created_filter(params)
    matching = [
        customer
        for customer in state.customers.newest_first()
        if (not email or customer["email"] == email) and in_range(customer)
    ]
    return list_page(matching, params, "/v1/customers", state.customers)


def search_customers(state: AccountState, request: ApiRequest) -> JsonObject:
    return search_page(
        state.customers.newest_first(), request.params, SEARCH_FIELDS, "/v1/customers/search"
    )


ROUTES = (
    Route(
        "POST",
        "/v1/customers",
        create_customer,
        COMMON_PARAMS | _WRITABLE | {"payment_method", "tax_id_data", "test_clock"},
    ),
    Route(
        "GET", "/v1/customers/search", search_customers, COMMON_PARAMS | {"query", "limit", "page"}
    ),
    Route("GET", "/v1/customers/{customer}", retrieve_customer, COMMON_PARAMS),
    Route(
        "POST",
        "/v1/customers/{customer}",
        update_customer,
        COMMON_PARAMS | _WRITABLE | {"default_source"},
    ),
    Route("DELETE", "/v1/customers/{customer}", delete_customer),
    Route(
        "GET",
        "/v1/customers",
        list_customers,
        COMMON_PARAMS | LIST_PARAMS | {"email", "test_clock"},
    ),
)
