"""Idempotent requests: replays, misuse of a key, expiry."""

import pytest
import stripe
from stripe.params import PaymentIntentCreateParams

from campaign_billing.stripe_server import ControlClient

CHARGE: PaymentIntentCreateParams = {
    "amount": 2000,
    "currency": "usd",
    "payment_method": "pm_card_visa",
    "confirm": True,
    "metadata": {"publish_request_id": "pr_1"},
}


def test_the_same_key_and_parameters_replay_the_first_answer_and_charge_once(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    first = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )

    again = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )

    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert [row["idempotency_key"] for row in control.ledger()] == ["pr_1"]


def test_a_first_answer_is_not_marked_as_replayed(stripe_client: stripe.StripeClient) -> None:
    first = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )

    assert first.last_response is not None
    assert "Idempotent-Replayed" not in first.last_response.headers


def test_a_decline_is_replayed_too(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    declined: PaymentIntentCreateParams = {**CHARGE, "payment_method": "pm_card_chargeDeclined"}
    with pytest.raises(stripe.CardError) as first:
        stripe_client.v1.payment_intents.create(
            params=declined, options={"idempotency_key": "pr_2"}
        )

    with pytest.raises(stripe.CardError) as again:
        stripe_client.v1.payment_intents.create(
            params=declined, options={"idempotency_key": "pr_2"}
        )

    assert first.value.error is not None
    assert again.value.error is not None
    assert first.value.error.payment_intent is not None
    assert again.value.error.payment_intent is not None
    assert again.value.error.payment_intent.id == first.value.error.payment_intent.id
    assert again.value.headers is not None
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert len(control.ledger()) == 1


def test_the_same_key_with_other_parameters_is_an_idempotency_error(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    stripe_client.v1.payment_intents.create(params=CHARGE, options={"idempotency_key": "pr_1"})

    with pytest.raises(stripe.IdempotencyError) as raised:
        stripe_client.v1.payment_intents.create(
            params={**CHARGE, "amount": 2100}, options={"idempotency_key": "pr_1"}
        )

    assert raised.value.http_status == 400
    assert raised.value.error is not None
    assert raised.value.error.type == "idempotency_error"
    assert len(control.ledger()) == 1


def test_the_same_key_on_another_endpoint_is_an_idempotency_error(
    stripe_client: stripe.StripeClient,
) -> None:
    stripe_client.v1.customers.create(options={"idempotency_key": "shared"})

    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.payment_intents.create(
            params=CHARGE, options={"idempotency_key": "shared"}
        )


def test_a_key_older_than_24_hours_starts_a_new_request(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    first = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )
    control.advance_clock(24 * 3600 + 1)

    later = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )

    assert later.id != first.id
    assert len(control.ledger()) == 2


def test_a_key_younger_than_24_hours_still_replays(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    first = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )
    control.advance_clock(23 * 3600)

    later = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )

    assert later.id == first.id


def test_the_key_lifetime_is_configurable(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_idempotency_ttl(60)
    first = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )
    control.advance_clock(61)

    later = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_1"}
    )

    assert later.id != first.id


def test_a_request_failing_validation_is_not_stored_under_its_key(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.payment_intents.create(
            params={"currency": "usd"},  # type: ignore[typeddict-item]
            options={"idempotency_key": "pr_3"},
        )

    fixed = stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_3"}
    )

    assert fixed.status == "succeeded"
