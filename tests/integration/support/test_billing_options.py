"""Billing options, at the service level on PostgreSQL: what the "Billing User" picker may offer
an actor in an office, and every payer left out with the code publishing would report."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from campaign_billing.domain.model import Office, OwnerType, Role
from campaign_billing.services.billing_options import (
    BillingOptions,
    SubjectNotFound,
    billing_options,
)
from campaign_billing.wiring import Container
from tests.integration.support.situations import office_account, set_account_status, set_card
from tests.support.world import World


def _options(container: Container, actor_id: str, office_id: str = "off_1") -> BillingOptions:
    return billing_options(
        container.uow, workspace_id="ws_1", actor_id=actor_id, office_id=office_id
    )


def _offered(options: BillingOptions) -> list[str]:
    return [option.account.owner_id for option in options.options]


def _left_out(options: BillingOptions) -> dict[str, str]:
    return {item.owner_id: item.code for item in options.unavailable}


def test_an_admin_is_offered_the_office_and_each_agent_who_consents_with_a_usable_card(
    container: Container, world: World
) -> None:
    world.user("agent_omar", "Omar Haddad", consent=True)
    world.account(OwnerType.AGENT, "agent_omar")
    world.user("agent_jane", "Jane Doe", consent=True)

    options = _options(container, "admin_sam")

    assert _offered(options) == ["off_1", "agent_omar"]
    assert _left_out(options) == {"agent_jane": "billing_account_missing"}
    omar = options.options[1]
    assert omar.owner_name == "Omar Haddad"
    assert [card.is_default for card in omar.payment_methods] == [True]


def test_an_agent_is_offered_their_own_account_and_the_offices_but_no_other_agents(
    container: Container, world: World
) -> None:
    world.account(OwnerType.AGENT, "agent_jane")
    world.user("agent_omar", "Omar Haddad", consent=True)
    world.account(OwnerType.AGENT, "agent_omar")

    options = _options(container, "agent_jane")

    assert _offered(options) == ["off_1", "agent_jane"]
    assert _left_out(options) == {"agent_omar": "creator_not_authorized"}


def _no_account(world: World) -> None:
    pass


def _pending_setup(world: World) -> None:
    world.account(OwnerType.AGENT, "agent_jane", card=None)


def _disabled(world: World) -> None:
    set_account_status(world.container, world.account(OwnerType.AGENT, "agent_jane").id, "disabled")


def _card_removed(world: World) -> None:
    card = world.account(OwnerType.AGENT, "agent_jane").payment_methods[0]
    set_card(world.container, card.id, status="detached")


def _card_expired(world: World) -> None:
    card = world.account(OwnerType.AGENT, "agent_jane").payment_methods[0]
    set_card(world.container, card.id, expires=(1, 2020))


def _consent_off(world: World) -> None:
    world.user("agent_jane", "Jane Doe", consent=False)
    world.account(OwnerType.AGENT, "agent_jane")


@pytest.mark.parametrize(
    ("situation", "code", "words"),
    [
        (_no_account, "billing_account_missing", "has no billing account"),
        (_pending_setup, "billing_account_inactive", "pending setup"),
        (_disabled, "billing_account_inactive", "is disabled"),
        (_card_removed, "payment_method_missing", "has no active payment method"),
        (_card_expired, "payment_method_expired", "has expired"),
        (_consent_off, "delegation_not_allowed", "has not enabled"),
    ],
    ids=["no account", "pending setup", "disabled", "card removed", "card expired", "consent off"],
)
def test_an_agent_left_out_of_an_admins_picker_comes_with_the_reason_publishing_would_give(
    container: Container,
    world: World,
    situation: Callable[[World], None],
    code: str,
    words: str,
) -> None:
    world.user("agent_jane", "Jane Doe", consent=True)
    situation(world)

    options = _options(container, "admin_sam")

    assert _offered(options) == ["off_1"]
    (jane,) = options.unavailable
    assert (jane.owner_type, jane.owner_id, jane.owner_name) == (
        OwnerType.AGENT,
        "agent_jane",
        "Jane Doe",
    )
    assert jane.code == code
    assert words in jane.message
    assert "Jane Doe" in jane.message
    # Worded for a campaign not yet created, never naming the hypothetical one.
    assert "new campaign" in jane.message + jane.remediation
    assert "campaign new campaign" not in jane.message + jane.remediation


def test_a_user_of_another_office_is_offered_nothing_and_told_why(
    container: Container, world: World
) -> None:
    with container.uow() as uow:
        uow.directory.upsert_office(Office("off_2", "ws_1", "Uptown"))
        uow.commit()
    world.user("agent_ivy", "Ivy Chen", office_id="off_2")
    world.user("admin_uma", "Uma Park", Role.ADMIN, office_id="off_2")

    for actor in ("agent_ivy", "admin_uma"):
        options = _options(container, actor)
        assert options.options == ()
        assert set(_left_out(options).values()) == {"creator_not_authorized"}
        office = options.unavailable[0]
        assert "not an agent of office Downtown or an admin over it" in office.message


def test_every_active_card_of_an_offered_payer_may_be_selected_and_the_default_is_flagged(
    container: Container, world: World
) -> None:
    office = office_account(container)
    assert office.stripe_customer_id is not None
    second = world.add_card(office.id, office.stripe_customer_id, "pm_card_amex", default=False)
    removed = world.add_card(
        office.id, office.stripe_customer_id, "pm_card_discover", default=False
    )
    set_card(container, removed, status="detached")

    (option,) = _options(container, "admin_sam").options

    assert [(card.id, card.is_default) for card in option.payment_methods] == [
        (office.payment_methods[0].id, True),
        (second, False),
    ]


def test_a_payer_whose_default_card_expired_is_offered_with_its_other_cards_only(
    container: Container, world: World
) -> None:
    office = office_account(container)
    assert office.stripe_customer_id is not None
    second = world.add_card(office.id, office.stripe_customer_id, "pm_card_amex", default=False)
    set_card(container, office.payment_methods[0].id, expires=(1, 2020))

    (option,) = _options(container, "admin_sam").options

    # None flagged default: the picker must select the card.
    assert [(card.id, card.is_default) for card in option.payment_methods] == [(second, False)]


def test_an_actor_or_office_unknown_in_the_workspace_is_not_found(
    container: Container, world: World
) -> None:
    with pytest.raises(SubjectNotFound, match="User nobody"):
        _options(container, "nobody")
    with pytest.raises(SubjectNotFound, match="Office off_9"):
        _options(container, "admin_sam", "off_9")
    with pytest.raises(SubjectNotFound, match="Office off_1"):
        billing_options(container.uow, workspace_id="ws_2", actor_id="admin_sam", office_id="off_1")
