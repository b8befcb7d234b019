"""The help-centre article's "Common Confusion" tickets, each answered by the service itself:
every situation is built through the HTTP API (people, "Continue to Stripe" card saving through
Stripe's webhooks, campaigns, publishing by a real worker), and the billing options, the
billing explanation or the statement must name its cause."""

from __future__ import annotations

from typing import Any

import pytest

from campaign_billing.stripe_server import StripeTestServer
from tests.e2e.harness import Api
from tests.e2e.platform import OFFICE, Platform
from tests.e2e.support_reads import (
    billing_options,
    charge_month,
    explanation,
    left_out,
    offered,
    statement,
)


@pytest.fixture
def platform(api: Api, stripe_server: StripeTestServer) -> Platform:
    """Office Downtown with its card, and admin Sam Lee over it."""
    stripe_server.control.clear_faults()
    platform = Platform(api, stripe_server).office()
    platform.user("u_sam", "Sam Lee", "admin", office=OFFICE)
    platform.account_with_card("office", OFFICE)
    return platform


def _agent_billing(billing_user_id: str) -> dict[str, Any]:
    return {"type": "agent", "billing_user_id": billing_user_id}


def test_admin_cannot_see_campaign_invoices_because_the_office_statement_excludes_agent_billing(
    platform: Platform, api: Api
) -> None:
    platform.user("u_jane", "Jane Doe", consent=True)
    jane = platform.account_with_card("agent", "u_jane")
    office_account = platform.open_account("office", OFFICE)
    platform.campaign("cmp_office", "u_sam", amount=30_000)
    platform.campaign("cmp_jane", "u_sam", _agent_billing("u_jane"), amount=45_000)
    assert platform.publish_and_wait("cmp_office")["status"] == "succeeded"
    jane_paid = platform.publish_and_wait("cmp_jane")
    assert jane_paid["status"] == "succeeded"
    months = {charge_month(api, campaign) for campaign in ("cmp_office", "cmp_jane")}
    if len(months) > 1:
        pytest.skip("the two charges fall on either side of a month's end")
    (month,) = months

    office = statement(api, office_account["id"], month)
    agent = statement(api, jane["id"], month)

    assert [line["campaign_id"] for line in office["lines"]] == ["cmp_office"]
    assert office["total"] == {"usd": 30_000}
    (excluded,) = office["excluded"]
    assert excluded["campaign_id"] == "cmp_jane"
    assert (excluded["agent_id"], excluded["agent_name"]) == ("u_jane", "Jane Doe")
    assert excluded["billing_account_id"] == jane["id"]
    assert excluded["stripe_payment_intent_id"] == jane_paid["charge"]["stripe_payment_intent_id"]
    assert "billed directly to agents (Jane Doe)" in office["note"]
    assert [line["campaign_id"] for line in agent["lines"]] == ["cmp_jane"]
    assert agent["total"] == {"usd": 45_000}


def test_wrong_person_charged_because_the_campaign_was_created_with_campaign_v1(
    platform: Platform, api: Api
) -> None:
    platform.user("u_jane", "Jane Doe", consent=True)
    platform.account_with_card("agent", "u_jane")
    platform.campaign("cmp_v1_agent", "u_jane", _agent_billing("u_jane"), version="v1")
    platform.campaign("cmp_v1_office", "u_jane", version="v1")

    refused = platform.publish_and_wait("cmp_v1_agent")
    charged = platform.publish_and_wait("cmp_v1_office")

    assert refused["status"] == "failed"
    v1_agent = explanation(api, "cmp_v1_agent")
    (version_step,) = v1_agent["steps"]
    assert version_step["check"] == "campaign_version"
    assert version_step["passed"] is False
    assert "Campaign V1, where agent billing is unavailable" in version_step["detail"]
    assert v1_agent["outcome"]["status"] == "failed"
    assert v1_agent["outcome"]["failure"]["code"] == "agent_billing_unavailable_v1"
    assert "not billed to the office instead" in v1_agent["outcome"]["summary"]

    assert charged["status"] == "succeeded"
    v1_office = explanation(api, "cmp_v1_office")
    assert (
        v1_office["steps"][0]["detail"]
        == "Campaign cmp_v1_office is a V1 campaign billed to its office."
    )
    assert v1_office["payer"]["owner_type"] == "office"
    assert v1_office["outcome"]["status"] == "charged"
    assert (
        "Campaign cmp_v1_office (V1) was charged 450.00 USD to office Downtown"
        in (v1_office["outcome"]["summary"])
    )


