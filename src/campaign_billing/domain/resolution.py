"""Billing resolution: who pays for a campaign, and with which payment method.

A pure function of the campaign, the people and accounts the adapter loaded for it, and `now`.
`explain` runs the rules and records every check in plain words; `resolve_payer` is `explain`
with the failure raised, so support's explanation and the publish path cannot disagree. The
rules read nothing but their `PayerContext`, so billing options can run them on hypothetical V2
campaigns (office billing, then agent billing for each agent) created by the actor.

Workspace isolation comes first and is structural: before any rule runs, every object of the
context that is not in the campaign's workspace, or is not the one the campaign names (its
office, its creator, its Billing User), is treated as absent. No rule can then resolve across
workspaces, and no message can reveal a name from another workspace.

The checks, in order; the steps stop at the first that fails:

1. `campaign_version`: a V1 campaign with agent billing fails `agent_billing_unavailable_v1`
   (never billed to the office instead). First, because it depends on the campaign alone and is
   the real cause whatever else is wrong: "wrong person charged" starts with "was it V1?".
2. `office`: the campaign's office is known in its workspace, else `office_not_found` (a code of
   our own: every later rule is relative to that office).
3. Who may bill whom. Office billing: `creator` is an agent of the office or an admin over it,
   else `creator_not_authorized`; the payer is the office. Agent billing: `billing_user` is
   named, else `billing_user_missing`, and is an agent of the campaign's office, else
   `billing_user_invalid` (first, because who may bill depends on who is billed); then
   `creator` is the Billing User or an admin over the office, else `creator_not_authorized`;
   then, for an admin, `delegation`: the agent has enabled "Allow admins to create and invoice
   campaigns on my behalf", else `delegation_not_allowed`; the payer is the agent.
   This comes before the account: a creator who may not bill this payer must hear that, not be
   sent to set up someone else's account, and billing options then leave an agent out for
   "consent off", the first item of the help-centre article's checklist.
4. `billing_account`: the payer's account, in the workspace and owned by the payer, else
   `billing_account_missing`.
5. `billing_account_status`: active, else `billing_account_inactive` (pending setup, disabled).
6. `payment_method`: the selected one (our id or Stripe's `pm_...`), which must be on the account
   (`payment_method_not_on_account`), not removed (`payment_method_missing`) and not expired
   (`payment_method_expired`); with no selection, the account's default, which must not be
   expired (`payment_method_expired`) and must exist (`payment_method_missing`).

With no selection and no default, an active non-default card is NOT charged: Stripe charges
exactly the payment method we pass, and nobody chose that card for this campaign (the payer did
not make it the default, the creator did not select it). The failure says such cards exist and
how to make one the default or select it. A billing selection of `office` may also name one of the
office's cards; a Billing User named on an office-billed campaign is ignored. A blank id counts as
no id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from campaign_billing.domain.errors import (
    AgentBillingUnavailableV1,
    BillingAccountInactive,
    BillingAccountMissing,
    BillingFailure,
    BillingUserInvalid,
    BillingUserMissing,
    CreatorNotAuthorized,
    DelegationNotAllowed,
    OfficeNotFound,
    PaymentMethodExpired,
    PaymentMethodMissing,
    PaymentMethodNotOnAccount,
    owner_label,
    upper_first,
)
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    BillingType,
    Campaign,
    CampaignVersion,
    Office,
    OwnerType,
    PaymentMethod,
    PaymentMethodStatus,
    User,
)


@dataclass(frozen=True, slots=True)
class PayerContext:
    """What the adapter loaded for a campaign. Any part may be missing, or belong to another
    workspace, because upstream data is messy: the rules check, they do not trust."""

    campaign: Campaign
    office: Office | None
    creator: User | None
    # The user named by the campaign's billing selection (agent billing).
    billing_user: User | None
    office_account: BillingAccount | None
    # The Billing User's account.
    agent_account: BillingAccount | None


@dataclass(frozen=True, slots=True)
class Payer:
    """Who is charged for a campaign, and with which payment method."""

    account: BillingAccount
    payment_method: PaymentMethod
    owner_name: str
    billing_type: BillingType


class Check(StrEnum):
    CAMPAIGN_VERSION = "campaign_version"
    OFFICE = "office"
    BILLING_USER = "billing_user"
    CREATOR = "creator"
    DELEGATION = "delegation"
    BILLING_ACCOUNT = "billing_account"
    BILLING_ACCOUNT_STATUS = "billing_account_status"
    PAYMENT_METHOD = "payment_method"


@dataclass(frozen=True, slots=True)
class Step:
    """One check of the resolution, in plain words for support staff."""

    check: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """Every check made, in order up to the first that failed, and the outcome."""

    steps: tuple[Step, ...]
    outcome: Payer | BillingFailure

    @property
    def payer(self) -> Payer | None:
        return self.outcome if isinstance(self.outcome, Payer) else None

    @property
    def failure(self) -> BillingFailure | None:
        return self.outcome if isinstance(self.outcome, BillingFailure) else None


def explain(ctx: PayerContext, now: datetime) -> Resolution:
    """Resolve the payer of `ctx.campaign` and say why, step by step. Never raises a
    `BillingFailure`: it is the outcome."""
    trail = _Trail()
    try:
        payer = _resolve(ctx, now, trail)
    except BillingFailure as failure:
        # The traceback would keep the rules' frames (and the whole context) alive in a value.
        return Resolution(tuple(trail.steps), failure.with_traceback(None))
    return Resolution(tuple(trail.steps), payer)


def resolve_payer(ctx: PayerContext, now: datetime) -> Payer:
    """The payer of `ctx.campaign`; raises the `BillingFailure` that `explain` reports."""
    outcome = explain(ctx, now).outcome
    if isinstance(outcome, BillingFailure):
        raise outcome
    return outcome


class _Trail:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def passed(self, check: Check, detail: str) -> None:
        self.steps.append(Step(check=check, passed=True, detail=detail))

    def failed(self, check: Check, failure: BillingFailure) -> BillingFailure:
        """Record the failed check and hand back the failure for the caller to raise."""
        self.steps.append(Step(check=check, passed=False, detail=failure.message))
        return failure


@dataclass(frozen=True, slots=True)
class _Owner:
    """The payer chosen by the billing selection, before its account is looked at."""

    type: OwnerType
    id: str
    name: str

    @property
    def label(self) -> str:
        return owner_label(self.type, self.name)


class _InWorkspace(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...


_T = TypeVar("_T", bound=_InWorkspace)


def _in_workspace(candidate: _T | None, workspace_id: str) -> _T | None:
    if candidate is None or candidate.workspace_id != workspace_id:
        return None
    return candidate


def _named(candidate: _T | None, workspace_id: str, named_id: str | None) -> _T | None:
    """`candidate` if it is the one the campaign names, in the campaign's workspace."""
    if candidate is None or named_id is None or candidate.id != named_id:
        return None
    return _in_workspace(candidate, workspace_id)


