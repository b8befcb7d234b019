"""Stripe webhook events as stored: once per Stripe event id, with their processing status.

docs/webhooks.md draws the states. Every change of status is a conditional UPDATE that says
whether it happened, because duplicate deliveries of one event, the retry of its task and an
operator's replay may all reach one row at the same time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaign_billing.adapters.orm import StripeEventRow


class StripeEventStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    SKIPPED = "skipped"
    FAILED = "failed"
    PARKED = "parked"

    @property
    def is_done(self) -> bool:
        """Processed or skipped: nothing left to do unless an operator replays it."""
        return self in (StripeEventStatus.PROCESSED, StripeEventStatus.SKIPPED)


# The statuses a worker may still pick an event up in (parked waits for an operator's replay).
PENDING = (StripeEventStatus.RECEIVED, StripeEventStatus.FAILED)
DONE = (StripeEventStatus.PROCESSED, StripeEventStatus.SKIPPED)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    type: str
    stripe_created: int
    payload: Mapping[str, Any]
    status: StripeEventStatus
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None


def _stored(row: StripeEventRow) -> StoredEvent:
    return StoredEvent(
        id=row.id,
        type=row.type,
        stripe_created=row.stripe_created,
        payload=row.payload,
        status=StripeEventStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        received_at=row.received_at,
        processed_at=row.processed_at,
    )


def _insert_if_new(insert: Any) -> Any:
    # Built once: the ingest endpoint runs this for every delivery, and building the statement
    # cost about as much as executing it (measured: docs/webhooks.md).
    table = StripeEventRow.__table__
    return (
        insert(table)
        .values(
            id=bindparam("id"),
            type=bindparam("type"),
            stripe_created=bindparam("created"),
            payload=bindparam("payload", type_=table.c.payload.type),
            status=StripeEventStatus.RECEIVED.value,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=[table.c.id])
        .returning(table.c.id)
    )


_INSERT_IF_NEW = {
    "postgresql": _insert_if_new(postgresql.insert),
    "sqlite": _insert_if_new(sqlite.insert),
}


def _values(statuses: Collection[StripeEventStatus]) -> list[str]:
    return [status.value for status in statuses]


class StripeEventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_if_new(
        self, event_id: str, event_type: str, stripe_created: int, payload: Mapping[str, Any]
    ) -> bool:
        """Stores a received event unless its id is already stored; returns whether it was new.

        `ON CONFLICT DO NOTHING` rather than a lookup then an insert: two deliveries of one
        event racing each other must both succeed, and only one may store it.
        """
        dialect = self.session.get_bind().dialect.name
        inserted = self.session.execute(
            _INSERT_IF_NEW[dialect],
            {"id": event_id, "type": event_type, "created": stripe_created, "payload": payload},
        ).scalar()
        return inserted is not None

    def get(self, event_id: str, *, for_update: bool = False) -> StoredEvent | None:
        query = select(StripeEventRow).where(StripeEventRow.id == event_id)
        if for_update:
            # populate_existing: the row may sit in this session from before the lock.
            query = query.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalar(query)
        return _stored(row) if row is not None else None

    def count_attempt(
        self, event_id: str, *, from_: Collection[StripeEventStatus]
    ) -> StoredEvent | None:
        """Counts one more attempt at an event in one of `from_`, which becomes `received`
        (a failed event being retried, a parked one being replayed). None: no such event, or it
        is in none of `from_`. Committed on its own before the work starts, so an attempt that
        kills its worker still counts."""
        row = self.session.scalar(
            update(StripeEventRow)
            .where(StripeEventRow.id == event_id, StripeEventRow.status.in_(_values(from_)))
            .values(attempts=StripeEventRow.attempts + 1, status=StripeEventStatus.RECEIVED.value)
            .returning(StripeEventRow)
            .execution_options(populate_existing=True)
        )
        return _stored(row) if row is not None else None

    def finish(
        self,
        event_id: str,
        status: StripeEventStatus,
        *,
        at: datetime,
        error: str | None = None,
    ) -> bool:
        """Records the outcome of the attempt that holds the event (`received`)."""
        values: dict[str, Any] = {"status": status.value, "last_error": error}
        if status.is_done:
            values["processed_at"] = at
        result = self.session.execute(
            update(StripeEventRow)
            .where(
                StripeEventRow.id == event_id,
                StripeEventRow.status == StripeEventStatus.RECEIVED.value,
            )
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def park(self, event_id: str, error: str) -> bool:
        """Gives up on an event that is still pending (e.g. a message that kept killing its
        worker): it waits for an operator."""
        result = self.session.execute(
            update(StripeEventRow)
            .where(StripeEventRow.id == event_id, StripeEventRow.status.in_(_values(PENDING)))
            .values(status=StripeEventStatus.PARKED.value, last_error=error)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- operators and the periodic task --------------------------------------------------------
    def select_ids(
        self,
        *,
        ids: Collection[str] = (),
        types: Collection[str] = (),
        statuses: Collection[StripeEventStatus] = (),
        limit: int | None = None,
    ) -> list[str]:
        """Ids of the stored events matching every filter given, oldest (by Stripe) first."""
        query = select(StripeEventRow.id)
        if ids:
            query = query.where(StripeEventRow.id.in_(list(ids)))
        if types:
            query = query.where(StripeEventRow.type.in_(list(types)))
        if statuses:
            query = query.where(StripeEventRow.status.in_(_values(statuses)))
        query = query.order_by(StripeEventRow.stripe_created, StripeEventRow.received_at)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def stranded(
        self, statuses: Collection[StripeEventStatus], received_before: datetime, limit: int
    ) -> list[str]:
        """Pending events received before `received_before`: their task message was lost
        (broker down at ingest, a retry that could not be scheduled)."""
        return list(
            self.session.scalars(
                select(StripeEventRow.id)
                .where(
                    StripeEventRow.status.in_(_values(statuses)),
                    StripeEventRow.received_at < received_before,
                )
                .order_by(StripeEventRow.received_at)
                .limit(limit)
            )
        )

    def newest_done_created(self) -> int | None:
        """Stripe's `created` of the newest event processed or skipped: where a backfill of
        missed events starts."""
        return self.session.scalar(
            select(func.max(StripeEventRow.stripe_created)).where(
                StripeEventRow.status.in_(_values(DONE))
            )
        )

    def existing_ids(self, event_ids: Collection[str]) -> set[str]:
        if not event_ids:
            return set()
        return set(
            self.session.scalars(
                select(StripeEventRow.id).where(StripeEventRow.id.in_(list(event_ids)))
            )
        )

    def count_by_status(self) -> dict[StripeEventStatus, int]:
        rows = self.session.execute(
            select(StripeEventRow.status, func.count()).group_by(StripeEventRow.status)
        )
        return {StripeEventStatus(status): count for status, count in rows.tuples()}
