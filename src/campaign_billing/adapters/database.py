"""Engine and session factory, built by the wiring module, never at import time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    if url.startswith("sqlite"):
        # The demo's file database: one writer at a time; wait for the lock rather than fail.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection killed under us (failover, pg_terminate_backend) is replaced, not reused.
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own BEGIN is deferred; we emit ours (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # SQLite ignores SELECT ... FOR UPDATE, so the row locks that serialise work on PostgreSQL
    # (one account's card sync, one publish request's claim) would not hold. Taking the write
    # lock when a transaction begins serialises every transaction instead: slow, but correct,
    # and plenty for the demo.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
