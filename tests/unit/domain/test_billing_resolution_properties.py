"""Billing resolution over generated workspaces: what must hold whatever the data looks like.

Besides checking each generated case, several properties perturb a case that resolved (withdraw
the agent's consent, spoil the card, make the campaign V1, hand over someone else's account) and
check the rules notice: a payer is the rare outcome of random data, and these perturbations are
what make each rule meet its counterexample in a hundred examples.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

from billing_builders import NOW
from billing_strategies import PROPERTIES, Case, cases, contaminated_cases
from hypothesis import Phase, find, given, settings

from campaign_billing.domain.errors import BillingFailure
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    BillingSelection,
    BillingType,
    CampaignVersion,
    OwnerType,
    PaymentMethod,
    PaymentMethodStatus,
)
from campaign_billing.domain.resolution import (
    Payer,
    PayerContext,
    Resolution,
    explain,
    resolve_payer,
)


def payer_of(ctx: PayerContext) -> Payer | None:
    return explain(ctx, NOW).payer


def outcome_of_resolve_payer(ctx: PayerContext) -> Payer | BillingFailure:
    """What `resolve_payer` returns or raises; anything else it raises fails the test."""
    try:
        return resolve_payer(ctx, NOW)
    except BillingFailure as failure:
        return failure


def rendered(resolution: Resolution) -> tuple[object, ...]:
    outcome = resolution.outcome
    return (
        resolution.steps,
        outcome.to_dict() if isinstance(outcome, BillingFailure) else outcome,
    )


def outcome_kind(resolution: Resolution) -> str:
    if resolution.failure is not None:
        return resolution.failure.code
    assert resolution.payer is not None
    return f"{resolution.payer.account.owner_type.value} pays"


def with_payer_account(ctx: PayerContext, payer: Payer, account: BillingAccount) -> PayerContext:
    """`ctx` with `account` where the adapter put the payer's account."""
    if payer.account.owner_type is OwnerType.OFFICE:
        return dataclasses.replace(ctx, office_account=account)
    return dataclasses.replace(ctx, agent_account=account)


def with_every_creator_and_billing_user(case: Case) -> Iterator[PayerContext]:
    """`case` billed to the office as if any user of the world, of any workspace, had created
    it; and billed to an agent as if any user had created it for any user as Billing User (with
    that user's own account, as the adapter would load it)."""
    ctx = case.ctx
    users = case.world.users
    for creator in users:
        office_billing = BillingSelection(BillingType.OFFICE)
        campaign = dataclasses.replace(ctx.campaign, created_by=creator.id, billing=office_billing)
        yield dataclasses.replace(ctx, campaign=campaign, creator=creator)
    for creator, billing_user in itertools.product(users, repeat=2):
        agent_billing = BillingSelection(BillingType.AGENT, billing_user_id=billing_user.id)
        campaign = dataclasses.replace(ctx.campaign, created_by=creator.id, billing=agent_billing)
        yield dataclasses.replace(
            ctx,
            campaign=campaign,
            creator=creator,
            billing_user=billing_user,
            agent_account=case.world.account_of(billing_user),
        )


def spoiled(card: PaymentMethod, selected: bool) -> Iterator[PaymentMethod]:
    """Every way `card` can stop being the one to charge."""
    yield dataclasses.replace(card, status=PaymentMethodStatus.DETACHED)
    yield dataclasses.replace(card, status=PaymentMethodStatus.EXPIRED)
    yield dataclasses.replace(card, exp_year=NOW.year - 1)
    yield dataclasses.replace(card, billing_account_id="ba_elsewhere")
    if not selected:
        yield dataclasses.replace(card, is_default=False)


@PROPERTIES
@given(cases())
def test_resolution_ends_in_a_payer_or_a_billing_failure_and_both_entry_points_agree(
    case: Case,
) -> None:
    resolution = explain(case.ctx, NOW)
    outcome = outcome_of_resolve_payer(case.ctx)

    if isinstance(outcome, BillingFailure):
        assert resolution.failure is not None
        assert type(outcome) is type(resolution.failure)
        assert outcome.to_dict() == resolution.failure.to_dict()
    else:
        assert resolution.payer == outcome


