"""The billing explanation, at the service level on PostgreSQL and the Stripe test server: the
record of what happened (the charge, the latest publish request) beside the billing rules run on
today's data."""

from __future__ import annotations

import pytest

from campaign_billing.domain.errors import CampaignNotFound
from campaign_billing.domain.model import BillingSelection, BillingType, CampaignVersion, OwnerType
from campaign_billing.services import publishing
from campaign_billing.services.explanation import OutcomeStatus, explain_campaign
from campaign_billing.stripe_server import StripeTestServer
from campaign_billing.wiring import Container
from tests.integration.support.situations import office_account, publish
from tests.support.world import World

_JANE = BillingSelection(BillingType.AGENT, billing_user_id="agent_jane")


def test_a_campaign_never_published_says_whom_publishing_it_now_would_charge(
    container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane")

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    assert explained.status is OutcomeStatus.WOULD_CHARGE
    assert all(step.passed for step in explained.resolution.steps)
    data = explained.to_dict()
    assert data["payer"]["source"] == "rules"
    assert data["payer"]["billing_account_id"] == office_account(container).id
    assert "has not been published" in explained.summary
    assert "would charge 250.00 USD to office Downtown" in explained.summary
    assert data["outcome"]["charge"] is None
    assert data["outcome"]["publish_request"] is None


def test_a_campaign_that_would_fail_names_the_failed_step_and_its_failure(
    container: Container, world: World
) -> None:
    world.account(OwnerType.AGENT, "agent_jane")
    world.campaign("cmp_1", "admin_sam", billing=_JANE)

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    assert explained.status is OutcomeStatus.WOULD_FAIL
    last = explained.resolution.steps[-1]
    assert (last.check, last.passed) == ("delegation", False)
    outcome = explained.to_dict()["outcome"]
    assert outcome["failure"]["code"] == "delegation_not_allowed"
    assert outcome["rules_today"] == {"status": "would_fail", "code": "delegation_not_allowed"}
    assert explained.to_dict()["payer"] is None


def test_a_charged_campaign_shows_the_recorded_charge_and_says_the_steps_are_todays_rules(
    container: Container, world: World
) -> None:
    world.user("agent_jane", "Jane Doe", consent=True)
    jane = world.account(OwnerType.AGENT, "agent_jane")
    world.campaign("cmp_1", "admin_sam", billing=_JANE)
    request = publish(container, "cmp_1")
    assert request.charge is not None

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    assert explained.status is OutcomeStatus.CHARGED
    data = explained.to_dict()
    assert data["payer"]["source"] == "charge"
    assert data["payer"]["billing_account_id"] == jane.id
    assert data["payer"]["owner_name"] == "Jane Doe"
    charge = data["outcome"]["charge"]
    assert charge["stripe_payment_intent_id"] == request.charge.stripe_payment_intent_id
    assert charge["stripe_payment_intent_id"].startswith("pi_")
    assert charge["publish_request_id"] == request.id
    assert charge["amount"] == 25_000
    assert charge["charged_at"] is not None
    assert data["outcome"]["publish_request"]["status"] == "succeeded"
    assert f"agent Jane Doe's billing account {jane.id}" in explained.summary
    assert "today's data" in explained.summary
    assert "still pick the same billing account" in explained.summary


def test_a_charged_campaign_whose_rules_changed_since_keeps_the_charge_and_says_what_changed(
    container: Container, world: World
) -> None:
    world.user("agent_jane", "Jane Doe", consent=True)
    jane = world.account(OwnerType.AGENT, "agent_jane")
    world.campaign("cmp_1", "admin_sam", billing=_JANE)
    publish(container, "cmp_1")
    world.user("agent_jane", "Jane Doe", consent=False)

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    data = explained.to_dict()
    assert data["outcome"]["status"] == "charged"
    assert data["payer"]["billing_account_id"] == jane.id
    assert data["outcome"]["rules_today"]["code"] == "delegation_not_allowed"
    assert "today they would fail: Agent Jane Doe has not enabled" in explained.summary


def test_a_failed_publish_shows_its_failure_and_whether_publishing_again_would_charge(
    container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane", billing=_JANE)
    failed = publish(container, "cmp_1")
    assert failed.failure is not None
    assert failed.failure["code"] == "billing_account_missing"

    before = explain_campaign(container.uow, "ws_1", "cmp_1")
    world.account(OwnerType.AGENT, "agent_jane")
    after = explain_campaign(container.uow, "ws_1", "cmp_1")

    for explained in (before, after):
        outcome = explained.to_dict()["outcome"]
        assert outcome["status"] == "failed"
        assert outcome["failure"]["code"] == "billing_account_missing"
        assert outcome["publish_request"]["id"] == failed.id
        assert f"publish request {failed.id}" in explained.summary
        assert "Agent Jane Doe has no billing account" in explained.summary
    assert "Publishing again now would fail the same way." in before.summary
    assert "Publishing again now would charge 250.00 USD to agent Jane Doe" in after.summary


def test_a_v1_campaign_billed_to_an_agent_fails_at_the_first_step_and_says_v1(
    container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane", billing=_JANE, version=CampaignVersion.V1)

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    (step,) = explained.resolution.steps
    assert (step.check, step.passed) == ("campaign_version", False)
    assert "Campaign V1" in step.detail
    assert explained.to_dict()["outcome"]["failure"]["code"] == "agent_billing_unavailable_v1"


def test_a_campaign_of_another_workspace_is_not_found(container: Container, world: World) -> None:
    world.campaign("cmp_1", "agent_jane")
    with pytest.raises(CampaignNotFound):
        explain_campaign(container.uow, "ws_2", "cmp_1")
    with pytest.raises(CampaignNotFound):
        explain_campaign(container.uow, "ws_1", "cmp_nope")


def test_a_declined_card_is_a_failure_of_the_record_while_the_rules_still_pass(
    container: Container, world: World, stripe_server: StripeTestServer
) -> None:
    jane = world.account(OwnerType.AGENT, "agent_jane")
    # Stripe refuses to attach its decline test cards: this one is declined once saved.
    card = jane.payment_methods[0].stripe_payment_method_id
    stripe_server.control.set_card_outcome(card, "insufficient_funds")
    world.campaign("cmp_1", "agent_jane", billing=_JANE)
    publish(container, "cmp_1")

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    outcome = explained.to_dict()["outcome"]
    assert outcome["status"] == "failed"
    assert outcome["failure"]["decline_code"] == "insufficient_funds"
    assert outcome["rules_today"] == {"status": "would_charge", "code": None}
    assert "Publishing again now would charge 250.00 USD to agent Jane Doe" in explained.summary


def test_a_card_that_needs_the_cardholder_is_waiting_for_them(
    container: Container, world: World
) -> None:
    world.account(OwnerType.AGENT, "agent_jane", card="pm_card_authenticationRequired")
    world.campaign("cmp_1", "agent_jane", billing=_JANE)
    publish(container, "cmp_1")

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    assert explained.status is OutcomeStatus.REQUIRES_ACTION
    assert explained.to_dict()["outcome"]["failure"]["code"] == "authentication_required"
    assert "is waiting for the cardholder" in explained.summary


def test_a_publish_request_not_yet_processed_is_publishing(
    container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane")
    accepted = publishing.accept_publish(
        container.uow,
        lambda _request_id: None,
        workspace_id="ws_1",
        campaign_id="cmp_1",
        request_key=None,
    )

    explained = explain_campaign(container.uow, "ws_1", "cmp_1")

    assert explained.status is OutcomeStatus.PUBLISHING
    assert f"Publish request {accepted.request.id} of campaign cmp_1 is queued" in (
        explained.summary
    )
    assert explained.to_dict()["outcome"]["charge"] is None
