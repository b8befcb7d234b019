"""The sweep sends again, within seconds, a stored event whose task message is gone (broker down
at ingest, a worker killed holding it, a retry that died with its worker), and leaves alone
the events still on their way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from campaign_billing.services.event_sweep import resend_lost_event_messages
from campaign_billing.services.stripe_events import record_received_event
from campaign_billing.wiring import Container
from campaign_billing.workers.webhook_tasks import RetryPolicy
from tests.integration.webhooks.webhook_harness import Broker, crafted_event

POLICY = RetryPolicy(max_attempts=6, base_seconds=10.0, cap_seconds=300.0)
STALE = timedelta(seconds=60)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _stored(
    container: Container,
    broker: Broker,
    event_id: str,
    status: str,
    attempts: int,
    received_ago: timedelta,
) -> None:
    record_received_event(
        container.uow, container.send_stripe_event, json.loads(crafted_event(event_id=event_id))
    )
    with container.uow() as uow:
        uow.session.execute(
            text(
                "UPDATE stripe_events SET status = :status, attempts = :attempts, "
                "received_at = :received_at WHERE id = :id"
            ),
            {
                "status": status,
                "attempts": attempts,
                "received_at": NOW - received_ago,
                "id": event_id,
            },
        )
        uow.commit()


def _resend(container: Container, broker: Broker) -> list[str]:
    broker.take("campaign_billing.stripe_event")
    resend_lost_event_messages(
        container.uow,
        container.send_stripe_event,
        now=NOW,
        stale_after=STALE,
        retries_due_within=POLICY.retries_due_within,
    )
    return sorted(k["stripe_event_id"] for k in broker.take("campaign_billing.stripe_event"))


def test_events_whose_message_is_lost_are_sent_again_and_the_others_are_not(
    container: Container, broker: Broker
) -> None:
    _stored(container, broker, "evt_received_long_ago", "received", 0, timedelta(minutes=2))
    _stored(container, broker, "evt_received_just_now", "received", 0, timedelta(seconds=5))
    # One failure: its retry was due within 10 s of arrival, so 2 minutes on it was lost.
    _stored(container, broker, "evt_retry_lost", "failed", 1, timedelta(minutes=2))
    # Five failures: retries take up to 10+20+40+80+160 s, plus the 60 s grace.
    _stored(container, broker, "evt_retry_pending", "failed", 5, timedelta(minutes=4))
    _stored(container, broker, "evt_done", "processed", 1, timedelta(minutes=30))
    _stored(container, broker, "evt_parked", "parked", 6, timedelta(minutes=30))

    assert _resend(container, broker) == ["evt_received_long_ago", "evt_retry_lost"]


def test_the_retry_schedule_bounds_when_a_failed_event_is_overdue() -> None:
    assert POLICY.retries_due_within(0) == timedelta(0)
    assert POLICY.retries_due_within(1) == timedelta(seconds=10)
    assert POLICY.retries_due_within(3) == timedelta(seconds=70)
    assert POLICY.retries_due_within(7) == timedelta(seconds=10 + 20 + 40 + 80 + 160 + 300 + 300)
