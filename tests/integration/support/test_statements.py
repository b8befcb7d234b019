"""Statements, at the service level on PostgreSQL: an account's succeeded charges of one UTC
month with totals, and on an office's statement the office's campaigns that agents paid for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaign_billing.domain.model import (
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    OwnerType,
)
from campaign_billing.services.statements import Statement, StatementMonth, statement
from campaign_billing.wiring import Container
from tests.integration.support.situations import move_charge, office_account, publish
from tests.support.world import World

MAY = StatementMonth(2026, 5)


def _statement(container: Container, account_id: str, month: StatementMonth = MAY) -> Statement:
    found = statement(container.uow, "ws_1", account_id, month)
    assert found is not None
    return found


def _charged_in_may(container: Container, world: World, campaign_id: str, day: int) -> str:
    request = publish(container, campaign_id)
    assert request.status.value == "succeeded", request.failure
    move_charge(container, request.id, datetime(2026, 5, day, 12, tzinfo=UTC))
    return request.id


def test_an_office_statement_lists_its_charges_of_the_month_and_excludes_agent_billed_ones(
    container: Container, world: World
) -> None:
    world.user("agent_jane", "Jane Doe", consent=True)
    jane = world.account(OwnerType.AGENT, "agent_jane")
    office = office_account(container)
    world.campaign("cmp_office_1", "agent_jane", amount=10_000)
    world.campaign("cmp_office_2", "admin_sam", amount=2_500)
    world.campaign(
        "cmp_jane",
        "admin_sam",
        amount=7_000,
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    world.campaign("cmp_june", "agent_jane", amount=99_999)
    first = _charged_in_may(container, world, "cmp_office_1", 3)
    _charged_in_may(container, world, "cmp_office_2", 31)
    jane_request = _charged_in_may(container, world, "cmp_jane", 10)
    june = publish(container, "cmp_june")
    move_charge(container, june.id, datetime(2026, 6, 1, tzinfo=UTC))

    office_may = _statement(container, office.id).to_dict()

    assert [line["campaign_id"] for line in office_may["lines"]] == [
        "cmp_office_1",
        "cmp_office_2",
    ]
    assert office_may["lines"][0]["publish_request_id"] == first
    assert office_may["lines"][0]["stripe_payment_intent_id"].startswith("pi_")
    assert office_may["total"] == {"usd": 12_500}
    (excluded,) = office_may["excluded"]
    assert excluded["campaign_id"] == "cmp_jane"
    assert (excluded["agent_id"], excluded["agent_name"]) == ("agent_jane", "Jane Doe")
    assert excluded["billing_account_id"] == jane.id
    assert excluded["publish_request_id"] == jane_request
    assert "billed directly to agents (Jane Doe)" in office_may["note"]

    jane_may = _statement(container, jane.id).to_dict()
    assert [line["campaign_id"] for line in jane_may["lines"]] == ["cmp_jane"]
    assert jane_may["total"] == {"usd": 7_000}
    assert jane_may["excluded"] == []


def test_a_month_without_charges_is_an_empty_statement(container: Container, world: World) -> None:
    empty = _statement(container, office_account(container).id).to_dict()
    assert (empty["lines"], empty["total"], empty["excluded"]) == ([], {}, [])
    assert "No campaign of the office was billed to an agent" in empty["note"]


def test_an_account_of_another_workspace_has_no_statement(
    container: Container, world: World
) -> None:
    assert statement(container.uow, "ws_2", office_account(container).id, MAY) is None


@pytest.mark.parametrize("text", ["2026-5", "2026-13", "2026-00", "26-05", "0999-01", "2026-05x"])
def test_a_month_that_is_not_yyyy_mm_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        StatementMonth.parse(text)


def test_a_december_statement_ends_at_the_new_year() -> None:
    december = StatementMonth.parse("2026-12")
    assert december.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert december.end == datetime(2027, 1, 1, tzinfo=UTC)
    assert str(december) == "2026-12"


def test_an_office_statement_excludes_only_its_own_offices_agent_billed_campaigns(
    container: Container, world: World
) -> None:
    with container.uow() as uow:
        uow.directory.upsert_office(Office("off_2", "ws_1", "Uptown"))
        uow.commit()
    world.user("agent_ivy", "Ivy Chen", office_id="off_2")
    world.account(OwnerType.AGENT, "agent_ivy")
    with container.uow() as uow:
        uow.directory.upsert_campaign(
            Campaign(
                "cmp_uptown",
                "ws_1",
                "off_2",
                "agent_ivy",
                CampaignVersion.V2,
                Money(4_000, "usd"),
                BillingSelection(BillingType.AGENT, billing_user_id="agent_ivy"),
            )
        )
        uow.commit()
    _charged_in_may(container, world, "cmp_uptown", 5)

    assert _statement(container, office_account(container).id).excluded == ()