def _resolve(ctx: PayerContext, now: datetime, trail: _Trail) -> Payer:
    campaign = ctx.campaign
    workspace_id = campaign.workspace_id
    office = _named(ctx.office, workspace_id, campaign.office_id)
    creator = _named(ctx.creator, workspace_id, campaign.created_by)
    billing_user = _named(ctx.billing_user, workspace_id, campaign.billing.billing_user_id)

    _check_version(campaign, billing_user, trail)
    office = _check_office(campaign, office, trail)
    if campaign.billing.type is BillingType.OFFICE:
        _check_office_creator(campaign, office, creator, trail)
        owner = _Owner(OwnerType.OFFICE, office.id, office.name)
        candidate = ctx.office_account
    else:
        agent = _check_billing_user(campaign, office, billing_user, trail)
        _check_agent_creator(campaign, office, agent, creator, trail)
        owner = _Owner(OwnerType.AGENT, agent.id, agent.name)
        candidate = ctx.agent_account

    account = _check_account(campaign, owner, _in_workspace(candidate, workspace_id), trail)
    payment_method = _check_payment_method(campaign, owner, account, now, trail)
    return Payer(
        account=account,
        payment_method=payment_method,
        owner_name=owner.name,
        billing_type=campaign.billing.type,
    )


def _check_version(campaign: Campaign, billing_user: User | None, trail: _Trail) -> None:
    version = campaign.version.value.upper()
    if campaign.billing.type is BillingType.OFFICE:
        trail.passed(
            Check.CAMPAIGN_VERSION,
            f"Campaign {campaign.id} is a {version} campaign billed to its office.",
        )
    elif campaign.version is CampaignVersion.V1:
        agent_name = (
            billing_user.name if billing_user is not None and billing_user.is_agent else None
        )
        raise trail.failed(
            Check.CAMPAIGN_VERSION,
            AgentBillingUnavailableV1(campaign_id=campaign.id, billing_user=agent_name),
        )
    else:
        trail.passed(
            Check.CAMPAIGN_VERSION,
            f"Campaign {campaign.id} is a {version} campaign: agent billing is available.",
        )


