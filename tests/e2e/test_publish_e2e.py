"""Publishing end to end: HTTP, a real Celery worker process, Redis, PostgreSQL, the relay and
the Stripe test server; cards saved through the setup flow and Stripe's webhooks."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from campaign_billing.stripe_server import StripeTestServer
from tests.e2e.harness import Api, Stack, Stream, wait_until
from tests.e2e.platform import OFFICE, Platform

TERMINAL_EVENT = {
    "succeeded": "campaign.published",
    "failed": "campaign.publish_failed",
    "requires_action": "campaign.payment_action_required",
}


@pytest.fixture
def platform(api: Api, stripe_server: StripeTestServer) -> Platform:
    stripe_server.control.clear_faults()
    platform = Platform(api, stripe_server).office()
    platform.user("u_sam", "Sam Lee", "admin")
    platform.user("u_jane", "Jane Doe", consent=True)
    platform.user("u_omar", "Omar Haddad")
    platform.account_with_card("office", OFFICE)
    return platform


def _agent(type_: str = "agent", **rest: Any) -> dict[str, Any]:
    return {"type": type_, **rest}


def test_office_billing_charges_once_publishes_and_tells_the_stream(
    platform: Platform, stream: Stream
) -> None:
    platform.campaign("cmp_1", "u_jane")
    result = platform.publish_and_wait("cmp_1")

    assert result["status"] == "succeeded"
    intents = platform.intents_for(result["id"])
    assert len(intents) == 1
    assert intents[0]["status"] == "succeeded"
    assert intents[0]["amount"] == 45_000
    assert result["charge"]["stripe_payment_intent_id"] == intents[0]["id"]
    published = stream.wait_for(result["id"], "campaign.published")
    assert published["workspace_id"] == "ws_1"
    assert published["data"]["campaign_id"] == "cmp_1"


def test_agent_billing_by_an_admin_with_consent_charges_the_agent(platform: Platform) -> None:
    jane = platform.account_with_card("agent", "u_jane", card="5555555555554444")
    platform.campaign("cmp_1", "u_sam", _agent(billing_user_id="u_jane"))
    result = platform.publish_and_wait("cmp_1")
    assert result["status"] == "succeeded"
    assert result["charge"]["billing_account_id"] == jane["id"]


def _expire_the_card(platform: Platform, account: dict[str, Any]) -> None:
    card = account["payment_methods"][0]["stripe_payment_method_id"]
    platform.stripe.control.automatically_update_card(card, exp_month=1, exp_year=2020)
    wait_until(
        lambda: platform.account(account["id"])["payment_methods"][0]["status"] == "expired",
        what="card expired",
    )


def _detach_the_card(platform: Platform, account: dict[str, Any]) -> None:
    card = account["payment_methods"][0]["stripe_payment_method_id"]
    with httpx.Client() as http:
        detached = http.post(
            f"{platform.stripe.base_url}/v1/payment_methods/{card}/detach",
            headers={"Authorization": "Bearer sk_test_e2e_key"},
        )
    assert detached.status_code == 200, detached.text
    wait_until(
        lambda: platform.account(account["id"])["payment_methods"][0]["status"] == "detached",
        what="card detached",
    )


Setup = Callable[[Platform], None]


def _v1_agent(p: Platform) -> None:
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane"), version="v1")


def _no_billing_user(p: Platform) -> None:
    p.campaign("cmp_x", "u_jane", _agent())


def _billing_user_is_an_admin(p: Platform) -> None:
    p.campaign("cmp_x", "u_sam", _agent(billing_user_id="u_sam"))


def _agent_bills_another_agent(p: Platform) -> None:
    p.account_with_card("agent", "u_jane")
    p.campaign("cmp_x", "u_omar", _agent(billing_user_id="u_jane"))


def _admin_without_consent(p: Platform) -> None:
    p.account_with_card("agent", "u_omar")
    p.campaign("cmp_x", "u_sam", _agent(billing_user_id="u_omar"))


def _no_account(p: Platform) -> None:
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane"))


def _account_pending_setup(p: Platform) -> None:
    p.open_account("agent", "u_jane")
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane"))


def _card_detached(p: Platform) -> None:
    _detach_the_card(p, p.account_with_card("agent", "u_jane"))
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane"))


def _card_of_another_account(p: Platform) -> None:
    p.account_with_card("agent", "u_jane")
    omar = p.account_with_card("agent", "u_omar")
    card = omar["payment_methods"][0]["id"]
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane", payment_method_id=card))


def _card_expired(p: Platform) -> None:
    _expire_the_card(p, p.account_with_card("agent", "u_jane"))
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane"))


def _card_declined(p: Platform) -> None:
    p.account_with_card("agent", "u_jane", card="4000000000000341")
    p.campaign("cmp_x", "u_jane", _agent(billing_user_id="u_jane"))


def _authentication_required(p: Platform) -> None:
    p.account_with_card("agent", "u_jane", card="4000002760003184")
    p.campaign("cmp_x", "u_sam", _agent(billing_user_id="u_jane"))


def _stripe_rate_limits_every_call(p: Platform) -> None:
    p.campaign("cmp_x", "u_jane")
    p.stripe.control.set_faults(
        error_429_share=1.0, retry_after_s=0, path_prefix="/v1/payment_intents"
    )


def _stripe_refuses_the_amount(p: Platform) -> None:
    # Below Stripe's minimum charge for USD (50 cents): an invalid request.
    p.campaign("cmp_x", "u_jane", amount=10)


FAILURES: dict[str, tuple[Setup, str]] = {
    "agent_billing_unavailable_v1": (_v1_agent, "V1"),
    "billing_user_missing": (_no_billing_user, "Billing User"),
    "billing_user_invalid": (_billing_user_is_an_admin, "Sam Lee"),
    "creator_not_authorized": (_agent_bills_another_agent, "Omar Haddad"),
    "delegation_not_allowed": (_admin_without_consent, "Omar Haddad"),
    "billing_account_missing": (_no_account, "Jane Doe"),
    "billing_account_inactive": (_account_pending_setup, "Jane Doe"),
    "payment_method_missing": (_card_detached, "Jane Doe"),
    "payment_method_not_on_account": (_card_of_another_account, "Jane Doe"),
    "payment_method_expired": (_card_expired, "Jane Doe"),
    "card_declined": (_card_declined, "Jane Doe"),
    "authentication_required": (_authentication_required, "Jane Doe"),
    "payment_provider_unavailable": (_stripe_rate_limits_every_call, "cmp_x"),
    "payment_provider_rejected": (_stripe_refuses_the_amount, "cmp_x"),
}


@pytest.mark.parametrize("code", sorted(FAILURES))
def test_every_failure_ends_with_its_code_its_event_and_words_a_person_understands(
    platform: Platform, stream: Stream, code: str
) -> None:
    setup, named = FAILURES[code]
    setup(platform)
    result = platform.publish_and_wait("cmp_x")

    failure = result["failure"]
    assert failure["code"] == code
    assert named in failure["message"]
    assert failure["remediation"]
    assert result["status"] == (
        "requires_action" if code == "authentication_required" else "failed"
    )
    event = stream.wait_for(result["id"], TERMINAL_EVENT[result["status"]])
    assert event["data"]["failure"]["code"] == code
    if code == "authentication_required":
        assert failure["payment_url"].startswith("http")
    if code == "card_declined":
        assert failure["decline_code"]


def test_an_unknown_campaign_is_a_404_with_its_code(api: Api) -> None:
    response = api.publish("cmp_nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "campaign_not_found"


def test_duplicate_and_concurrent_publish_requests_charge_once(platform: Platform) -> None:
    platform.campaign("cmp_1", "u_jane")
    answers: list[httpx.Response] = []

    def publish(key: str) -> None:
        answers.append(platform.api.publish("cmp_1", key))

    threads = [threading.Thread(target=publish, args=(f"key-{i % 3}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a.status_code in (200, 202) for a in answers), [a.text for a in answers]
    request_ids = {a.json()["publish_request_id"] for a in answers}
    assert len(request_ids) == 1
    request_id = request_ids.pop()
    assert platform.api.wait_terminal(request_id)["status"] == "succeeded"
    again = platform.api.publish("cmp_1", "a-new-key")
    assert again.json()["publish_request_id"] == request_id
    assert len(platform.new_intents()) == 1


def test_stripe_500s_429s_and_dropped_connections_are_retried_under_one_key(
    platform: Platform,
) -> None:
    platform.campaign("cmp_1", "u_jane")
    control = platform.stripe.control
    path = "/v1/payment_intents"
    control.set_faults(error_500_share=1.0, calls=1, path_prefix=path)
    control.set_faults(error_429_share=1.0, retry_after_s=0, calls=1, path_prefix=path)
    control.set_faults(commit_then_drop_share=1.0, calls=1, path_prefix=path)
    started = time.time()
    result = platform.publish_and_wait("cmp_1")

    assert result["status"] == "succeeded"
    attempts = control.requests(method="POST", path_prefix=path, since=started)
    # The dropped call has no answer, so the server's request log may not list it.
    assert len(attempts) >= 3
    assert {a["idempotency_key"] for a in attempts} == {f"publish_request:{result['id']}:charge"}
    assert len(platform.intents_for(result["id"])) == 1


def test_when_stripe_never_recovers_the_request_still_ends(platform: Platform) -> None:
    platform.campaign("cmp_1", "u_jane")
    platform.stripe.control.set_faults(error_500_share=1.0)
    try:
        result = platform.publish_and_wait("cmp_1")
    finally:
        platform.stripe.control.clear_faults()
    assert result["status"] == "failed"
    assert result["failure"]["code"] == "payment_provider_unavailable"
    assert result["failure"]["retryable"] is True
    assert platform.new_intents() == []


def test_a_worker_killed_after_stripe_charged_ends_with_one_charge_and_success(
    platform: Platform, stack: Stack, engine: Engine
) -> None:
    platform.campaign("cmp_1", "u_jane")
    # Stripe takes its time answering, so the test holds the charge row before the answer.
    platform.stripe.control.set_faults(
        latency_ms=1500, calls=1, method="POST", path_prefix="/v1/payment_intents"
    )
    with engine.connect() as blocker:
        # Hold the campaign's charge row once it exists: the worker's recording transaction
        # waits on it after Stripe answered, and dies there.
        accepted = platform.api.publish("cmp_1").json()
        request_id = accepted["publish_request_id"]
        transaction = blocker.begin()
        wait_until(
            lambda: blocker.execute(
                text("SELECT id FROM charges WHERE publish_request_id = :r FOR UPDATE"),
                {"r": request_id},
            ).first(),
            what="the charge attempt",
        )
        wait_until(lambda: platform.intents_for(request_id), what="Stripe to charge")
        time.sleep(0.5)
        stack.kill("worker1")
        transaction.rollback()

    assert platform.api.publish_request(request_id)["status"] == "processing"
    stack.start_worker("worker1")
    result = platform.api.wait_terminal(request_id, timeout=40)

    assert result["status"] == "succeeded"
    intents = platform.intents_for(request_id)
    assert len(intents) == 1
    assert result["charge"]["stripe_payment_intent_id"] == intents[0]["id"]


def test_two_worker_processes_together_hold_the_account_wide_stripe_rate_limit(
    platform: Platform, stack: Stack
) -> None:
    # Low enough that two CPU-starved workers still have capacity to spare: the test measures the
    # limiter, not the machine.
    limit = 10.0
    campaigns = 80
    for number in range(campaigns):
        platform.campaign(f"cmp_{number}", "u_jane")
    stack.kill("worker1", signal.SIGTERM)
    limited = {"STRIPE_RATE_LIMIT": str(limit)}
    stack.start_worker("limited1", concurrency=8, env=limited)
    stack.start_worker("limited2", concurrency=8, env=limited)
    try:
        started = time.time()
        request_ids = [
            platform.api.publish(f"cmp_{number}").json()["publish_request_id"]
            for number in range(campaigns)
        ]
        for request_id in request_ids:
            assert platform.api.wait_terminal(request_id, timeout=60)["status"] == "succeeded"
    finally:
        stack.kill("limited1", signal.SIGTERM)
        stack.kill("limited2", signal.SIGTERM)
        stack.start_worker("worker1")

    charges = platform.stripe.control.requests(
        method="POST", path_prefix="/v1/payment_intents", since=started
    )
    assert len(platform.new_intents()) == campaigns
    arrivals = sorted(c["arrived_at"] for c in charges)
    # Rate over the whole run: (n - 1) intervals between the first and the last call.
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert abs(rate - limit) / limit <= 0.10, f"{rate:.1f} requests/s against a limit of {limit}"
