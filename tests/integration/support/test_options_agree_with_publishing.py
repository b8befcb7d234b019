"""Billing options never disagree with publishing, over generated situations.

Hypothesis builds an office (its account and cards in every state), agents (consent on or off,
accounts and cards in every state) and an actor (an admin of the office or of the workspace, an
agent of the office, or someone of another office), in a workspace of its own on PostgreSQL.
Then, for every payer the picker may or may not show, a campaign is created by the actor and
published through the real use cases, charging through the Stripe test server:

- an offered payer, with any one of its offered cards selected (or none, when one is the
  default), publishes and is charged on that card;
- a payer left out, with no card selected, fails publishing with the code the options gave,
  and Stripe is never called.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_billing.adapters.orm import PaymentMethodRow
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    OwnerType,
    Role,
    User,
    Workspace,
)
from campaign_billing.domain.publishing import PublishStatus
from campaign_billing.ids import new_id
from campaign_billing.services.billing_options import BillingOptions, billing_options
from campaign_billing.stripe_server import StripeTestServer
from campaign_billing.wiring import Container
from tests.integration.support.situations import publish

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
_SITUATIONS = itertools.count()

# (status, exp_month, exp_year) of a stored card, relative to NOW.
CARD_STATES = {
    "active": ("active", 12, 2030),
    "expires_this_month": ("active", 6, 2026),
    "expired_last_month": ("active", 5, 2026),
    "marked_expired": ("expired", 12, 2030),
    "detached": ("detached", 12, 2030),
}


@dataclass(frozen=True)
class AccountSpec:
    status: AccountStatus
    cards: tuple[str, ...]
    default: int | None


@dataclass(frozen=True)
class AgentSpec:
    consent: bool
    account: AccountSpec | None


@dataclass(frozen=True)
class Situation:
    office_account: AccountSpec | None
    agents: tuple[AgentSpec, ...]
    # "office_admin", "workspace_admin", "other_admin", "other_agent", or an agent's index.
    actor: str | int


@st.composite
def account_specs(draw: st.DrawFn) -> AccountSpec | None:
    # Weighted towards accounts that can pay (hypothesis favours the first choice of each), so
    # that offered payers are as common as left-out ones.
    if not draw(st.sampled_from([True, True, True, False])):
        return None
    status = draw(st.sampled_from([AccountStatus.ACTIVE, AccountStatus.ACTIVE, *AccountStatus]))
    states = st.sampled_from(["active", "active", *CARD_STATES])
    cards = tuple(draw(st.lists(states, min_size=draw(st.sampled_from([1, 1, 0])), max_size=2)))
    default = draw(st.integers(0, len(cards) - 1) | st.none()) if cards else None
    return AccountSpec(status, cards, default)


@st.composite
def situations(draw: st.DrawFn) -> Situation:
    agents = tuple(
        AgentSpec(draw(st.booleans()), draw(account_specs()))
        for _ in range(draw(st.integers(1, 3)))
    )
    actor: str | int = draw(
        st.sampled_from(["office_admin", "workspace_admin", "agent", "other_admin", "other_agent"])
    )
    if actor == "agent":
        actor = draw(st.integers(0, len(agents) - 1))
    return Situation(draw(account_specs()), agents, actor)


class Built:
    """A situation stored in a fresh workspace, and the Stripe test server's customers."""

    def __init__(self, container: Container, situation: Situation) -> None:
        self.container = container
        n = next(_SITUATIONS)
        self.workspace, self.office, self.other_office = f"ws_p{n}", f"off_p{n}", f"off_q{n}"
        self.agents = [f"agent_p{n}_{i}" for i in range(len(situation.agents))]
        actors = {
            "office_admin": f"admin_p{n}",
            "workspace_admin": f"boss_p{n}",
            "other_admin": f"admin_q{n}",
            "other_agent": f"agent_q{n}",
        }
        actor = situation.actor
        self.actor = self.agents[actor] if isinstance(actor, int) else actors[actor]
        with container.uow() as uow:
            uow.directory.upsert_workspace(Workspace(self.workspace, "Generated Realty"))
            uow.directory.upsert_office(Office(self.office, self.workspace, "Downtown"))
            uow.directory.upsert_office(Office(self.other_office, self.workspace, "Uptown"))
            people = [
                (actors["office_admin"], Role.ADMIN, self.office),
                (actors["workspace_admin"], Role.ADMIN, None),
                (actors["other_admin"], Role.ADMIN, self.other_office),
                (actors["other_agent"], Role.AGENT, self.other_office),
            ] + [(agent, Role.AGENT, self.office) for agent in self.agents]
            for user_id, role, office in people:
                uow.directory.upsert_user(
                    User(user_id, self.workspace, f"Name {user_id}", "x@example.com", role, office)
                )
            for agent, spec in zip(self.agents, situation.agents, strict=True):
                uow.directory.set_admin_invoicing(self.workspace, agent, spec.consent)
            uow.commit()
        self._account(OwnerType.OFFICE, self.office, situation.office_account)
        for agent, spec in zip(self.agents, situation.agents, strict=True):
            self._account(OwnerType.AGENT, agent, spec.account)

    def _account(self, owner_type: OwnerType, owner_id: str, spec: AccountSpec | None) -> None:
        if spec is None:
            return
        stripe = self.container.stripe_client.v1
        customer = stripe.customers.create(params={"name": owner_id})
        account_id = new_id("ba")
        with self.container.uow() as uow:
            uow.accounts.add(
                BillingAccount(
                    account_id, self.workspace, owner_type, owner_id, spec.status, customer.id
                )
            )
            for index, state in enumerate(spec.cards):
                method = stripe.payment_methods.attach(
                    "pm_card_visa", params={"customer": customer.id}
                )
                status, exp_month, exp_year = CARD_STATES[state]
                uow.accounts.add_payment_method_row(
                    PaymentMethodRow(
                        id=new_id("pm"),
                        billing_account_id=account_id,
                        stripe_payment_method_id=method.id,
                        brand="visa",
                        last4="4242",
                        exp_month=exp_month,
                        exp_year=exp_year,
                        status=status,
                        is_default=index == spec.default,
                    )
                )
            uow.commit()

    def campaign(self, campaign_id: str, billing: BillingSelection) -> None:
        with self.container.uow() as uow:
            uow.directory.upsert_campaign(
                Campaign(
                    campaign_id,
                    self.workspace,
                    self.office,
                    self.actor,
                    CampaignVersion.V2,
                    Money(5_000, "usd"),
                    billing,
                )
            )
            uow.commit()