def _check_office(campaign: Campaign, office: Office | None, trail: _Trail) -> Office:
    if office is None:
        raise trail.failed(
            Check.OFFICE, OfficeNotFound(campaign_id=campaign.id, office_id=campaign.office_id)
        )
    trail.passed(Check.OFFICE, f"Campaign {campaign.id} belongs to office {office.name}.")
    return office


def _person(user: User) -> str:
    return f"{user.role.value} {user.name}"


def _creator_label(campaign: Campaign, creator: User | None) -> str:
    if creator is None:
        return f"user {campaign.created_by} (not known in this workspace)"
    return _person(creator)


def _check_office_creator(
    campaign: Campaign, office: Office, creator: User | None, trail: _Trail
) -> None:
    if creator is not None and creator.is_agent and creator.office_id == office.id:
        relation = f"an agent of office {office.name}"
    elif creator is not None and creator.is_admin_over(office):
        relation = f"an admin over office {office.name}"
    else:
        raise trail.failed(
            Check.CREATOR,
            CreatorNotAuthorized(
                campaign_id=campaign.id,
                creator=_creator_label(campaign, creator),
                payer=f"office {office.name}",
                allowed=f"an agent of office {office.name} or an admin over it",
            ),
        )
    trail.passed(
        Check.CREATOR, f"{upper_first(_person(creator))} created the campaign and is {relation}."
    )


def _check_billing_user(
    campaign: Campaign, office: Office, billing_user: User | None, trail: _Trail
) -> User:
    billing_user_id = campaign.billing.billing_user_id
    if billing_user_id is None or not billing_user_id.strip():
        raise trail.failed(Check.BILLING_USER, BillingUserMissing(campaign_id=campaign.id))
    if billing_user is None:
        label, reason = billing_user_id, "is not known in this workspace"
    elif not billing_user.is_agent:
        label, reason = billing_user.name, f"is an admin, not an agent of office {office.name}"
    elif billing_user.office_id != office.id:
        label = billing_user.name
        reason = f"is an agent of office {billing_user.office_id}, not of office {office.name}"
    else:
        trail.passed(
            Check.BILLING_USER,
            f"Billing User is agent {billing_user.name} of office {office.name}.",
        )
        return billing_user
    raise trail.failed(
        Check.BILLING_USER,
        BillingUserInvalid(
            campaign_id=campaign.id, billing_user=label, office_name=office.name, reason=reason
        ),
    )


def _check_agent_creator(
    campaign: Campaign, office: Office, agent: User, creator: User | None, trail: _Trail
) -> None:
    if creator is not None and creator.id == agent.id:
        trail.passed(
            Check.CREATOR, f"Agent {agent.name} created the campaign and is the Billing User."
        )
        return
    if creator is None or not creator.is_admin_over(office):
        raise trail.failed(
            Check.CREATOR,
            CreatorNotAuthorized(
                campaign_id=campaign.id,
                creator=_creator_label(campaign, creator),
                payer=f"agent {agent.name}",
                allowed=f"the Billing User {agent.name} or an admin over office {office.name}",
            ),
        )
    trail.passed(
        Check.CREATOR,
        f"Admin {creator.name} created the campaign and is an admin over office {office.name}.",
    )
    if not agent.allow_admin_invoicing:
        raise trail.failed(
            Check.DELEGATION,
            DelegationNotAllowed(
                campaign_id=campaign.id, agent_name=agent.name, admin_name=creator.name
            ),
        )
    trail.passed(
        Check.DELEGATION,
        f'{agent.name} has enabled "Allow admins to create and invoice campaigns on my behalf".',
    )