@PROPERTIES
@given(cases())
def test_an_explanation_stops_at_the_first_failed_check_and_shows_the_failure(case: Case) -> None:
    resolution = explain(case.ctx, NOW)
    passed = [step.passed for step in resolution.steps]

    if resolution.failure is None:
        assert all(passed)
        assert resolution.steps[-1].check == "payment_method"
    else:
        assert passed == [True] * (len(passed) - 1) + [False]
        assert resolution.steps[-1].detail == resolution.failure.message


@PROPERTIES
@given(cases())
def test_a_v1_campaign_never_resolves_to_an_agents_account(case: Case) -> None:
    as_v1 = dataclasses.replace(case.ctx.campaign, version=CampaignVersion.V1)

    for ctx in (case.ctx, dataclasses.replace(case.ctx, campaign=as_v1)):
        payer = payer_of(ctx)
        if payer is not None and ctx.campaign.version is CampaignVersion.V1:
            assert payer.account.owner_type is OwnerType.OFFICE


@PROPERTIES
@given(cases())
def test_an_admin_never_resolves_to_an_agents_account_without_that_agents_consent(
    case: Case,
) -> None:
    agent = case.ctx.billing_user
    withdrawn = agent and dataclasses.replace(agent, allow_admin_invoicing=False)

    for ctx in (case.ctx, dataclasses.replace(case.ctx, billing_user=withdrawn)):
        payer = payer_of(ctx)
        if payer is None or payer.account.owner_type is not OwnerType.AGENT:
            continue
        assert ctx.billing_user is not None
        assert ctx.creator is not None
        assert ctx.office is not None
        if ctx.creator.id != ctx.billing_user.id:
            assert ctx.creator.is_admin_over(ctx.office)
            assert ctx.billing_user.allow_admin_invoicing


@PROPERTIES
@given(cases())
def test_only_people_allowed_to_bill_the_payer_ever_do(case: Case) -> None:
    campaign = case.ctx.campaign

    # Whoever else had created the campaign, or been chosen as its Billing User, from any
    # workspace, the campaign resolves only for the people the help-centre article allows.
    for ctx in with_every_creator_and_billing_user(case):
        payer = payer_of(ctx)
        if payer is None:
            continue
        creator, agent, office = ctx.creator, ctx.billing_user, ctx.office
        assert creator is not None
        assert office is not None
        assert office.workspace_id == campaign.workspace_id
        assert creator.workspace_id == campaign.workspace_id
        if payer.account.owner_type is OwnerType.OFFICE:
            assert (creator.is_agent and creator.office_id == office.id) or (
                creator.is_admin_over(office)
            )
        else:
            assert agent is not None
            assert agent.workspace_id == campaign.workspace_id
            assert agent.is_agent
            assert agent.office_id == office.id
            assert creator.id == agent.id or (
                creator.is_admin_over(office) and agent.allow_admin_invoicing
            )


@PROPERTIES
@given(contaminated_cases())
def test_nothing_resolves_across_workspaces(case: Case) -> None:
    payer = payer_of(case.ctx)
    if payer is None:
        return
    campaign = case.ctx.campaign
    workspace = campaign.workspace_id
    account = payer.account

    assert account.workspace_id == workspace
    if account.owner_type is OwnerType.OFFICE:
        office = case.world.office(workspace, campaign.office_id)
        assert office is not None
        assert account.owner_id == office.id
        assert payer.owner_name == office.name
    else:
        agent = case.world.user(workspace, campaign.billing.billing_user_id)
        assert agent is not None
        assert agent.is_agent
        assert account.owner_id == agent.id
        assert payer.owner_name == agent.name
    assert payer.payment_method in account.payment_methods


