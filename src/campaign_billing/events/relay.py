"""Relays the outbox to the Redis stream of API.md, at least once.

Each batch: claim the oldest unrelayed rows (`FOR UPDATE SKIP LOCKED`, so several relays take
disjoint batches), XADD them in one pipeline, mark them relayed, commit. A crash between the XADD
and the commit relays the batch again: consumers drop duplicates by the envelope's `id`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from campaign_billing.adapters.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

# Trim the stream to roughly this many entries (approximate trimming is O(1) in Redis).
STREAM_MAXLEN = 1_000_000


def relay_once(
    uow_factory: Callable[[], UnitOfWork], redis: Redis, stream: str, batch: int = 200
) -> int:
    """Relays one batch; returns how many events it relayed."""
    with uow_factory() as uow:
        claimed = uow.outbox.claim(batch)
        if not claimed:
            return 0
        pipe = redis.pipeline(transaction=False)
        for _seq, event in claimed:
            pipe.xadd(stream, {"event": event.to_json()}, maxlen=STREAM_MAXLEN, approximate=True)
        pipe.execute()
        uow.outbox.mark_relayed([seq for seq, _ in claimed], datetime.now(UTC))
        uow.commit()
    return len(claimed)


def run_relay(
    uow_factory: Callable[[], UnitOfWork],
    redis: Redis,
    stream: str,
    stop: threading.Event,
    *,
    idle_interval: float = 0.05,
    on_idle: Callable[[], None] | None = None,
) -> None:
    """Relays until `stop` is set: back to back while there is a backlog, every
    `idle_interval` seconds when there is none. Survives Redis and database outages."""
    failures = 0
    while not stop.is_set():
        try:
            relayed = relay_once(uow_factory, redis, stream)
            failures = 0
        except (RedisError, SQLAlchemyError, OSError):
            failures += 1
            log.warning("outbox_relay_failed", consecutive=failures, exc_info=failures == 1)
            stop.wait(min(5.0, 0.1 * 2**failures))
            continue
        if relayed == 0:
            if on_idle is not None:
                on_idle()
            stop.wait(idle_interval)