def test_wrong_person_charged_because_another_billing_user_was_selected(
    platform: Platform, api: Api
) -> None:
    platform.user("u_jane", "Jane Doe", consent=True)
    platform.user("u_omar", "Omar Haddad", consent=True)
    platform.account_with_card("agent", "u_jane")
    omar = platform.account_with_card("agent", "u_omar", card="5555555555554444")
    # Sam meant Jane, and picked Omar under Budget and Schedule > Billing User.
    platform.campaign("cmp_1", "u_sam", _agent_billing("u_omar"))
    published = platform.publish_and_wait("cmp_1")
    assert published["status"] == "succeeded"

    explained = explanation(api, "cmp_1")

    assert explained["billing"]["billing_user_id"] == "u_omar"
    assert explained["payer"]["owner_name"] == "Omar Haddad"
    assert explained["payer"]["billing_account_id"] == omar["id"]
    assert explained["payer"]["payment_method"]["label"].startswith("Mastercard ending 4444")
    steps = {step["check"]: step for step in explained["steps"]}
    assert (
        steps["billing_user"]["detail"] == "Billing User is agent Omar Haddad of office Downtown."
    )
    charge = explained["outcome"]["charge"]
    assert charge["stripe_payment_intent_id"] == published["charge"]["stripe_payment_intent_id"]
    assert charge["publish_request_id"] == published["id"]
    assert (
        "charged 450.00 USD to agent Omar Haddad's billing account"
        in (explained["outcome"]["summary"])
    )


def test_admin_cannot_select_an_agents_payment_method_because_the_agent_has_not_allowed_it(
    platform: Platform, api: Api
) -> None:
    platform.user("u_omar", "Omar Haddad")
    platform.account_with_card("agent", "u_omar")

    before = billing_options(api, "u_sam")
    platform.user("u_omar", "Omar Haddad", consent=True)
    after = billing_options(api, "u_sam")

    assert offered(before) == [OFFICE]
    omar = left_out(before, "u_omar")
    assert omar["code"] == "delegation_not_allowed"
    assert omar["message"].startswith(
        'Agent Omar Haddad has not enabled "Allow admins to create and invoice campaigns on my '
        'behalf"'
    )
    assert "Omar Haddad must enable" in omar["remediation"]
    assert offered(after) == [OFFICE, "u_omar"]
    # Omar himself always sees his own account, consent or not.
    assert offered(billing_options(api, "u_omar")) == [OFFICE, "u_omar"]


def test_admin_cannot_select_an_agents_payment_method_without_an_active_account_and_card(
    platform: Platform, api: Api
) -> None:
    platform.user("u_jane", "Jane Doe", consent=True)
    platform.user("u_li", "Li Wei", consent=True)
    pending = platform.open_account("agent", "u_li")

    before = billing_options(api, "u_sam")
    platform.save_card(pending["id"])
    after = billing_options(api, "u_sam")

    jane = left_out(before, "u_jane")
    assert jane["code"] == "billing_account_missing"
    assert "Agent Jane Doe has no billing account" in jane["message"]
    assert "Add a payment method > Continue to Stripe > Save" in jane["remediation"]
    li = left_out(before, "u_li")
    assert li["code"] == "billing_account_inactive"
    assert "pending setup" in li["message"]
    assert offered(after) == [OFFICE, "u_li"]
    (card,) = after["options"][1]["payment_methods"]
    assert card["is_default"] is True
