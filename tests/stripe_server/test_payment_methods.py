"""PaymentMethods: test ids, cards from test numbers, attach / detach / list / update."""

import pytest
import stripe

from campaign_billing.stripe_server import ControlClient


@pytest.mark.parametrize(
    ("test_id", "brand", "last4"),
    [
        ("pm_card_visa", "visa", "4242"),
        ("pm_card_mastercard", "mastercard", "4444"),
        ("pm_card_chargeDeclined", "visa", "0002"),
        ("pm_card_chargeDeclinedInsufficientFunds", "visa", "9995"),
        ("pm_card_chargeDeclinedExpiredCard", "visa", "0069"),
        ("pm_card_authenticationRequired", "visa", "3184"),
    ],
)
def test_a_test_payment_method_id_makes_a_card_of_its_brand(
    stripe_client: stripe.StripeClient, test_id: str, brand: str, last4: str
) -> None:
    payment_method = stripe_client.v1.payment_methods.retrieve(test_id)

    assert payment_method.card is not None
    assert (payment_method.type, payment_method.card.brand, payment_method.card.last4) == (
        "card",
        brand,
        last4,
    )
    assert payment_method.id.startswith("pm_")
    assert payment_method.id != test_id


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242",
        "4000000000000341",
        "4000002760003184",
        "4000000000009995",
        "4000000000000069",
    ],
)
def test_a_card_is_created_from_a_test_number_with_its_expiry(
    stripe_client: stripe.StripeClient, number: str
) -> None:
    payment_method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )

    assert payment_method.card is not None
    assert (
        payment_method.card.last4,
        payment_method.card.exp_month,
        payment_method.card.exp_year,
    ) == (
        number[-4:],
        12,
        2034,
    )


def test_a_card_number_failing_the_luhn_check_is_a_card_error(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_methods.create(
            params={"type": "card", "card": {"number": "4242424242424241"}}
        )

    assert (raised.value.http_status, raised.value.code) == (402, "incorrect_number")


def test_attached_cards_are_listed_by_customer_and_detached_ones_are_not(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()
    kept = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    dropped = stripe_client.v1.payment_methods.attach(
        "pm_card_mastercard", params={"customer": customer.id}
    )

    detached = stripe_client.v1.payment_methods.detach(dropped.id)
    listed = stripe_client.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    nested = stripe_client.v1.customers.payment_methods.list(customer.id)

    assert detached.customer is None
    assert [pm.id for pm in listed.data] == [kept.id]
    assert [pm.id for pm in nested.data] == [kept.id]


def test_a_detached_card_cannot_be_charged_again(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    stripe_client.v1.payment_methods.detach(card.id)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_methods.attach(card.id, params={"customer": customer.id})

    assert "may not be used again" in str(raised.value.user_message)


def test_detaching_the_default_card_leaves_the_customers_default_dangling_as_stripe_does(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    assert customer.invoice_settings is not None
    default = customer.invoice_settings.default_payment_method
    assert isinstance(default, str)

    stripe_client.v1.payment_methods.detach(default)

    settings = stripe_client.v1.customers.retrieve(customer.id).invoice_settings
    assert settings is not None
    assert settings.default_payment_method == default
    assert stripe_client.v1.events.list(params={"limit": 1}).data[0].type == (
        "payment_method.detached"
    )


@pytest.mark.parametrize(
    ("test_id", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
def test_a_declining_card_cannot_be_attached_to_a_customer(
    stripe_client: stripe.StripeClient, test_id: str, decline_code: str
) -> None:
    customer = stripe_client.v1.customers.create()

    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_methods.attach(test_id, params={"customer": customer.id})

    assert raised.value.error is not None
    assert raised.value.error.decline_code == decline_code


def test_the_decline_after_attaching_card_attaches(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 1, "exp_year": 2035},
        }
    )

    attached = stripe_client.v1.payment_methods.attach(card.id, params={"customer": customer.id})

    assert attached.customer == customer.id


def test_updating_a_cards_expiry_is_reported_with_previous_attributes(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert card.card is not None

    stripe_client.v1.payment_methods.update(card.id, params={"card": {"exp_year": 2040}})
    event = stripe_client.v1.events.list(params={"type": "payment_method.updated"}).data[0]

    assert event.data.object["card"]["exp_year"] == 2040
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes["card"]["exp_year"] == card.card.exp_year


def test_a_card_network_update_emits_payment_method_automatically_updated(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})

    control.automatically_update_card(card.id, exp_month=3, exp_year=2031)
    event = stripe_client.v1.events.list(
        params={"type": "payment_method.automatically_updated"}
    ).data[0]

    assert (event.data.object["id"], event.data.object["card"]["exp_year"]) == (card.id, 2031)
