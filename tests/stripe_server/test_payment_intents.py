"""PaymentIntents: off-session charges, declines, authentication, retrieve, list, search."""

from typing import Any, cast

import pytest
import stripe
from stripe.params import PaymentIntentCreateParams

from campaign_billing.stripe_server import ControlClient


def saved_card(client: stripe.StripeClient, test_id: str = "pm_card_visa") -> tuple[str, str]:
    customer = client.v1.customers.create()
    card = client.v1.payment_methods.attach(test_id, params={"customer": customer.id})
    return customer.id, card.id


def off_session_charge(
    customer: str, payment_method: str, **extra: Any
) -> PaymentIntentCreateParams:
    return cast(
        PaymentIntentCreateParams,
        {
            "amount": 4900,
            "currency": "usd",
            "customer": customer,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            **extra,
        },
    )


def test_an_off_session_charge_of_a_saved_card_succeeds(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)

    intent = stripe_client.v1.payment_intents.create(
        params=off_session_charge(customer, card, metadata={"campaign_id": "c_1"}),
        options={"idempotency_key": "publish:pr_1"},
    )

    assert (intent.status, intent.amount_received, intent.payment_method) == (
        "succeeded",
        4900,
        card,
    )
    assert intent.metadata.to_dict() == {"campaign_id": "c_1"}


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [
        ("4000000000000002", "card_declined", "generic_decline"),
        ("4000000000009995", "card_declined", "insufficient_funds"),
        ("4000000000000069", "expired_card", "expired_card"),
    ],
)
def test_a_declined_card_is_a_402_card_error_naming_the_intent(
    stripe_client: stripe.StripeClient, number: str, code: str, decline_code: str
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "confirm": True,
                "payment_method_data": {
                    "type": "card",
                    # stripe-python's types omit raw card details; Stripe's API takes them.
                    "card": {  # type: ignore[typeddict-unknown-key]
                        "number": number,
                        "exp_month": 12,
                        "exp_year": 2034,
                        "cvc": "123",
                    },
                },
            }
        )

    error = raised.value.error
    assert error is not None
    assert (raised.value.http_status, error.type, error.code, error.decline_code) == (
        402,
        "card_error",
        code,
        decline_code,
    )
    assert error.message
    assert error.payment_intent is not None
    assert error.payment_intent.status == "requires_payment_method"
    assert error.payment_intent.last_payment_error is not None
    assert error.payment_intent.last_payment_error.decline_code == decline_code


def test_a_declined_intent_is_left_requiring_a_payment_method(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.create(
            params={
                "amount": 1000,
                "currency": "usd",
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "confirm": True,
            }
        )
    assert raised.value.error is not None
    assert raised.value.error.payment_intent is not None

    stored = stripe_client.v1.payment_intents.retrieve(raised.value.error.payment_intent.id)

    assert stored.status == "requires_payment_method"
    assert stored.last_payment_error is not None
    assert (stored.last_payment_error.code, stored.last_payment_error.decline_code) == (
        "card_declined",
        "insufficient_funds",
    )


def test_a_saved_card_that_declines_after_attaching_fails_off_session(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 1, "exp_year": 2035},
        }
    )
    stripe_client.v1.payment_methods.attach(card.id, params={"customer": customer.id})

    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.create(params=off_session_charge(customer.id, card.id))

    assert raised.value.error is not None
    assert raised.value.error.decline_code == "generic_decline"


def test_an_authentication_required_card_off_session_is_a_402_authentication_required(
    stripe_client: stripe.StripeClient,
) -> None:
    customer, card = saved_card(stripe_client, "pm_card_authenticationRequired")

    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.create(params=off_session_charge(customer, card))

    error = raised.value.error
    assert error is not None
    assert error.payment_intent is not None
    assert (raised.value.http_status, error.code, error.decline_code) == (
        402,
        "authentication_required",
        "authentication_required",
    )
    assert error.payment_intent.status == "requires_payment_method"


def test_an_authentication_required_card_on_session_requires_action_until_authenticated(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer, card = saved_card(stripe_client, "pm_card_authenticationRequired")

    intent = stripe_client.v1.payment_intents.create(
        params={
            "amount": 1000,
            "currency": "usd",
            "customer": customer,
            "payment_method": card,
            "confirm": True,
        }
    )
    authenticated = control.authenticate_payment_intent(intent.id)

    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert authenticated["status"] == "succeeded"


def test_a_card_set_up_for_off_session_use_is_charged_without_authentication(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer = stripe_client.v1.customers.create()
    setup = stripe_client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
        }
    )
    control.authenticate_setup_intent(setup.id)
    card = stripe_client.v1.setup_intents.retrieve(setup.id).payment_method
    assert isinstance(card, str)

    intent = stripe_client.v1.payment_intents.create(params=off_session_charge(customer.id, card))

    assert intent.status == "succeeded"