def _check_account(
    campaign: Campaign, owner: _Owner, account: BillingAccount | None, trail: _Trail
) -> BillingAccount:
    if account is None or account.owner_type is not owner.type or account.owner_id != owner.id:
        raise trail.failed(
            Check.BILLING_ACCOUNT,
            BillingAccountMissing(
                campaign_id=campaign.id, owner_type=owner.type, owner_name=owner.name
            ),
        )
    trail.passed(
        Check.BILLING_ACCOUNT, f"{upper_first(owner.label)} has billing account {account.id}."
    )
    if account.status is not AccountStatus.ACTIVE:
        raise trail.failed(
            Check.BILLING_ACCOUNT_STATUS,
            BillingAccountInactive(
                campaign_id=campaign.id,
                owner_type=owner.type,
                owner_name=owner.name,
                account_id=account.id,
                account_status=account.status,
            ),
        )
    trail.passed(
        Check.BILLING_ACCOUNT_STATUS,
        f"{upper_first(owner.label)}'s billing account {account.id} is active.",
    )
    return account


def _check_payment_method(
    campaign: Campaign, owner: _Owner, account: BillingAccount, now: datetime, trail: _Trail
) -> PaymentMethod:
    selected_id = campaign.billing.payment_method_id
    if selected_id is not None and selected_id.strip():
        return _check_selected(campaign, owner, account, selected_id, now, trail)
    return _check_default(campaign, owner, account, now, trail)


def _on_account(account: BillingAccount) -> tuple[PaymentMethod, ...]:
    # A card recorded against another account must never be charged as this one's.
    return tuple(pm for pm in account.payment_methods if pm.billing_account_id == account.id)


def _check_selected(
    campaign: Campaign,
    owner: _Owner,
    account: BillingAccount,
    selected_id: str,
    now: datetime,
    trail: _Trail,
) -> PaymentMethod:
    found = account.find_payment_method(selected_id)
    if found is None or found.billing_account_id != account.id:
        raise trail.failed(
            Check.PAYMENT_METHOD,
            PaymentMethodNotOnAccount(
                campaign_id=campaign.id,
                payment_method_id=selected_id,
                owner_type=owner.type,
                owner_name=owner.name,
                account_id=account.id,
            ),
        )
    if found.status is PaymentMethodStatus.DETACHED:
        raise trail.failed(
            Check.PAYMENT_METHOD,
            PaymentMethodMissing(
                campaign_id=campaign.id,
                owner_type=owner.type,
                owner_name=owner.name,
                account_id=account.id,
                removed_card=found.label,
            ),
        )
    if not found.is_usable(now):
        raise trail.failed(
            Check.PAYMENT_METHOD,
            PaymentMethodExpired(
                campaign_id=campaign.id,
                card=found.label,
                owner_type=owner.type,
                owner_name=owner.name,
                selected=True,
            ),
        )
    trail.passed(
        Check.PAYMENT_METHOD,
        f"{found.label} was selected for the campaign, is active and is on billing account "
        f"{account.id}.",
    )
    return found


def _check_default(
    campaign: Campaign, owner: _Owner, account: BillingAccount, now: datetime, trail: _Trail
) -> PaymentMethod:
    cards = _on_account(account)
    # A removed card that still carries the default flag is stale data, not a default.
    defaults = [
        pm for pm in cards if pm.is_default and pm.status is not PaymentMethodStatus.DETACHED
    ]
    usable_default = next((pm for pm in defaults if pm.is_usable(now)), None)
    if usable_default is not None:
        trail.passed(Check.PAYMENT_METHOD, f"{usable_default.label} is active and is the default.")
        return usable_default
    if defaults:
        raise trail.failed(
            Check.PAYMENT_METHOD,
            PaymentMethodExpired(
                campaign_id=campaign.id,
                card=defaults[0].label,
                owner_type=owner.type,
                owner_name=owner.name,
                selected=False,
            ),
        )
    raise trail.failed(
        Check.PAYMENT_METHOD,
        PaymentMethodMissing(
            campaign_id=campaign.id,
            owner_type=owner.type,
            owner_name=owner.name,
            account_id=account.id,
            other_active_cards=sum(1 for pm in cards if pm.is_usable(now)),
        ),
    )
