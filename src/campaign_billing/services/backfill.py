"""Catching up on what webhooks missed, run by `campaign-billing webhooks backfill` and by the
periodic task `campaign_billing.backfill_events`:

- events Stripe created that never reached us (endpoint down, deliveries given up), read from
  Stripe's Events list since the last event we processed;
- stored events whose task message was lost (broker down when they arrived, or a retry that
  could not be scheduled), sent to the workers again;
- cards stored `active` whose expiry month has passed (Stripe sends no event for that), synced.

Everything is idempotent: a listed event already stored is not stored again, a resent event
already processed is not processed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from campaign_billing.adapters.repositories.stripe_events import (
    StripeEventRepository,
    StripeEventStatus,
)
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.services.payment_method_sync import (
    CustomerCards,
    accounts_with_lapsed_cards,
    sync_account,
)
from campaign_billing.services.stripe_events import HANDLED_TYPES, record_received_event

log = structlog.get_logger(__name__)

UowFactory = Callable[[], UnitOfWork]

# Stripe lists events of the last 30 days (https://docs.stripe.com/api/events/list).
STRIPE_EVENT_RETENTION = timedelta(days=30)


class EventSource(Protocol):
    """The part of Stripe the backfill reads (`StripeGateway` is one)."""

    def list_events(self, *, created_gte: int, types: Sequence[str]) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class BackfillSettings:
    # Events are not delivered in order, so one created a little before the newest processed
    # event may still be missing: the window starts this much earlier.
    overlap: timedelta = timedelta(minutes=15)
    # With no processed event at all (a new installation), how far back to look.
    first_lookback: timedelta = timedelta(days=3)
    # A stored event still `received` this long after it arrived lost its task message.
    received_grace: timedelta = timedelta(minutes=10)
    # A `failed` event is retried within minutes (RetryPolicy); after this, its retry was lost.
    failed_grace: timedelta = timedelta(minutes=30)
    batch_limit: int = 500


@dataclass(frozen=True, slots=True)
class BackfillResult:
    since: int
    listed: int
    stored: int


def backfill_events(
    uow_factory: UowFactory,
    stripe: EventSource,
    send_stripe_event: Callable[[str], None],
    *,
    now: datetime,
    settings: BackfillSettings | None = None,
    since: datetime | None = None,
) -> BackfillResult:
    """Stores (and sends for processing) the events of the types we handle that Stripe created
    since the last event we processed (or since `since`), and that we do not have."""
    settings = settings or BackfillSettings()
    start = _start(uow_factory, settings, now) if since is None else int(since.timestamp())
    start = max(start, int((now - STRIPE_EVENT_RETENTION).timestamp()) + 60)
    events = stripe.list_events(created_gte=start, types=HANDLED_TYPES)
    stored = sum(record_received_event(uow_factory, send_stripe_event, event) for event in events)
    if stored:
        log.warning("stripe_events_backfilled", stored=stored, listed=len(events), since=start)
    return BackfillResult(since=start, listed=len(events), stored=stored)


def _start(uow_factory: UowFactory, settings: BackfillSettings, now: datetime) -> int:
    with uow_factory() as uow:
        newest = StripeEventRepository(uow.session).newest_done_created()
    if newest is None:
        return int((now - settings.first_lookback).timestamp())
    return newest - int(settings.overlap.total_seconds())


def resend_stranded_events(
    uow_factory: UowFactory,
    send_stripe_event: Callable[[str], None],
    *,
    now: datetime,
    settings: BackfillSettings | None = None,
) -> int:
    settings = settings or BackfillSettings()
    with uow_factory() as uow:
        events = StripeEventRepository(uow.session)
        stranded = events.stranded(
            [StripeEventStatus.RECEIVED], now - settings.received_grace, settings.batch_limit
        ) + events.stranded(
            [StripeEventStatus.FAILED], now - settings.failed_grace, settings.batch_limit
        )
    for event_id in stranded:
        send_stripe_event(event_id)
    if stranded:
        log.warning("stripe_events_resent", count=len(stranded))
    return len(stranded)


def sync_lapsed_cards(uow_factory: UowFactory, stripe: CustomerCards, *, now: datetime) -> int:
    """Syncs each account holding an `active` card past its expiry month, one transaction per
    account (each holds its account's lock while it reads Stripe)."""
    with uow_factory() as uow:
        account_ids = accounts_with_lapsed_cards(uow, now)
    for account_id in account_ids:
        with uow_factory() as uow:
            sync_account(uow, stripe, account_id, now)
            uow.commit()
    return len(account_ids)