def test_a_saved_card_can_be_made_to_run_out_of_funds(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer, card = saved_card(stripe_client)
    control.set_card_outcome(card, "insufficient_funds")

    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.create(params=off_session_charge(customer, card))

    assert raised.value.error is not None
    assert raised.value.error.decline_code == "insufficient_funds"


def test_a_card_of_another_customer_cannot_be_charged(stripe_client: stripe.StripeClient) -> None:
    _, card = saved_card(stripe_client)
    stranger = stripe_client.v1.customers.create()

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.create(params=off_session_charge(stranger.id, card))

    assert raised.value.param == "payment_method"


def test_an_amount_below_the_currency_minimum_is_refused(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.create(params={"amount": 10, "currency": "usd"})

    assert raised.value.code == "amount_too_small"


def test_the_latest_charge_can_be_expanded(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)

    intent = stripe_client.v1.payment_intents.create(
        params=off_session_charge(customer, card, expand=["latest_charge", "customer"])
    )

    assert isinstance(intent.latest_charge, stripe.Charge)
    assert intent.latest_charge.status == "succeeded"
    assert isinstance(intent.customer, stripe.Customer)


def test_intents_are_listed_by_customer(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)
    other, other_card = saved_card(stripe_client)
    mine = stripe_client.v1.payment_intents.create(params=off_session_charge(customer, card))
    stripe_client.v1.payment_intents.create(params=off_session_charge(other, other_card))

    listed = stripe_client.v1.payment_intents.list(params={"customer": customer})

    assert [intent.id for intent in listed.data] == [mine.id]


def test_intents_are_found_by_metadata_search(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)
    wanted = stripe_client.v1.payment_intents.create(
        params=off_session_charge(customer, card, metadata={"publish_request_id": "pr_123"})
    )
    stripe_client.v1.payment_intents.create(
        params=off_session_charge(customer, card, metadata={"publish_request_id": "pr_456"})
    )

    found = stripe_client.v1.payment_intents.search(
        params={"query": "metadata['publish_request_id']:'pr_123'"}
    )

    assert found.to_dict()["object"] == "search_result"
    assert [intent.id for intent in found.data] == [wanted.id]


def test_search_combines_clauses_with_and(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)
    succeeded = stripe_client.v1.payment_intents.create(
        params=off_session_charge(customer, card, metadata={"campaign_id": "c_9"})
    )
    stripe_client.v1.payment_intents.create(
        params={"amount": 4900, "currency": "usd", "metadata": {"campaign_id": "c_9"}}
    )

    found = stripe_client.v1.payment_intents.search(
        params={"query": "status:'succeeded' AND metadata['campaign_id']:'c_9'"}
    )

    assert [intent.id for intent in found.data] == [succeeded.id]


def test_search_pages_through_results_with_next_page(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)
    for _ in range(3):
        stripe_client.v1.payment_intents.create(params=off_session_charge(customer, card))

    first = stripe_client.v1.payment_intents.search(params={"query": "amount>1000", "limit": 2})
    second = stripe_client.v1.payment_intents.search(
        params={"query": "amount>1000", "limit": 2, "page": first.next_page}
    )

    assert (len(first.data), first.has_more, len(second.data), second.has_more) == (
        2,
        True,
        1,
        False,
    )


def test_a_malformed_search_query_is_an_invalid_request(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.search(
            params={"query": "metadata['a']:'b' AND status:'x' OR amount>1"}
        )

    assert raised.value.param == "query"


def test_a_succeeded_intent_cannot_be_confirmed_again(stripe_client: stripe.StripeClient) -> None:
    customer, card = saved_card(stripe_client)
    intent = stripe_client.v1.payment_intents.create(params=off_session_charge(customer, card))

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.confirm(intent.id)

    assert raised.value.code == "payment_intent_unexpected_state"


def test_an_unconfirmed_intent_can_be_confirmed_then_canceling_it_is_refused(
    stripe_client: stripe.StripeClient,
) -> None:
    customer, card = saved_card(stripe_client)
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 1500, "currency": "usd", "customer": customer, "payment_method": card}
    )

    confirmed = stripe_client.v1.payment_intents.confirm(intent.id, params={"off_session": True})

    assert (intent.status, confirmed.status) == ("requires_confirmation", "succeeded")
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.cancel(intent.id)


def test_an_open_intent_can_be_canceled(stripe_client: stripe.StripeClient) -> None:
    intent = stripe_client.v1.payment_intents.create(params={"amount": 1500, "currency": "usd"})

    canceled = stripe_client.v1.payment_intents.cancel(
        intent.id, params={"cancellation_reason": "abandoned"}
    )

    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
