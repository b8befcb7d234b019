"""Injected latency and faults, the rate limiter, authentication, and the request log."""

import time

import httpx
import pytest
import requests
import stripe
from stripe.params import PaymentIntentCreateParams

from campaign_billing.stripe_server import ControlClient, ControlError, StripeTestServer

CHARGE: PaymentIntentCreateParams = {
    "amount": 2000,
    "currency": "usd",
    "payment_method": "pm_card_visa",
    "confirm": True,
}


def test_added_latency_delays_every_answer(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(latency_ms=200)

    started = time.monotonic()
    stripe_client.v1.customers.create()

    assert time.monotonic() - started >= 0.2


def test_jitter_adds_a_bounded_random_delay(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(latency_ms=50, jitter_ms=100)

    durations = []
    for _ in range(8):
        started = time.monotonic()
        stripe_client.v1.customers.create()
        durations.append(time.monotonic() - started)

    assert all(0.05 <= duration < 1.0 for duration in durations)
    assert max(durations) - min(durations) > 0.01


def test_a_500_for_the_next_call_fails_a_client_without_retries(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(error_500_share=1, calls=1)

    with pytest.raises(stripe.APIError) as raised:
        stripe_client.v1.payment_intents.create(params=CHARGE)

    assert raised.value.http_status == 500
    assert control.ledger() == []
    assert stripe_client.v1.payment_intents.create(params=CHARGE).status == "succeeded"


def test_a_client_retrying_500s_with_one_key_charges_once(
    retrying_stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(error_500_share=1, calls=2, path_prefix="/v1/payment_intents")

    intent = retrying_stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_500"}
    )

    outcomes = [r["outcome"] for r in control.requests(path_prefix="/v1/payment_intents")]
    assert intent.status == "succeeded"
    assert outcomes == ["injected_500", "injected_500", "ok"]
    assert len(control.ledger()) == 1


def test_a_429_says_when_to_retry(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(error_429_share=1, retry_after_s=2, calls=1)

    with pytest.raises(stripe.RateLimitError) as raised:
        stripe_client.v1.customers.create()

    assert raised.value.http_status == 429
    assert raised.value.error is not None
    assert raised.value.error.code == "rate_limit"
    assert raised.value.headers is not None
    assert raised.value.headers["Retry-After"] == "2"


def test_a_reset_connection_is_a_network_error_and_nothing_is_created(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(reset_share=1, calls=1)

    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.payment_intents.create(params=CHARGE)

    assert control.ledger() == []
    assert [r["outcome"] for r in control.requests()] == ["reset"]


def test_commit_then_drop_loses_the_answer_but_the_charge_exists(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(commit_then_drop_share=1, calls=1)

    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.payment_intents.create(
            params={**CHARGE, "metadata": {"publish_request_id": "pr_9"}},
            options={"idempotency_key": "pr_9"},
        )

    ledger = control.ledger()
    assert [(row["status"], row["idempotency_key"], row["metadata"]) for row in ledger] == [
        ("succeeded", "pr_9", {"publish_request_id": "pr_9"})
    ]


def test_retrying_a_dropped_charge_with_its_key_replays_it_instead_of_charging_again(
    retrying_stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(commit_then_drop_share=1, calls=1)

    intent = retrying_stripe_client.v1.payment_intents.create(
        params=CHARGE, options={"idempotency_key": "pr_10"}
    )

    assert intent.last_response is not None
    assert intent.last_response.headers["Idempotent-Replayed"] == "true"
    assert [row["id"] for row in control.ledger()] == [intent.id]


def test_faults_apply_only_to_the_matching_path(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(error_500_share=1, calls=1, method="POST", path_prefix="/v1/payment_intents")

    customer = stripe_client.v1.customers.create()

    assert customer.id.startswith("cus_")
    with pytest.raises(stripe.APIError):
        stripe_client.v1.payment_intents.create(params=CHARGE)


def test_a_run_wide_share_of_500s_fails_about_that_share(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(error_500_share=0.5)

    failures = 0
    for _ in range(60):
        try:
            stripe_client.v1.customers.list()
        except stripe.APIError:
            failures += 1

    assert 15 <= failures <= 45


def test_clearing_faults_restores_normal_answers(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(error_500_share=1)
    control.clear_faults()

    assert stripe_client.v1.customers.list().to_dict()["object"] == "list"


def test_fault_shares_adding_up_to_more_than_one_are_refused(control: ControlClient) -> None:
    with pytest.raises(ControlError) as raised:
        control.set_faults(error_500_share=0.7, reset_share=0.7)

    assert raised.value.status_code == 400


def test_the_account_rate_limit_answers_429_past_the_limit(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_rate_limit(5)

    answers: list[str] = []
    for _ in range(8):
        try:
            stripe_client.v1.customers.list()
            answers.append("ok")
        except stripe.RateLimitError as error:
            code = error.error.code if error.error is not None else None
            reason = (error.headers or {}).get("Stripe-Rate-Limited-Reason")
            answers.append(f"{code}:{reason}")

    assert answers == ["ok"] * 5 + ["rate_limit:global-rate"] * 3


def test_request_stats_show_the_rate_the_server_saw(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    started = time.time()
    for _ in range(10):
        stripe_client.v1.customers.list()

    stats = control.request_stats(since=started, bucket_s=1.0)

    assert stats["total"] == 10
    assert stats["by_outcome"] == {"ok": 10}
    assert stats["peak_rps"] >= 10 / max(len(stats["buckets"]), 1)
    assert sum(bucket["count"] for bucket in stats["buckets"]) == 10


def test_a_request_without_an_api_key_is_a_401(stripe_server: StripeTestServer) -> None:
    answer = httpx.get(f"{stripe_server.base_url}/v1/customers")

    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert answer.headers["Request-Id"].startswith("req_")


def test_a_live_mode_key_is_refused(
    stripe_server: StripeTestServer, http_session: requests.Session
) -> None:
    client = stripe.StripeClient(
        "sk_live_123456789",
        base_addresses={"api": stripe_server.base_url},
        http_client=stripe.RequestsClient(session=http_session),
    )

    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.list()


def test_an_unknown_url_is_a_404_in_stripes_error_shape(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.raw_request("get", "/v1/not_a_resource")

    assert raised.value.http_status == 404
