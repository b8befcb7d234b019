"""The billing explanation of a campaign: who was, or would be, charged, and why.

Two kinds of facts, never mixed up:

- what happened, read from the records: the charge (account, card, amount, PaymentIntent,
  publish request, when) and the latest publish request with its failure;
- what the billing rules say on today's data, step by step: the same `domain.resolution.explain`
  that publishing runs, on the context publishing loads (`load_payer_context`).

For a charged campaign both are shown, and the summary says when today's rules would pick
someone else (the campaign's billing selection, or a person's settings, changed since).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.errors import CampaignNotFound, owner_label
from campaign_billing.domain.model import BillingAccount, Campaign, PaymentMethod
from campaign_billing.domain.publishing import Charge, ChargeStatus, PublishRequest, PublishStatus
from campaign_billing.domain.resolution import Payer, Resolution, explain
from campaign_billing.services.billing_options import card_dict
from campaign_billing.services.payer_context import load_payer_context, owner_name

UowFactory = Callable[[], UnitOfWork]


class OutcomeStatus(StrEnum):
    """Where the campaign stands, from the records first, then from the rules."""

    CHARGED = "charged"
    # A charge is with Stripe (pending), or Stripe never confirmed it (unknown, reconciling).
    CHARGE_PENDING = "charge_pending"
    # A publish request is queued or being processed, and has not charged yet.
    PUBLISHING = "publishing"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"
    # Never published: what publishing now would do.
    WOULD_CHARGE = "would_charge"
    WOULD_FAIL = "would_fail"


@dataclass(frozen=True, slots=True)
class ChargedPayer:
    """The account and card a charge went to, as recorded."""

    account: BillingAccount
    owner_name: str
    payment_method: PaymentMethod | None


@dataclass(frozen=True, slots=True)
class Explanation:
    campaign: Campaign
    # The rules on today's data.
    resolution: Resolution
    latest_request: PublishRequest | None
    # The campaign's charge that succeeded or is in flight, and who it went to.
    charge: Charge | None
    charged: ChargedPayer | None
    status: OutcomeStatus
    summary: str

    def to_dict(self) -> dict[str, Any]:
        campaign = self.campaign
        return {
            "campaign_id": campaign.id,
            "workspace_id": campaign.workspace_id,
            "office_id": campaign.office_id,
            "created_by": campaign.created_by,
            "version": campaign.version.value,
            "amount": campaign.price.amount,
            "currency": campaign.price.currency,
            "billing": {
                "type": campaign.billing.type.value,
                "billing_user_id": campaign.billing.billing_user_id,
                "payment_method_id": campaign.billing.payment_method_id,
            },
            "published": campaign.published,
            "payer": self._payer(),
            "steps": [
                {"check": str(step.check), "passed": step.passed, "detail": step.detail}
                for step in self.resolution.steps
            ],
            "outcome": self._outcome(),
        }

    def _payer(self) -> dict[str, Any] | None:
        """Who was charged (the record) or, with no charge, who the rules pick today."""
        if self.charged is not None:
            return _payer_dict(
                "charge",
                self.charged.account,
                self.charged.owner_name,
                self.charged.payment_method,
            )
        payer = self.resolution.payer
        if payer is None:
            return None
        return _payer_dict("rules", payer.account, payer.owner_name, payer.payment_method)

    def _outcome(self) -> dict[str, Any]:
        failure: dict[str, Any] | None = None
        if self.status in (OutcomeStatus.FAILED, OutcomeStatus.REQUIRES_ACTION):
            failure = self.latest_request.failure if self.latest_request else None
        elif self.status is OutcomeStatus.WOULD_FAIL and self.resolution.failure is not None:
            failure = self.resolution.failure.to_dict()
        today = self.resolution.failure
        return {
            "status": self.status.value,
            "summary": self.summary,
            "failure": failure,
            "charge": _charge_dict(self.charge) if self.charge is not None else None,
            "publish_request": _request_dict(self.latest_request),
            "rules_today": {
                "status": "would_fail" if today is not None else "would_charge",
                "code": today.code if today is not None else None,
            },
        }


def explain_campaign(
    uow_factory: UowFactory, workspace_id: str, campaign_id: str, *, now: datetime | None = None
) -> Explanation:
    """Raises `CampaignNotFound`."""
    at = now or datetime.now(UTC)
    with uow_factory() as uow:
        campaign = uow.directory.get_campaign(workspace_id, campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id)
        resolution = explain(load_payer_context(uow, campaign), at)
        requests = uow.publishing.for_campaign(campaign.id)
        latest = requests[-1] if requests else None
        charge = uow.publishing.live_charge_for_campaign(campaign.id)
        charged = _charged_payer(uow, charge) if charge is not None else None
    status = _status(resolution, latest, charge)
    summary = _summary(campaign, status, resolution, latest, charge, charged)
    return Explanation(campaign, resolution, latest, charge, charged, status, summary)


def _charged_payer(uow: UnitOfWork, charge: Charge) -> ChargedPayer | None:
    account = uow.accounts.get(None, charge.billing_account_id)
    if account is None:
        return None
    return ChargedPayer(
        account, owner_name(uow, account), account.find_payment_method(charge.payment_method_id)
    )


def _status(
    resolution: Resolution, latest: PublishRequest | None, charge: Charge | None
) -> OutcomeStatus:
    if charge is not None and charge.status is ChargeStatus.SUCCEEDED:
        return OutcomeStatus.CHARGED
    if charge is not None:
        return OutcomeStatus.CHARGE_PENDING
    if latest is not None:
        match latest.status:
            case PublishStatus.QUEUED | PublishStatus.PROCESSING:
                return OutcomeStatus.PUBLISHING
            case PublishStatus.REQUIRES_ACTION:
                return OutcomeStatus.REQUIRES_ACTION
            case PublishStatus.FAILED:
                return OutcomeStatus.FAILED
            case PublishStatus.SUCCEEDED:
                # Succeeded without a charge of its own: answered with an earlier result.
                return OutcomeStatus.CHARGED
    return OutcomeStatus.WOULD_CHARGE if resolution.payer else OutcomeStatus.WOULD_FAIL


def _summary(
    campaign: Campaign,
    status: OutcomeStatus,
    resolution: Resolution,
    latest: PublishRequest | None,
    charge: Charge | None,
    charged: ChargedPayer | None,
) -> str:
    price = str(campaign.price)
    match status:
        case OutcomeStatus.CHARGED if charge is not None:
            when = (
                charge.succeeded_at.isoformat(timespec="seconds")
                if charge.succeeded_at
                else "an unknown time"
            )
            first = (
                f"Campaign {campaign.id} ({campaign.version.value.upper()}) was charged "
                f"{charge.price} to {_charged_label(charge, charged)} on {when}, by publish "
                f"request {charge.publish_request_id} (Stripe PaymentIntent "
                f"{charge.stripe_payment_intent_id})."
            )
            return f"{first} {_today_against_charge(resolution, charge)}"
        case OutcomeStatus.CHARGED:
            return f"Campaign {campaign.id} is published. {_today(resolution, price)}"
        case OutcomeStatus.CHARGE_PENDING if charge is not None:
            return (
                f"A charge of {charge.price} for campaign {campaign.id} "
                f"({_charged_label(charge, charged)}, publish request "
                f"{charge.publish_request_id}) is with Stripe and not confirmed yet; it is "
                "reconciled with Stripe automatically, never charged twice."
            )
        case OutcomeStatus.PUBLISHING if latest is not None:
            return (
                f"Publish request {latest.id} of campaign {campaign.id} is {latest.status.value}"
                f" and has not charged anyone yet. {_today(resolution, price)}"
            )
        case OutcomeStatus.FAILED | OutcomeStatus.REQUIRES_ACTION if latest is not None:
            verb = "failed" if status is OutcomeStatus.FAILED else "is waiting for the cardholder"
            recorded = latest.failure or {}
            reason = recorded.get("message", "no reason was recorded")
            today = resolution.failure
            again = (
                "Publishing again now would fail the same way."
                if today is not None and today.code == recorded.get("code")
                else _today(resolution, price, again=True)
            )
            return (
                f"The latest publish request {latest.id} of campaign {campaign.id} {verb}: "
                f"{reason} Nothing was charged. {again}"
            )
        case _:
            return f"Campaign {campaign.id} has not been published. {_today(resolution, price)}"


def _charged_label(charge: Charge, charged: ChargedPayer | None) -> str:
    if charged is None:
        return f"billing account {charge.billing_account_id}"
    card = charged.payment_method.label if charged.payment_method else charge.payment_method_id
    owner = owner_label(charged.account.owner_type, charged.owner_name)
    return f"{owner}'s billing account {charged.account.id} ({card})"


def _payer_label(payer: Payer) -> str:
    owner = owner_label(payer.account.owner_type, payer.owner_name)
    return f"{owner}'s billing account {payer.account.id} ({payer.payment_method.label})"


def _today(resolution: Resolution, price: str, *, again: bool = False) -> str:
    publishing = "Publishing again now" if again else "Publishing it now"
    if resolution.payer is not None:
        return f"{publishing} would charge {price} to {_payer_label(resolution.payer)}."
    assert resolution.failure is not None
    return f"{publishing} would fail: {resolution.failure.message}"


def _today_against_charge(resolution: Resolution, charge: Charge) -> str:
    note = "The steps below are the billing rules run on today's data, not a record of the charge"
    payer = resolution.payer
    if payer is not None and payer.account.id == charge.billing_account_id:
        return f"{note}; they still pick the same billing account."
    if payer is not None:
        return (
            f"{note}; today they would pick {_payer_label(payer)} instead, so the campaign's "
            "billing selection or a setting changed after the charge."
        )
    assert resolution.failure is not None
    return f"{note}; today they would fail: {resolution.failure.message}"


def _payer_dict(
    source: str,
    account: BillingAccount,
    name: str,
    payment_method: PaymentMethod | None,
) -> dict[str, Any]:
    return {
        "source": source,
        "billing_account_id": account.id,
        "owner_type": account.owner_type.value,
        "owner_id": account.owner_id,
        "owner_name": name,
        "payment_method": card_dict(payment_method) if payment_method is not None else None,
    }


def _charge_dict(charge: Charge) -> dict[str, Any]:
    return {
        "status": charge.status.value,
        "amount": charge.price.amount,
        "currency": charge.price.currency,
        "billing_account_id": charge.billing_account_id,
        "payment_method_id": charge.payment_method_id,
        "stripe_payment_intent_id": charge.stripe_payment_intent_id,
        "publish_request_id": charge.publish_request_id,
        "charged_at": charge.succeeded_at.isoformat() if charge.succeeded_at else None,
    }


def _request_dict(request: PublishRequest | None) -> dict[str, Any] | None:
    if request is None:
        return None
    return {
        "id": request.id,
        "status": request.status.value,
        "failure": request.failure,
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
    }