def _selection(owner_type: OwnerType, owner_id: str, card: str | None) -> BillingSelection:
    if owner_type is OwnerType.OFFICE:
        return BillingSelection(BillingType.OFFICE, payment_method_id=card)
    return BillingSelection(BillingType.AGENT, billing_user_id=owner_id, payment_method_id=card)


@pytest.mark.usefixtures("clean_db")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(situation=situations())
def test_an_offered_payer_publishes_and_a_left_out_one_fails_publishing_with_the_same_code(
    container: Container,
    stripe_server: StripeTestServer,
    situation: Situation,
) -> None:
    built = Built(container, situation)
    options: BillingOptions = billing_options(
        container.uow,
        workspace_id=built.workspace,
        actor_id=built.actor,
        office_id=built.office,
        now=NOW,
    )
    offered = {option.account.owner_id for option in options.options}
    left_out = {item.owner_id for item in options.unavailable}
    assert offered | left_out == {built.office, *built.agents}
    assert not offered & left_out

    for number, option in enumerate(options.options):
        cards = option.payment_methods
        default = next((card.id for card in cards if card.is_default), None)
        # Every card offered, selected; and no card at all when one is flagged the default.
        choices = [card.id for card in cards] + ([None] if default else [])
        for choice, chosen in enumerate(choices):
            campaign_id = f"{built.workspace}_offered_{number}_{choice}"
            owner = option.account
            built.campaign(campaign_id, _selection(owner.owner_type, owner.owner_id, chosen))

            request = publish(container, campaign_id, workspace_id=built.workspace, now=lambda: NOW)

            assert request.status is PublishStatus.SUCCEEDED, request.failure
            assert request.charge is not None
            assert request.charge.billing_account_id == option.account.id
            assert request.charge.payment_method_id == (chosen or default)

    for number, item in enumerate(options.unavailable):
        campaign_id = f"{built.workspace}_left_out_{number}"
        built.campaign(campaign_id, _selection(item.owner_type, item.owner_id, None))

        request = publish(container, campaign_id, workspace_id=built.workspace, now=lambda: NOW)

        assert request.status is PublishStatus.FAILED
        assert request.failure is not None
        assert request.failure["code"] == item.code
        assert request.charge is None
