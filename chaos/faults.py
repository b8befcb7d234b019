"""The faults of a run, injected while the traffic runs:

- a worker SIGKILLed every `kill_every_seconds`, and started again at once. Every other kill is
  aimed at the worst moment, between Stripe's answer and the commit that records it: the
  injector locks a pending charge's row, waits until a worker's recording transaction queues
  behind that lock (Stripe has answered it, the commit cannot happen), and kills that very
  worker, found by the application name its connections carry. The other kills land wherever
  the worker is (with 100-300 ms of Stripe latency, mostly in the middle of a charge);
- the run's Redis crashed (SIGKILL) and started again, once, halfway through;
- every connection of the service to its database terminated (`pg_terminate_backend`), once;
- webhooks held and released shuffled, so they arrive out of order (their duplicates are the
  Stripe test server's `duplicates` setting).

Stripe's own faults (500s, 429s, commit-then-drop, latency) are the Stripe test server's fault
plan, set once by the run.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from campaign_billing.stripe_server import ControlClient
from chaos.services import ChaosDatabase, OwnRedis, Stack


@dataclass
class FaultCounts:
    workers_killed: int = 0
    workers_killed_after_stripe_answered: int = 0
    window_kills_missed: int = 0
    redis_restarts: int = 0
    pg_connection_kills: int = 0
    pg_connections_terminated: int = 0
    webhook_flushes: int = 0
    webhooks_released: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def note(self, what: str, **details: Any) -> None:
        self.timeline.append({"at": round(time.time(), 3), "fault": what, **details})


@dataclass
class FaultInjector:
    stack: Stack
    database: ChaosDatabase
    own_redis: OwnRedis
    control: ControlClient
    progress: Callable[[], float]
    kill_every_seconds: float
    redis_restarts: int
    redis_down_seconds: float
    pg_connection_kills: int
    flush_every_seconds: float
    seed: int
    counts: FaultCounts = field(default_factory=FaultCounts)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for target in (self._kill_workers, self._milestones, self._reorder_webhooks):
            thread = threading.Thread(target=target, name=target.__name__, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    # -- workers ------------------------------------------------------------------------------

    def _kill_workers(self) -> None:
        rng = random.Random(self.seed)
        aimed = True
        while not self._stop.wait(self.kill_every_seconds * rng.uniform(0.7, 1.3)):
            try:
                if not (aimed and self._kill_in_commit_window()):
                    self._kill(rng.choice(self.stack.worker_names()), aimed=False)
            except Exception as error:  # the injector must outlive what it breaks
                self.counts.note("kill_failed", error=repr(error)[:200])
            aimed = not aimed

    def _kill(self, worker: str, *, aimed: bool, request_id: str | None = None) -> None:
        self.stack.kill(worker)
        self.counts.workers_killed += 1
        if aimed:
            self.counts.workers_killed_after_stripe_answered += 1
        self.counts.note("worker_killed", worker=worker, aimed=aimed, publish_request_id=request_id)
        self.stack.start_worker(worker)

    def _kill_in_commit_window(self) -> bool:
        """Kills the worker that is recording a charge Stripe has answered. False when no
        worker reached that point within a few seconds (no charge was in flight)."""
        with self.database.connect(autocommit=False) as locker:
            held = self._lock_a_pending_charge(locker)
            if held is None:
                self.counts.window_kills_missed += 1
                return False
            _charge_id, request_id = held
            blocked = self._worker_blocked_by(locker.info.backend_pid, timeout=4.0)
            if blocked is None:
                locker.rollback()
                self.counts.window_kills_missed += 1
                return False
            # The worker's UPDATE of this charge waits on our lock: Stripe answered it.
            self._kill(blocked, aimed=True, request_id=request_id)
            locker.rollback()
            return True

    @staticmethod
    def _lock_a_pending_charge(locker: psycopg.Connection[Any]) -> tuple[str, str] | None:
        candidates = locker.execute(
            "SELECT id, publish_request_id FROM charges WHERE status = 'pending' "
            "ORDER BY created_at DESC LIMIT 20"
        ).fetchall()
        locker.rollback()
        for charge_id, request_id in candidates:
            try:
                row = locker.execute(
                    "SELECT id FROM charges WHERE id = %s AND status = 'pending' FOR UPDATE NOWAIT",
                    (charge_id,),
                ).fetchone()
            except psycopg.errors.LockNotAvailable:
                locker.rollback()
                continue
            if row is not None:
                return str(charge_id), str(request_id)
            locker.rollback()
        return None

    def _worker_blocked_by(self, locker_pid: int, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        with self.database.connect() as watcher:
            while time.monotonic() < deadline and not self._stop.is_set():
                rows = watcher.execute(
                    "SELECT application_name FROM pg_stat_activity "
                    "WHERE %s = ANY(pg_blocking_pids(pid))",
                    (locker_pid,),
                ).fetchall()
                workers = [name for (name,) in rows if name in self.stack.worker_names()]
                if workers:
                    return str(workers[0])
                time.sleep(0.02)
        return None

    # -- Redis and PostgreSQL, once each, at set points of the traffic ------------------------

    def _milestones(self) -> None:
        pg_at = [
            0.3 + 0.4 * n / max(1, self.pg_connection_kills)
            for n in range(self.pg_connection_kills)
        ]
        redis_at = [
            0.55 + 0.3 * n / max(1, self.redis_restarts) for n in range(self.redis_restarts)
        ]
        while not self._stop.wait(0.1):
            try:
                if pg_at and self.progress() >= pg_at[0]:
                    pg_at.pop(0)
                    self._kill_pg_connections()
                if redis_at and self.progress() >= redis_at[0]:
                    redis_at.pop(0)
                    self._restart_redis()
            except Exception as error:
                self.counts.note("milestone_failed", error=repr(error)[:200])

    def _kill_pg_connections(self) -> None:
        terminated = self.database.terminate_service_connections()
        self.counts.pg_connection_kills += 1
        self.counts.pg_connections_terminated += terminated
        self.counts.note("pg_connections_terminated", connections=terminated)

    def _restart_redis(self) -> None:
        self.own_redis.crash()
        self.counts.note("redis_killed")
        time.sleep(self.redis_down_seconds)
        self.own_redis.start()
        self.counts.redis_restarts += 1
        self.counts.note("redis_started")

    # -- webhooks -----------------------------------------------------------------------------

    def _reorder_webhooks(self) -> None:
        while not self._stop.wait(self.flush_every_seconds):
            try:
                released = self.control.flush_webhooks("shuffle")
            except Exception as error:
                self.counts.note("flush_failed", error=repr(error)[:200])
                continue
            self.counts.webhook_flushes += 1
            self.counts.webhooks_released += released
