"""The unit of work: one transaction, rolled back unless `commit()` is called.

Tasks to send after the commit are collected with `after_commit` and run only once the
transaction is durable (a task sent before the commit may run before its rows exist, or for rows
that are then rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

import structlog
from sqlalchemy.orm import Session, sessionmaker

from campaign_billing.adapters.repositories.accounts import AccountRepository
from campaign_billing.adapters.repositories.directory import DirectoryRepository
from campaign_billing.adapters.repositories.outbox import OutboxRepository
from campaign_billing.adapters.repositories.publishing import PublishingRepository

log = structlog.get_logger(__name__)


class UnitOfWork:
    session: Session
    directory: DirectoryRepository
    accounts: AccountRepository
    publishing: PublishingRepository
    outbox: OutboxRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.directory = DirectoryRepository(self.session)
        self.accounts = AccountRepository(self.session)
        self.publishing = PublishingRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self._after_commit = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def commit(self) -> None:
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            # The data is durable; a failing callback (broker down) is the sweep's to repair,
            # never a reason to report the committed work as failed.
            try:
                callback()
            except Exception:
                log.warning("after_commit_failed", exc_info=True)

    def rollback(self) -> None:
        self.session.rollback()
        self._after_commit = []


UnitOfWorkFactory = Callable[[], UnitOfWork]
