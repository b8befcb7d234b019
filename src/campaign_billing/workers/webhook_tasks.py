"""Celery tasks for Stripe webhook events: processing one stored event, and the periodic
catch-up. Thin: each calls the use cases in services/ with the worker's container.

`campaign_billing.stripe_event` retries a failed event with exponential backoff (the retry is a
new message with a countdown, so no worker slot waits), and parks it after
`RetryPolicy.max_attempts`; `campaign-billing webhooks replay` takes it from there.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from celery import Task, shared_task

from campaign_billing.adapters.repositories.stripe_events import StripeEventStatus
from campaign_billing.celeryconfig import MAX_COUNTDOWN_SECONDS
from campaign_billing.services import backfill, stripe_events
from campaign_billing.wiring import Container
from campaign_billing.workers.runtime import get_container

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often one event is tried before it is parked, and the wait before each retry:
    exponential, with jitter so that events failing together do not retry together, capped
    at MAX_COUNTDOWN_SECONDS (below the broker's visibility timeout, celeryconfig.py). The
    defaults give up after about five minutes of failures."""

    max_attempts: int = 6
    base_seconds: float = 10.0
    cap_seconds: float = float(MAX_COUNTDOWN_SECONDS)
    jitter: Callable[[], float] = field(default=random.random)

    def countdown(self, attempts: int) -> float:
        ceiling = self._ceiling(attempts)
        return ceiling / 2 + self.jitter() * ceiling / 2

    def _ceiling(self, attempts: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))

    def retries_due_within(self, attempts: int) -> timedelta:
        """The longest the retries after `attempts` failures can all take (every countdown at
        its ceiling): a failed event still waiting past that lost its retry message."""
        return timedelta(seconds=sum(self._ceiling(n) for n in range(1, attempts + 1)))


_policy = RetryPolicy()


def retry_policy() -> RetryPolicy:
    return _policy


def set_retry_policy(policy: RetryPolicy) -> None:
    """For whoever runs workers in-process (tests, the demo) and wants shorter waits."""
    global _policy
    _policy = policy


def event_deps(container: Container) -> stripe_events.EventDeps:
    return stripe_events.EventDeps(
        uow_factory=container.uow,
        stripe=container.gateway,
        send_publish=container.send_publish,
    )


@shared_task(
    name="campaign_billing.stripe_event",
    bind=True,
    ignore_result=True,
    acks_late=True,
    # Bounded by the attempts stored on the event, not by Celery's per-message count, so that
    # duplicates and redeliveries of the message share one budget.
    max_retries=None,
)
def process_stripe_event(self: Task, stripe_event_id: str) -> str | None:
    policy = _policy
    attempt = stripe_events.process_stripe_event(
        event_deps(get_container()), stripe_event_id, max_attempts=policy.max_attempts
    )
    if attempt.status is StripeEventStatus.FAILED:
        raise self.retry(countdown=policy.countdown(attempt.attempts))
    return attempt.status.value if attempt.status else None


@shared_task(name="campaign_billing.backfill_events", ignore_result=True)
def backfill_events() -> dict[str, Any]:
    """Periodic (celery beat): missed events from Stripe's Events list, stored events whose task
    message was lost, and cards that lapsed without an event."""
    container = get_container()
    now = datetime.now(UTC)
    found = backfill.backfill_events(
        container.uow, container.gateway, container.send_stripe_event, now=now
    )
    resent = backfill.resend_stranded_events(container.uow, container.send_stripe_event, now=now)
    lapsed = backfill.sync_lapsed_cards(container.uow, container.gateway, now=now)
    return {"backfilled": found.stored, "resent": resent, "lapsed_cards_synced": lapsed}
