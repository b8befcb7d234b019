"""Gauges counted from the database when Prometheus scrapes the API's `/metrics`.

Why from the database: a publish is finished by whichever worker took it, on whichever host, and
a worker's counters die with it. The rows in PostgreSQL are where every process's work adds up,
survive restarts, and are what support reads too; so publish outcomes by failure code, the
outbox backlog and the parked webhook events are counted there, not in per-process files.

A snapshot is reused for `refresh_seconds`, so that many scrapers (or many API replicas' worth
of them) cost the database one round each period. A failed read exports
`campaign_billing_database_metrics_up 0` and no stale numbers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import Engine

from campaign_billing.observability.database_snapshot import DatabaseSnapshot, read_snapshot

log = structlog.get_logger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DatabaseGauges:
    """A Prometheus collector over one engine, with a registry of its own to render it."""

    def __init__(
        self,
        engine: Engine,
        refresh_seconds: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._engine = engine
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._now = now
        self._lock = threading.Lock()
        self._taken_at: float | None = None
        self._snapshot: DatabaseSnapshot | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def render(self) -> bytes:
        """The gauges in Prometheus' text format (append it to the process's own metrics)."""
        return generate_latest(self.registry)

    def snapshot(self) -> DatabaseSnapshot | None:
        """The latest counts, read again once `refresh_seconds` have passed (None: the
        database could not be read)."""
        with self._lock:  # one scraper reads; the others wait and reuse what it read
            taken_at = self._taken_at
            fresh = taken_at is not None and self._monotonic() - taken_at < self._refresh_seconds
            if not fresh:
                self._snapshot = self._read()
                self._taken_at = self._monotonic()
            return self._snapshot

    def _read(self) -> DatabaseSnapshot | None:
        try:
            with self._engine.begin() as connection:
                return read_snapshot(connection, self._now())
        except Exception as error:  # a metrics scrape must answer even when the database won't
            log.warning("database_metrics_unavailable", error=type(error).__name__)
            return None

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot()
        up = GaugeMetricFamily(
            "campaign_billing_database_metrics_up",
            "1 when the database counts below could be read at this scrape, else 0.",
        )
        up.add_metric([], 0 if snapshot is None else 1)
        yield up
        if snapshot is not None:
            yield from _families(snapshot)


def _families(snapshot: DatabaseSnapshot) -> Iterator[Metric]:
    requests = GaugeMetricFamily(
        "campaign_billing_publish_requests",
        "Publish requests by status and failure code ('' when none), counted in the database "
        "whichever worker handled them.",
        labels=["status", "code"],
    )
    for (status, code), count in sorted(snapshot.publish_requests.items()):
        requests.add_metric([status, code], count)
    yield requests
    yield _gauge(
        "campaign_billing_publish_oldest_open_seconds",
        "Age of the oldest publish request still queued or processing (0: none).",
        snapshot.oldest_open_publish_seconds,
    )
    yield _gauge(
        "campaign_billing_outbox_backlog",
        "Outbox events not yet relayed to the Redis stream.",
        snapshot.outbox_backlog,
    )
    yield _gauge(
        "campaign_billing_outbox_oldest_seconds",
        "Age of the oldest outbox event not yet relayed (0: none).",
        snapshot.oldest_outbox_seconds,
    )
    events = GaugeMetricFamily(
        "campaign_billing_webhook_events",
        "Stored Stripe webhook events by status; 'parked' ones wait for an operator's replay.",
        labels=["status"],
    )
    for status, count in sorted(snapshot.webhook_events.items()):
        events.add_metric([status], count)
    yield events
    yield _gauge(
        "campaign_billing_webhook_oldest_pending_seconds",
        "Age of the oldest stored webhook event still received or failed (0: none).",
        snapshot.oldest_pending_webhook_seconds,
    )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
