"""The publish use cases, step by step, on PostgreSQL and the Stripe test server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe

from campaign_billing.adapters.stripe_gateway import ChargeOutcome
from campaign_billing.domain.errors import CampaignNotFound
from campaign_billing.domain.model import BillingSelection, BillingType, OwnerType
from campaign_billing.domain.publishing import ChargeStatus, PublishStatus
from campaign_billing.services import publishing
from campaign_billing.services.publishing import Accepted, ChargeUnreconciled, RequestKeyReused
from campaign_billing.services.sweep import reconcile_unknown_charges, resend_stale_requests
from campaign_billing.stripe_server import StripeTestServer
from campaign_billing.wiring import Container
from tests.support.world import World


def _accept(container: Container, campaign_id: str, key: str | None = None) -> Accepted:
    return publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id="ws_1",
        campaign_id=campaign_id,
        request_key=key,
    )


def _process(container: Container, request_id: str) -> PublishStatus | None:
    return publishing.process_publish_request(
        container.uow, container.gateway, container.publish_settings, request_id
    )


def _request(container: Container, request_id: str) -> Any:
    found = publishing.get_publish_request(container.uow, "ws_1", request_id)
    assert found is not None
    return found


def _outbox_types(container: Container) -> list[str]:
    with container.uow() as uow:
        return [event.type.value for _, event in uow.outbox.claim(1000)]


def test_office_billing_charges_the_office_card_once_and_publishes(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    accepted = _accept(container, "cmp_1")
    assert accepted.created
    assert container.task_sender is not None

    assert _process(container, accepted.request.id) is PublishStatus.SUCCEEDED

    request = _request(container, accepted.request.id)
    assert request.charge.status is ChargeStatus.SUCCEEDED
    ledger = stripe_server.control.ledger()
    assert len(ledger) == 1
    assert ledger[0]["id"] == request.charge.stripe_payment_intent_id
    assert ledger[0]["metadata"]["publish_request_id"] == accepted.request.id
    assert ledger[0]["metadata"]["campaign_id"] == "cmp_1"
    assert _outbox_types(container) == ["campaign.publish_requested", "campaign.published"]
    with container.uow() as uow:
        campaign = uow.directory.get_campaign("ws_1", "cmp_1")
    assert campaign is not None
    assert campaign.published


def test_the_task_is_sent_only_after_the_request_is_committed(
    container: Container, world: World, sent: list[tuple[str, dict[str, Any], str]]
) -> None:
    world.campaign("cmp_1", "agent_jane")
    accepted = _accept(container, "cmp_1")
    assert sent == [
        (
            "campaign_billing.publish",
            {"publish_request_id": accepted.request.id},
            "publish",
        )
    ]


def test_processing_twice_charges_once(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.SUCCEEDED
    assert _process(container, accepted.request.id) is PublishStatus.SUCCEEDED
    assert len(stripe_server.control.ledger()) == 1
    assert _outbox_types(container).count("campaign.published") == 1


def test_publishing_a_published_campaign_answers_the_earlier_request_and_charges_nothing(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    first = _accept(container, "cmp_1")
    _process(container, first.request.id)
    again = _accept(container, "cmp_1")
    assert not again.created
    assert again.request.id == first.request.id
    assert again.request.status is PublishStatus.SUCCEEDED
    assert len(stripe_server.control.ledger()) == 1


def test_a_second_publish_while_one_is_open_joins_it(container: Container, world: World) -> None:
    world.campaign("cmp_1", "agent_jane")
    first = _accept(container, "cmp_1")
    second = _accept(container, "cmp_1", key="another-key")
    assert not second.created
    assert second.request.id == first.request.id


def test_the_same_idempotency_key_answers_the_same_request(
    container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane")
    first = _accept(container, "cmp_1", key="key-1")
    again = _accept(container, "cmp_1", key="key-1")
    assert again.request.id == first.request.id


def test_an_idempotency_key_reused_for_another_campaign_is_refused(
    container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane")
    world.campaign("cmp_2", "agent_jane")
    _accept(container, "cmp_1", key="key-1")
    with pytest.raises(RequestKeyReused):
        _accept(container, "cmp_2", key="key-1")


def test_an_unknown_campaign_is_campaign_not_found(container: Container, world: World) -> None:
    with pytest.raises(CampaignNotFound):
        _accept(container, "cmp_missing")


def test_an_unknown_campaign_sent_through_the_broker_ends_failed_with_its_event(
    container: Container, world: World
) -> None:
    accepted = publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id="ws_1",
        campaign_id="cmp_missing",
        request_key="upstream-1",
        record_unknown_campaign=True,
    )
    request = _request(container, accepted.request.id)
    assert request.status is PublishStatus.FAILED
    assert request.failure["code"] == "campaign_not_found"
    assert _outbox_types(container) == ["campaign.publish_requested", "campaign.publish_failed"]


def test_a_resolution_failure_never_calls_stripe(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign(
        "cmp_1",
        "admin_sam",
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    world.account(OwnerType.AGENT, "agent_jane")
    calls_before = len(stripe_server.control.requests(path_prefix="/v1/payment_intents"))
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.FAILED
    request = _request(container, accepted.request.id)
    assert request.failure["code"] == "delegation_not_allowed"
    assert "Jane Doe" in request.failure["message"]
    assert len(stripe_server.control.requests(path_prefix="/v1/payment_intents")) == calls_before
    assert _outbox_types(container)[-1] == "campaign.publish_failed"


def test_a_declined_card_fails_with_its_decline_code_and_can_be_published_again(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.user("agent_kim", "Kim Park")
    account = world.account(OwnerType.AGENT, "agent_kim")
    # A card that attached fine and is declined later (Stripe refuses to attach its decline
    # test cards: https://docs.stripe.com/testing#declined-payments).
    card = account.payment_methods[0].stripe_payment_method_id
    stripe_server.control.set_card_outcome(card, "insufficient_funds")
    world.campaign("cmp_1", "agent_kim", billing=BillingSelection(BillingType.AGENT, "agent_kim"))
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.FAILED
    failure = _request(container, accepted.request.id).failure
    assert failure["code"] == "card_declined"
    assert failure["decline_code"] == "insufficient_funds"
    assert "Kim Park" in failure["message"]

    again = _accept(container, "cmp_1")
    assert again.created
    assert again.request.id != accepted.request.id


def test_authentication_required_gives_the_cardholder_a_payment_link(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.user("agent_kim", "Kim Park", consent=True)
    world.account(OwnerType.AGENT, "agent_kim", card="pm_card_authenticationRequired")
    world.campaign("cmp_1", "admin_sam", billing=BillingSelection(BillingType.AGENT, "agent_kim"))
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.REQUIRES_ACTION
    request = _request(container, accepted.request.id)
    assert request.failure["code"] == "authentication_required"
    assert request.failure["payment_url"].startswith("http")
    assert request.checkout_session_id
    assert _outbox_types(container)[-1] == "campaign.payment_action_required"


def test_stripe_500s_are_retried_under_the_same_key(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    stripe_server.control.set_faults(
        error_500_share=1.0, calls=2, path_prefix="/v1/payment_intents"
    )
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.SUCCEEDED
    attempts = stripe_server.control.requests(method="POST", path_prefix="/v1/payment_intents")
    assert len(attempts) == 3
    assert len({a["idempotency_key"] for a in attempts}) == 1
    assert len(stripe_server.control.ledger()) == 1


def test_a_dropped_connection_after_stripe_charged_is_replayed_not_charged_again(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    stripe_server.control.set_faults(
        commit_then_drop_share=1.0, calls=1, path_prefix="/v1/payment_intents"
    )
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.SUCCEEDED
    assert len(stripe_server.control.ledger()) == 1


def test_only_429s_end_unavailable_without_blocking_a_new_publish(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    stripe_server.control.set_faults(
        error_429_share=1.0, retry_after_s=0.01, path_prefix="/v1/payment_intents"
    )
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.FAILED
    request = _request(container, accepted.request.id)
    assert request.failure["code"] == "payment_provider_unavailable"
    assert request.failure["retryable"] is True
    assert request.charge.status is ChargeStatus.FAILED
    stripe_server.control.clear_faults()
    again = _accept(container, "cmp_1")
    assert again.created


def test_when_stripe_never_answers_the_request_ends_and_the_sweep_reconciles_the_charge(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    # Every call fails ambiguously, the reconciliation list included: the outcome is unknown.
    stripe_server.control.set_faults(error_500_share=1.0)
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.FAILED
    request = _request(container, accepted.request.id)
    assert request.failure["code"] == "payment_provider_unavailable"
    assert request.charge.status is ChargeStatus.UNKNOWN
    with pytest.raises(ChargeUnreconciled):
        _accept(container, "cmp_1")

    stripe_server.control.clear_faults()
    assert reconcile_unknown_charges(container.uow, container.gateway, older_than=timedelta(0))
    assert _request(container, accepted.request.id).charge.status is ChargeStatus.FAILED
    assert _accept(container, "cmp_1").created
    assert stripe_server.control.ledger() == []


def test_a_worker_that_died_after_stripe_charged_is_finished_with_the_same_key(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    world.campaign("cmp_1", "agent_jane")
    accepted = _accept(container, "cmp_1")
    # A worker claimed the request and Stripe charged; the worker died before recording it.
    target = publishing._claim(container.uow, accepted.request.id, publishing.utcnow)
    assert isinstance(target, publishing._Target)
    charged = container.gateway.charge(publishing.charge_request(target))
    assert charged.outcome is ChargeOutcome.SUCCEEDED

    # The sweep finds the request stuck in processing and sends it again.
    assert (
        resend_stale_requests(
            container.uow, container.send_publish, older_than=timedelta(seconds=-1)
        )
        == 1
    )
    assert _process(container, accepted.request.id) is PublishStatus.SUCCEEDED
    assert len(stripe_server.control.ledger()) == 1
    assert _request(container, accepted.request.id).charge.stripe_payment_intent_id == (
        charged.payment_intent_id
    )


def _auth_required_campaign(container: Container, world: World) -> str:
    world.user("agent_kim", "Kim Park", consent=True)
    world.account(OwnerType.AGENT, "agent_kim", card="pm_card_authenticationRequired")
    world.campaign("cmp_1", "admin_sam", billing=BillingSelection(BillingType.AGENT, "agent_kim"))
    accepted = _accept(container, "cmp_1")
    assert _process(container, accepted.request.id) is PublishStatus.REQUIRES_ACTION
    return accepted.request.id


def test_publishing_again_expires_the_earlier_payment_link(
    container: Container, world: World, stripe_client: stripe.StripeClient
) -> None:
    first_id = _auth_required_campaign(container, world)
    session_id = _request(container, first_id).checkout_session_id
    again = _accept(container, "cmp_1")
    assert again.created
    _process(container, again.request.id)
    assert stripe_client.v1.checkout.sessions.retrieve(session_id).status == "expired"


def test_a_payment_link_paid_before_publishing_again_is_the_only_charge(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    first_id = _auth_required_campaign(container, world)
    session_id = _request(container, first_id).checkout_session_id
    stripe_server.control.complete_checkout_session(session_id, payment_method="pm_card_visa")
    paid = [e for e in stripe_server.control.ledger() if e["status"] == "succeeded"]

    again = _accept(container, "cmp_1")
    assert _process(container, again.request.id) is PublishStatus.SUCCEEDED

    assert [e for e in stripe_server.control.ledger() if e["status"] == "succeeded"] == paid
    first = _request(container, first_id)
    assert first.status is PublishStatus.SUCCEEDED
    assert first.charge.stripe_payment_intent_id == paid[0]["id"]
    assert _request(container, again.request.id).charge.status is ChargeStatus.FAILED
    with container.uow() as uow:
        assert uow.directory.campaign_published_by("cmp_1") == first_id
