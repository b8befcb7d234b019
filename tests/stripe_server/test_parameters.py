"""Each endpoint takes exactly the parameters stripe-python's typed params name for it.

stripe-python's `stripe.params` TypedDicts are generated from the same OpenAPI spec as the API
version it pins, so an endpoint that rejected one of them (400 parameter_unknown) would break a
correct caller, and one that took a parameter they lack would hide a caller's mistake. After a
stripe upgrade this test names every difference.
"""

import pytest
import stripe.params as params
import stripe.params.checkout as checkout_params

from campaign_billing.stripe_server.resources import API_ROUTES
from campaign_billing.stripe_server.routing import Route

# Options of the library call itself, not parameters sent to Stripe.
REQUEST_OPTIONS = {
    "api_key",
    "content_type",
    "headers",
    "idempotency_key",
    "max_network_retries",
    "stripe_account",
    "stripe_context",
    "stripe_version",
}

TYPED_PARAMS: dict[tuple[str, str], type] = {
    ("POST", "/v1/customers"): params.CustomerCreateParams,
    ("GET", "/v1/customers/search"): params.CustomerSearchParams,
    ("GET", "/v1/customers/{customer}"): params.CustomerRetrieveParams,
    ("POST", "/v1/customers/{customer}"): params.CustomerUpdateParams,
    ("DELETE", "/v1/customers/{customer}"): params.CustomerDeleteParams,
    ("GET", "/v1/customers"): params.CustomerListParams,
    ("POST", "/v1/payment_methods"): params.PaymentMethodCreateParams,
    ("GET", "/v1/payment_methods/{payment_method}"): params.PaymentMethodRetrieveParams,
    ("POST", "/v1/payment_methods/{payment_method}"): params.PaymentMethodUpdateParams,
    ("POST", "/v1/payment_methods/{payment_method}/attach"): params.PaymentMethodAttachParams,
    ("POST", "/v1/payment_methods/{payment_method}/detach"): params.PaymentMethodDetachParams,
    ("GET", "/v1/payment_methods"): params.PaymentMethodListParams,
    ("GET", "/v1/customers/{customer}/payment_methods"): params.CustomerPaymentMethodListParams,
    (
        "GET",
        "/v1/customers/{customer}/payment_methods/{payment_method}",
    ): params.CustomerPaymentMethodRetrieveParams,
    ("POST", "/v1/setup_intents"): params.SetupIntentCreateParams,
    ("GET", "/v1/setup_intents/{intent}"): params.SetupIntentRetrieveParams,
    ("POST", "/v1/setup_intents/{intent}"): params.SetupIntentUpdateParams,
    ("POST", "/v1/setup_intents/{intent}/confirm"): params.SetupIntentConfirmParams,
    ("POST", "/v1/setup_intents/{intent}/cancel"): params.SetupIntentCancelParams,
    ("GET", "/v1/setup_intents"): params.SetupIntentListParams,
    ("POST", "/v1/payment_intents"): params.PaymentIntentCreateParams,
    ("GET", "/v1/payment_intents/search"): params.PaymentIntentSearchParams,
    ("GET", "/v1/payment_intents/{intent}"): params.PaymentIntentRetrieveParams,
    ("POST", "/v1/payment_intents/{intent}"): params.PaymentIntentUpdateParams,
    ("POST", "/v1/payment_intents/{intent}/confirm"): params.PaymentIntentConfirmParams,
    ("POST", "/v1/payment_intents/{intent}/cancel"): params.PaymentIntentCancelParams,
    ("GET", "/v1/payment_intents"): params.PaymentIntentListParams,
    ("GET", "/v1/charges/{charge}"): params.ChargeRetrieveParams,
    ("GET", "/v1/charges"): params.ChargeListParams,
    ("POST", "/v1/checkout/sessions"): checkout_params.SessionCreateParams,
    ("GET", "/v1/checkout/sessions/{session}"): checkout_params.SessionRetrieveParams,
    ("POST", "/v1/checkout/sessions/{session}/expire"): checkout_params.SessionExpireParams,
    ("GET", "/v1/checkout/sessions"): checkout_params.SessionListParams,
    ("GET", "/v1/events"): params.EventListParams,
    ("GET", "/v1/events/{id}"): params.EventRetrieveParams,
    ("POST", "/v1/webhook_endpoints"): params.WebhookEndpointCreateParams,
    ("GET", "/v1/webhook_endpoints/{webhook_endpoint}"): params.WebhookEndpointRetrieveParams,
    ("POST", "/v1/webhook_endpoints/{webhook_endpoint}"): params.WebhookEndpointUpdateParams,
    ("DELETE", "/v1/webhook_endpoints/{webhook_endpoint}"): params.WebhookEndpointDeleteParams,
    ("GET", "/v1/webhook_endpoints"): params.WebhookEndpointListParams,
}


def library_parameters(typed: type) -> set[str]:
    keys: frozenset[str] = typed.__required_keys__ | typed.__optional_keys__  # type: ignore[attr-defined]
    return set(keys) - REQUEST_OPTIONS


def test_every_served_endpoint_is_checked() -> None:
    served = {(route.method, route.template) for route in API_ROUTES}

    assert served == set(TYPED_PARAMS)


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda route: f"{route.method} {route.template}")
def test_an_endpoint_accepts_exactly_the_parameters_stripe_python_sends(route: Route) -> None:
    expected = library_parameters(TYPED_PARAMS[(route.method, route.template)])

    accepted = set(route.accepts)

    assert (sorted(expected - accepted), sorted(accepted - expected)) == ([], [])