@PROPERTIES
@given(contaminated_cases())
def test_objects_of_another_workspace_in_the_context_change_nothing(case: Case) -> None:
    ctx = case.ctx
    workspace = ctx.campaign.workspace_id
    own_only: dict[str, Any] = {
        field.name: None if getattr(thing, "workspace_id", workspace) != workspace else thing
        for field in dataclasses.fields(PayerContext)
        if (thing := getattr(ctx, field.name)) is not None and field.name != "campaign"
    }

    assert rendered(explain(ctx, NOW)) == rendered(
        explain(dataclasses.replace(ctx, **own_only), NOW)
    )


@PROPERTIES
@given(contaminated_cases())
def test_no_explanation_names_anyone_or_anything_of_another_workspace(case: Case) -> None:
    resolution = explain(case.ctx, NOW)
    said = [step.detail for step in resolution.steps]
    if resolution.failure is not None:
        said.append(resolution.failure.remediation)

    outsiders = case.world.names_outside(case.ctx.campaign.workspace_id)
    assert not [name for name in outsiders if any(name in text for text in said)]


@PROPERTIES
@given(cases())
def test_only_the_payers_own_active_account_is_ever_charged(case: Case) -> None:
    payer = payer_of(case.ctx)
    if payer is None:
        return
    assert payer.account.status is AccountStatus.ACTIVE
    for status in (AccountStatus.PENDING_SETUP, AccountStatus.DISABLED):
        inactive = dataclasses.replace(payer.account, status=status)
        resolution = explain(with_payer_account(case.ctx, payer, inactive), NOW)
        assert resolution.failure is not None
        assert resolution.failure.code == "billing_account_inactive"
    others = [
        account
        for account in case.world.accounts
        if (account.workspace_id, account.owner_type, account.owner_id)
        != (payer.account.workspace_id, payer.account.owner_type, payer.account.owner_id)
    ]

    for other in others:
        resolution = explain(with_payer_account(case.ctx, payer, other), NOW)
        assert resolution.failure is not None
        assert resolution.failure.code == "billing_account_missing"


@PROPERTIES
@given(cases())
def test_a_resolved_card_is_active_unexpired_on_the_account_and_the_one_chosen(
    case: Case,
) -> None:
    payer = payer_of(case.ctx)
    if payer is None:
        return
    card = payer.payment_method
    selected = case.ctx.campaign.billing.payment_method_id

    assert card.status is PaymentMethodStatus.ACTIVE
    assert not card.is_expired(NOW)
    assert card.billing_account_id == payer.account.id
    if selected:
        assert selected in (card.id, card.stripe_payment_method_id)
    else:
        assert card.is_default

    for spoilt in spoiled(card, selected=bool(selected)):
        cards = tuple(spoilt if pm is card else pm for pm in payer.account.payment_methods)
        account = dataclasses.replace(payer.account, payment_methods=cards)
        again = payer_of(with_payer_account(case.ctx, payer, account))
        assert again is None or again.payment_method.id != card.id


def test_the_generated_cases_reach_every_rule_and_both_kinds_of_payer() -> None:
    # Guards the properties above against passing vacuously on data that never gets far.
    wanted = {
        "office pays",
        "agent pays",
        "office_not_found",
        "agent_billing_unavailable_v1",
        "billing_user_missing",
        "billing_user_invalid",
        "creator_not_authorized",
        "delegation_not_allowed",
        "billing_account_missing",
        "billing_account_inactive",
        "payment_method_missing",
        "payment_method_not_on_account",
        "payment_method_expired",
    }
    seen: set[str] = set()

    def everything_seen(case: Case) -> bool:
        seen.add(outcome_kind(explain(case.ctx, NOW)))
        return seen >= wanted

    find(
        cases(),
        everything_seen,
        settings=settings(
            max_examples=2_000, phases=[Phase.generate], derandomize=True, database=None
        ),
    )
