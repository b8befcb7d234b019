"""Billing options: what the "Billing User" picker may offer an actor in an office, and why every
other payer is left out.

There are no rules here. The options are the billing rules (`domain.resolution.explain`) run on
hypothetical V2 campaigns that the actor would create in the office: one with office billing,
and one with agent billing for each agent of the office (an agent actor among them). Their
context is loaded by the loader publishing uses (`load_payer_context`), so an option offered
here is one publishing accepts, and a payer left out fails publishing with the code given here.

A payer is offered with every card that, selected for the campaign, passes the rules; with no
card selected the campaign is charged to the card flagged default, when one is offered. A payer
none of whose cards would pass is left out with the failure of the campaign with no card
selected: the one publishing reports when the creator picks the payer and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.errors import BillingFailure
from campaign_billing.domain.model import (
    BillingAccount,
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    OwnerType,
    PaymentMethod,
    User,
)
from campaign_billing.domain.resolution import PayerContext, explain
from campaign_billing.services.payer_context import load_payer_context

UowFactory = Callable[[], UnitOfWork]

# The id of the campaigns the options are computed for. The rules' sentences name their
# campaign; `_for_a_new_campaign` rewrites that name into words, and this id is unlike any
# upstream id (which cannot contain spaces) so the rewrite never touches a real one.
_NEW_CAMPAIGN = "new campaign"
# The rules never look at the price; a campaign still needs a valid one.
_ANY_PRICE = Money(1, "usd")


class SubjectNotFound(Exception):
    """Raised when the actor or the office asked about is not known in the workspace."""

    def __init__(self, kind: str, subject_id: str) -> None:
        super().__init__(f"{kind} {subject_id} was not found.")
        self.kind = kind
        self.subject_id = subject_id


@dataclass(frozen=True, slots=True)
class BillingOption:
    """A payer the picker may offer, with the cards that may be selected for it."""

    account: BillingAccount
    owner_name: str
    payment_methods: tuple[PaymentMethod, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "billing_account_id": self.account.id,
            "owner_type": self.account.owner_type.value,
            "owner_id": self.account.owner_id,
            "owner_name": self.owner_name,
            "payment_methods": [card_dict(card) for card in self.payment_methods],
        }


@dataclass(frozen=True, slots=True)
class UnavailableOption:
    """A payer left out of the picker, with the failure publishing would report."""

    owner_type: OwnerType
    owner_id: str
    owner_name: str
    code: str
    message: str
    remediation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner_type": self.owner_type.value,
            "owner_id": self.owner_id,
            "owner_name": self.owner_name,
            "code": self.code,
            "message": self.message,
            "remediation": self.remediation,
        }


@dataclass(frozen=True, slots=True)
class BillingOptions:
    actor: User
    office: Office
    options: tuple[BillingOption, ...]
    unavailable: tuple[UnavailableOption, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": {"id": self.actor.id, "name": self.actor.name, "role": self.actor.role.value},
            "office": {"id": self.office.id, "name": self.office.name},
            "options": [option.to_dict() for option in self.options],
            "unavailable": [left_out.to_dict() for left_out in self.unavailable],
        }


def card_dict(card: PaymentMethod) -> dict[str, Any]:
    return {
        "id": card.id,
        "stripe_payment_method_id": card.stripe_payment_method_id,
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "is_default": card.is_default,
        "label": card.label,
    }


def billing_options(
    uow_factory: UowFactory,
    *,
    workspace_id: str,
    actor_id: str,
    office_id: str,
    now: datetime | None = None,
) -> BillingOptions:
    """The picker's options for `actor_id` creating a campaign in `office_id`: the office first,
    then the office's agents by name. Raises `SubjectNotFound` (office, then actor)."""
    at = now or datetime.now(UTC)
    with uow_factory() as uow:
        # The loader looks the office, the actor and the Billing User up once per payer; held
        # here, they come from the session, not the database (3 of its 7 queries per payer).
        held = uow.directory.hold_office_people(workspace_id, office_id, [actor_id])
        office = uow.directory.get_office(workspace_id, office_id)
        if office is None:
            raise SubjectNotFound("Office", office_id)
        actor = uow.directory.get_user(workspace_id, actor_id)
        if actor is None:
            raise SubjectNotFound("User", actor_id)
        agents = [u for u in uow.directory.users_of_office(workspace_id, office.id) if u.is_agent]
        options: list[BillingOption] = []
        unavailable: list[UnavailableOption] = []
        for owner_type, owner_id, owner_name, selection in _payers(office, agents):
            campaign = Campaign(
                id=_NEW_CAMPAIGN,
                workspace_id=workspace_id,
                office_id=office.id,
                created_by=actor.id,
                version=CampaignVersion.V2,
                price=_ANY_PRICE,
                billing=selection,
            )
            offer = _offer(load_payer_context(uow, campaign), at)
            if isinstance(offer, BillingOption):
                options.append(offer)
            else:
                unavailable.append(_left_out(owner_type, owner_id, owner_name, offer))
        del held
    return BillingOptions(actor, office, tuple(options), tuple(unavailable))


def _payers(
    office: Office, agents: list[User]
) -> list[tuple[OwnerType, str, str, BillingSelection]]:
    """Every payer the picker could show, with the billing selection that picks it."""
    return [(OwnerType.OFFICE, office.id, office.name, BillingSelection(BillingType.OFFICE))] + [
        (
            OwnerType.AGENT,
            agent.id,
            agent.name,
            BillingSelection(BillingType.AGENT, billing_user_id=agent.id),
        )
        for agent in agents
    ]


def _offer(ctx: PayerContext, now: datetime) -> BillingOption | BillingFailure:
    """The payer of `ctx` as an option, or the failure that leaves it out."""
    unselected = explain(ctx, now)
    selection = ctx.campaign.billing
    account = ctx.office_account if selection.type is BillingType.OFFICE else ctx.agent_account
    cards: list[PaymentMethod] = []
    payer = unselected.payer
    for card in account.payment_methods if account is not None else ():
        selected = replace(selection, payment_method_id=card.id)
        resolved = explain(replace(ctx, campaign=replace(ctx.campaign, billing=selected)), now)
        if resolved.payer is not None:
            cards.append(resolved.payer.payment_method)
            payer = payer or resolved.payer
    if payer is None:
        # No card passes: say why the campaign with no card selected fails, as publishing would.
        assert unselected.failure is not None
        return unselected.failure
    charged_unselected = unselected.payer.payment_method if unselected.payer else None
    if charged_unselected is not None and charged_unselected not in cards:
        cards.append(charged_unselected)
    return BillingOption(payer.account, payer.owner_name, tuple(cards))


def _left_out(
    owner_type: OwnerType, owner_id: str, owner_name: str, failure: BillingFailure
) -> UnavailableOption:
    return UnavailableOption(
        owner_type=owner_type,
        owner_id=owner_id,
        owner_name=owner_name,
        code=failure.code,
        message=_for_a_new_campaign(failure.message),
        remediation=_for_a_new_campaign(failure.remediation),
    )


def _for_a_new_campaign(sentence: str) -> str:
    """The rules' sentence about the hypothetical campaign, worded for a campaign not yet made:
    "Agent Jane Doe has no billing account, so a new campaign cannot be charged to ..."."""
    return (
        sentence.replace(f"publish campaign {_NEW_CAMPAIGN} again", "publish again")
        .replace(f"created campaign {_NEW_CAMPAIGN}", "would create a new campaign")
        .replace(f"Campaign {_NEW_CAMPAIGN}", "A new campaign")
        .replace(f"campaign {_NEW_CAMPAIGN}", "a new campaign")
    )
