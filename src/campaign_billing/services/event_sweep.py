"""The sweep's share of webhook events: sends again, within seconds, the stored events whose
task message is gone, as the sweep does for publish requests (services/sweep.py).

A message is gone when the broker was down at ingest (the event is stored, its task never
sent), when a worker died holding it (Redis hands an unacknowledged message out again only
after the visibility timeout, 15 minutes), or when a retry could not be scheduled or its
delayed message died with its worker. The backfill (services/backfill.py) catches these too,
but after 10 (`received`) or 30 (`failed`) minutes and only every `--backfill-every`; until
then a card saved or removed on Stripe stays unknown here, which the "Billing User" picker and
the next charge show. Sending an event again is harmless: its task locks the row and does
nothing for an event already done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from campaign_billing.adapters.repositories.stripe_events import (
    StripeEventRepository,
    StripeEventStatus,
)
from campaign_billing.adapters.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


def resend_lost_event_messages(
    uow_factory: Callable[[], UnitOfWork],
    send_stripe_event: Callable[[str], None],
    *,
    now: datetime,
    stale_after: timedelta,
    retries_due_within: Callable[[int], timedelta],
    limit: int = 20,
) -> int:
    """Sends again the oldest events (at most `limit` of each status) still `received`
    `stale_after` after they arrived, and the `failed` ones whose retry is overdue: later than
    `retries_due_within(attempts)` (the retry policy's longest waits for that many failures)
    plus `stale_after`, counted from their arrival. Returns how many it sent.

    An event still waiting in a long queue looks the same as a lost one, so a backlog gets
    duplicates; `limit` bounds them to a few per round (each costs its task one UPDATE), and
    the events really lost, being the oldest, are sent as soon as the backlog drains."""
    with uow_factory() as uow:
        events = StripeEventRepository(uow.session)
        lost = events.stranded([StripeEventStatus.RECEIVED], now - stale_after, limit)
        for event_id in events.stranded([StripeEventStatus.FAILED], now - stale_after, limit):
            event = events.get(event_id)
            if event is None:
                continue
            due = event.received_at + retries_due_within(event.attempts) + stale_after
            if due < now:
                lost.append(event_id)
    for event_id in lost:
        send_stripe_event(event_id)
    if lost:
        log.warning("stripe_event_messages_resent", count=len(lost))
    return len(lost)
