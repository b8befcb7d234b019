"""SetupIntents and Checkout Sessions, including completing a session as a customer would."""

import httpx
import pytest
import stripe

from campaign_billing.stripe_server import ControlClient, ControlError, StripeTestServer


def event_types(client: stripe.StripeClient) -> list[str]:
    return [event.type for event in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_a_confirmed_setup_intent_attaches_the_card_to_its_customer(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()

    setup = stripe_client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    cards = stripe_client.v1.customers.payment_methods.list(customer.id)

    assert setup.status == "succeeded"
    assert [card.id for card in cards.data] == [setup.payment_method]
    assert event_types(stripe_client)[-2:] == ["payment_method.attached", "setup_intent.succeeded"]


def test_a_setup_intent_with_a_declining_card_fails_with_the_setup_intent_in_the_error(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()

    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.setup_intents.create(
            params={
                "customer": customer.id,
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )

    assert raised.value.error is not None
    assert raised.value.error.setup_intent is not None
    assert raised.value.error.setup_intent.status == "requires_payment_method"
    assert event_types(stripe_client)[-1] == "setup_intent.setup_failed"


def test_setup_mode_checkout_completed_by_the_customer_saves_the_card(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "agent@example.com"})
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": customer.id,
            "currency": "usd",
            "success_url": "https://example.com/done",
            "metadata": {"billing_account_id": "ba_1"},
        }
    )

    control.complete_checkout_session(session.id, card="4242424242424242")
    completed = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["setup_intent"]}
    )
    cards = stripe_client.v1.customers.payment_methods.list(customer.id)

    assert (session.status, completed.status) == ("open", "complete")
    assert isinstance(completed.setup_intent, stripe.SetupIntent)
    assert completed.setup_intent.status == "succeeded"
    assert [card.id for card in cards.data] == [completed.setup_intent.payment_method]
    assert completed.customer_details is not None
    assert completed.customer_details.email == "agent@example.com"
    assert event_types(stripe_client)[-3:] == [
        "payment_method.attached",
        "setup_intent.succeeded",
        "checkout.session.completed",
    ]


def test_payment_mode_checkout_completed_by_the_cardholder_pays_with_the_intent_metadata(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer = stripe_client.v1.customers.create()
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "customer": customer.id,
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 12500,
                        "product_data": {"name": "Campaign c_1"},
                    },
                    "quantity": 1,
                }
            ],
            "metadata": {"publish_request_id": "pr_7"},
            "payment_intent_data": {
                "metadata": {"publish_request_id": "pr_7", "campaign_id": "c_1"}
            },
            "success_url": "https://example.com/paid",
        }
    )

    control.complete_checkout_session(session.id, card="4000002760003184")
    completed = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent"]}
    )

    assert (session.amount_total, session.payment_status) == (12500, "unpaid")
    assert (completed.status, completed.payment_status) == ("complete", "paid")
    assert isinstance(completed.payment_intent, stripe.PaymentIntent)
    assert completed.payment_intent.status == "succeeded"
    assert completed.payment_intent.amount == 12500
    assert completed.payment_intent.metadata.to_dict() == {
        "publish_request_id": "pr_7",
        "campaign_id": "c_1",
    }
    assert event_types(stripe_client)[-2:] == [
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]


def test_a_declined_card_leaves_a_payment_session_open(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 5000,
                        "product_data": {"name": "x"},
                    }
                }
            ],
        }
    )

    with pytest.raises(ControlError) as raised:
        control.complete_checkout_session(session.id, card="4000000000009995")

    assert raised.value.status_code == 402
    assert raised.value.body["error"]["decline_code"] == "insufficient_funds"
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_an_expired_session_cannot_be_completed(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    session = stripe_client.v1.checkout.sessions.create(params={"mode": "setup", "currency": "usd"})

    expired = stripe_client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert event_types(stripe_client)[-1] == "checkout.session.expired"
    with pytest.raises(ControlError):
        control.complete_checkout_session(session.id)


def test_a_session_expires_by_itself_after_24_hours(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    session = stripe_client.v1.checkout.sessions.create(params={"mode": "setup", "currency": "usd"})
    control.advance_clock(24 * 3600)

    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_payment_mode_needs_line_items(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.checkout.sessions.create(params={"mode": "payment"})

    assert raised.value.param == "line_items"


def test_the_session_url_serves_a_page_where_a_person_can_pay(
    stripe_client: stripe.StripeClient, stripe_server: StripeTestServer
) -> None:
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 5000,
                        "product_data": {"name": "x"},
                    }
                }
            ],
            "success_url": "https://example.com/paid?session={CHECKOUT_SESSION_ID}",
        }
    )
    assert session.url is not None
    assert session.url.startswith(stripe_server.base_url)

    page = httpx.get(session.url)
    paid = httpx.post(session.url, data={"card": "4242424242424242"})

    assert page.status_code == 200
    assert "Pay 50.00 USD" in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://example.com/paid?session={session.id}"
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_nested_fields_expand_through_the_objects_on_the_way(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer = stripe_client.v1.customers.create()
    session = stripe_client.v1.checkout.sessions.create(
        params={"mode": "setup", "customer": customer.id, "currency": "usd"}
    )
    control.complete_checkout_session(session.id, payment_method="pm_card_mastercard")

    expanded = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["setup_intent.payment_method"]}
    )

    assert isinstance(expanded.setup_intent, stripe.SetupIntent)
    assert isinstance(expanded.setup_intent.payment_method, stripe.PaymentMethod)
    assert expanded.setup_intent.payment_method.card is not None
    assert expanded.setup_intent.payment_method.card.brand == "mastercard"


def test_setup_mode_needs_a_currency_unless_allowed_payment_method_types_are_given(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.checkout.sessions.create(params={"mode": "setup"})

    typed = stripe_client.v1.checkout.sessions.create(
        params={"mode": "setup", "allowed_payment_method_types": ["card"]}
    )

    assert (raised.value.code, raised.value.param) == ("parameter_missing", "currency")
    assert typed.status == "open"
