"""The sweep: finishes what crashes and outages left open (docs/publishing.md).

- requests still `queued` (accepted while the broker was down, or their message lost) and
  requests `processing` past any plausible run time (their worker died) are sent again; the task
  is idempotent, and resumes a pending charge under its same idempotency key;
- charges left `unknown` are reconciled against Stripe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from campaign_billing.adapters.stripe_gateway import (
    ChargeOutcome,
    StripeGateway,
    StripeRejected,
    TransientStripeError,
)
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.publishing import Charge, ChargeStatus
from campaign_billing.services.publishing import record_success

log = structlog.get_logger(__name__)


def resend_stale_requests(
    uow_factory: Callable[[], UnitOfWork],
    send_publish: Callable[[str], None],
    *,
    older_than: timedelta = timedelta(seconds=60),
) -> int:
    with uow_factory() as uow:
        stale = uow.publishing.stale_open(datetime.now(UTC) - older_than)
    for request_id in stale:
        send_publish(request_id)
    if stale:
        log.info("sweep_resent_requests", count=len(stale))
    return len(stale)


def reconcile_unknown_charges(
    uow_factory: Callable[[], UnitOfWork],
    gateway: StripeGateway,
    *,
    older_than: timedelta = timedelta(seconds=30),
) -> int:
    with uow_factory() as uow:
        charges = uow.publishing.unknown_charges(datetime.now(UTC) - older_than)
    settled = 0
    for charge in charges:
        try:
            settled += _reconcile(uow_factory, gateway, charge)
        except (TransientStripeError, StripeRejected):
            log.warning("sweep_reconcile_unavailable", charge_id=charge.id)
            break
    return settled


def _reconcile(
    uow_factory: Callable[[], UnitOfWork], gateway: StripeGateway, charge: Charge
) -> int:
    with uow_factory() as uow:
        account = uow.accounts.get(None, charge.billing_account_id)
        request = uow.publishing.get(charge.publish_request_id)
    if account is None or request is None or not account.stripe_customer_id:
        return 0
    created_after = int(request.created_at.timestamp()) - 60
    found = gateway.find_charge(account.stripe_customer_id, request.id, created_after)
    now = datetime.now(UTC)
    with uow_factory() as uow:
        if found is not None and found.outcome is ChargeOutcome.SUCCEEDED:
            record_success(uow, request, charge, found.payment_intent_id, now)
            log.warning(
                "sweep_found_unknown_charge_succeeded",
                publish_request_id=request.id,
                stripe_payment_intent_id=found.payment_intent_id,
            )
        elif found is None or found.outcome is not ChargeOutcome.UNKNOWN:
            # Absent, declined or waiting for the cardholder: no money moved; the campaign may
            # be published again.
            uow.publishing.settle_charge(
                charge.id,
                from_=[ChargeStatus.UNKNOWN],
                to=ChargeStatus.FAILED,
                stripe_payment_intent_id=found.payment_intent_id if found else None,
                at=now,
            )
            log.info("sweep_unknown_charge_absent", publish_request_id=request.id)
        else:
            return 0
        uow.commit()
    return 1
