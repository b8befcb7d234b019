"""Publish outcomes that Stripe reports by webhook: a payment link the cardholder completed, and
PaymentIntent outcomes that arrive after (or instead of) the publish task's own answer.

The publish pipeline (docs/publishing.md) stays the one writer of outcomes: a success is
recorded with its `record_success`, whose conditional update lets exactly one of the task, the
sweep and these webhooks win; anything else is handed back to the pipeline, which asks Stripe
again under the charge's own idempotency key and records the answer with its own wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.publishing import ChargeStatus, PublishRequest, PublishStatus
from campaign_billing.services.publishing import record_success

log = structlog.get_logger(__name__)

# Charges whose outcome a late success may still record (a `failed` one never moved money).
_OPEN_CHARGE = (ChargeStatus.PENDING, ChargeStatus.UNKNOWN, ChargeStatus.REQUIRES_ACTION)


class LateOutcomeMismatch(Exception):
    """Raised when a PaymentIntent names one of our publish requests but does not match its
    charge (amount, currency or workspace): something other than this service made it, and a
    person must look before anything is recorded."""


@dataclass(frozen=True, slots=True)
class OutcomeApplied:
    """What a webhook did to a publish request: `applied` False means there was nothing to do
    (not ours, or already recorded), with the reason."""

    applied: bool
    reason: str


def payment_link_completed(
    uow: UnitOfWork, session: Mapping[str, Any], at: datetime
) -> OutcomeApplied:
    """A Checkout Session in payment mode (the `payment_url` of an `authentication_required`
    failure) was completed: the cardholder paid, so the campaign is published."""
    request = uow.publishing.by_checkout_session(str(session.get("id")))
    if request is None:
        return OutcomeApplied(False, "not the payment link of any publish request")
    if session.get("payment_status") != "paid":
        # Cards settle at once; a delayed method reports later with async_payment_succeeded.
        return OutcomeApplied(False, f"payment_status is {session.get('payment_status')}")
    return _record_success(uow, request, _id(session.get("payment_intent")), at)


def payment_intent_succeeded(
    uow: UnitOfWork, intent: Mapping[str, Any], at: datetime
) -> OutcomeApplied:
    """Money moved for a publish request: record it unless the task, the sweep or the payment
    link's own event already did (then nothing changes)."""
    request = _request_of(uow, intent)
    if request is None:
        return OutcomeApplied(False, "names no publish request of ours")
    return _record_success(uow, request, str(intent.get("id")), at)


def payment_intent_unsuccessful(
    uow: UnitOfWork,
    intent: Mapping[str, Any],
    send_publish: Callable[[str], None],
    at: datetime,
) -> OutcomeApplied:
    """The charge was declined or needs the cardholder: no money moved.

    - The request is still open (its worker died or is slow): the publish task is sent again;
      it calls Stripe under the same idempotency key, gets this very answer replayed, and
      records it with the failure's full wording and payment link.
    - The request already ended with the charge `unknown` (Stripe never answered the task):
      the charge is settled `failed`, so the campaign may be published again.
    """
    request = _request_of(uow, intent)
    if request is None:
        return OutcomeApplied(False, "names no publish request of ours")
    charge = request.charge
    if charge is None:
        return OutcomeApplied(False, "the publish request has no charge attempt")
    if request.status in (PublishStatus.QUEUED, PublishStatus.PROCESSING):
        if charge.status is not ChargeStatus.PENDING:
            return OutcomeApplied(False, f"charge is {charge.status.value}")
        uow.after_commit(lambda: send_publish(request.id))
        return OutcomeApplied(True, "publish task sent again to record the outcome")
    if charge.status is ChargeStatus.UNKNOWN:
        uow.publishing.settle_charge(
            charge.id,
            from_=[ChargeStatus.UNKNOWN],
            to=ChargeStatus.FAILED,
            stripe_payment_intent_id=str(intent.get("id")),
            at=at,
        )
        log.info("unknown_charge_settled_by_webhook", publish_request_id=request.id)
        return OutcomeApplied(True, "unknown charge settled failed: no money moved")
    return OutcomeApplied(False, f"request is {request.status.value}, charge {charge.status.value}")


def _record_success(
    uow: UnitOfWork, request: PublishRequest, payment_intent_id: str | None, at: datetime
) -> OutcomeApplied:
    charge = request.charge
    if charge is None or charge.status not in _OPEN_CHARGE:
        state = charge.status.value if charge else "missing"
        return OutcomeApplied(False, f"charge already {state}")
    status = record_success(uow, request, charge, payment_intent_id, at)
    log.info("publish_outcome_from_webhook", publish_request_id=request.id, status=status.value)
    return OutcomeApplied(True, f"publish request {status.value}")


def _request_of(uow: UnitOfWork, intent: Mapping[str, Any]) -> PublishRequest | None:
    metadata = intent.get("metadata") or {}
    request_id = metadata.get("publish_request_id")
    if not isinstance(request_id, str) or not request_id:
        return None
    request = uow.publishing.get(request_id, for_update=True)
    if request is None:
        return None
    charge = request.charge
    mismatch = metadata.get("workspace_id") not in (None, request.workspace_id) or (
        charge is not None
        and (intent.get("amount"), intent.get("currency"))
        != (charge.price.amount, charge.price.currency)
    )
    if mismatch:
        raise LateOutcomeMismatch(
            f"PaymentIntent {intent.get('id')} names publish request {request_id} but its "
            "amount, currency or workspace differ from that request's charge"
        )
    return request


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    found = value.get("id") if isinstance(value, Mapping) else None
    return str(found) if found is not None else None
