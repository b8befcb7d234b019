"""The transactional outbox: events written with the state change they report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaign_billing.adapters.orm import OutboxRow
from campaign_billing.events.envelope import Event, EventType


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: Event) -> None:
        self.session.add(
            OutboxRow(
                event_id=event.id,
                type=event.type.value,
                workspace_id=event.workspace_id,
                occurred_at=event.occurred_at,
                data=event.data,
            )
        )

    def claim(self, limit: int) -> list[tuple[int, Event]]:
        """The oldest unrelayed events, locked so that concurrent relays take disjoint batches
        (`SKIP LOCKED`; SQLite, single-writer, ignores it)."""
        rows = self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.relayed_at.is_(None))
            .order_by(OutboxRow.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        return [
            (
                row.seq,
                Event(
                    id=row.event_id,
                    type=EventType(row.type),
                    workspace_id=row.workspace_id,
                    occurred_at=row.occurred_at,
                    data=row.data,
                ),
            )
            for row in rows
        ]

    def mark_relayed(self, seqs: list[int], at: datetime) -> None:
        self.session.execute(update(OutboxRow).where(OutboxRow.seq.in_(seqs)).values(relayed_at=at))

    def backlog(self) -> int:
        return (
            self.session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.relayed_at.is_(None))
            )
            or 0
        )
