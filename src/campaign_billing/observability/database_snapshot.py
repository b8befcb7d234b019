"""The counts operators watch, read from the database in one short read-only transaction.

Every query is a count or a minimum over an indexed column (the open-request, unrelayed-outbox
and event-status indexes of adapters/orm.py), except the publish outcomes, which group the
whole `publish_requests` table: the cache in `database_gauges` bounds how often that runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, literal_column, select, text

from campaign_billing.adapters.orm import (
    OPEN_REQUEST_STATUSES,
    OutboxRow,
    PublishRequestRow,
    StripeEventRow,
)
from campaign_billing.adapters.repositories.stripe_events import PENDING, StripeEventStatus

# A scrape waits no longer than this for the database; Prometheus' own timeout is 10 s.
STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True, slots=True)
class DatabaseSnapshot:
    """Counts at one moment. Ages are seconds, 0 when there is nothing waiting."""

    publish_requests: Mapping[tuple[str, str], int]
    """(status, failure code or '') -> publish requests."""
    oldest_open_publish_seconds: float
    outbox_backlog: int
    oldest_outbox_seconds: float
    webhook_events: Mapping[str, int]
    """Stored Stripe events by status; every status is present."""
    oldest_pending_webhook_seconds: float


def read_snapshot(connection: Connection, now: datetime) -> DatabaseSnapshot:
    if connection.dialect.name == "postgresql":
        # SET LOCAL: for this transaction only, so the pooled connection is left as it was.
        connection.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    backlog, oldest_unrelayed = connection.execute(
        select(func.count(), func.min(OutboxRow.occurred_at)).where(OutboxRow.relayed_at.is_(None))
    ).one()
    return DatabaseSnapshot(
        publish_requests=_publish_requests(connection),
        oldest_open_publish_seconds=_age(
            connection.execute(
                select(func.min(PublishRequestRow.updated_at)).where(
                    PublishRequestRow.status.in_(OPEN_REQUEST_STATUSES)
                )
            ).scalar(),
            now,
        ),
        outbox_backlog=int(backlog),
        oldest_outbox_seconds=_age(oldest_unrelayed, now),
        webhook_events=_webhook_events(connection),
        oldest_pending_webhook_seconds=_age(
            connection.execute(
                select(func.min(StripeEventRow.received_at)).where(
                    StripeEventRow.status.in_([status.value for status in PENDING])
                )
            ).scalar(),
            now,
        ),
    )


def _publish_requests(connection: Connection) -> dict[tuple[str, str], int]:
    code = PublishRequestRow.failure["code"].as_string().label("code")
    # Grouped by the output column's name: the JSON path's key is a bound parameter, and
    # PostgreSQL would not match two separately bound copies of the expression.
    rows = connection.execute(
        select(PublishRequestRow.status, code, func.count()).group_by(
            PublishRequestRow.status, literal_column("code")
        )
    ).all()
    return {(str(status), str(code or "")): int(count) for status, code, count in rows}


def _webhook_events(connection: Connection) -> dict[str, int]:
    counts = dict.fromkeys((status.value for status in StripeEventStatus), 0)
    rows = connection.execute(
        select(StripeEventRow.status, func.count()).group_by(StripeEventRow.status)
    ).all()
    for status, count in rows:
        counts[str(status)] = int(count)
    return counts


def _age(since: datetime | None, now: datetime) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite (the demo) hands back naive UTC timestamps
        since = since.replace(tzinfo=UTC)
    return max(0.0, (now - since).total_seconds())
