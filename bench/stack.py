"""The service under measurement: its real processes (`campaign-billing serve|worker|relay`) on
a PostgreSQL database and Redis databases of the benchmark's own, and the Stripe test server as
a process of its own (`campaign-billing stripe-server`)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, Table, create_engine, insert, text

from bench.processes import Proc, ProcessGroup, wait_until
from campaign_billing.migrations.runner import upgrade
from campaign_billing.stripe_server import ControlClient

PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATABASE = os.environ.get("BENCH_DB_NAME", "campaign_billing_bench")
# Redis databases of the benchmark's own: tests use 8-15, people running the service use 0.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/7")
TOKEN = "bench-token"
WEBHOOK_SECRET = "whsec_bench_secret"
STRIPE_KEY = "sk_test_bench"
EVENT_STREAM = "campaign-billing.events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class WorkerLayout:
    """How many worker processes, and how many threads each."""

    processes: int
    concurrency: int
    pool: str = "threads"

    @property
    def slots(self) -> int:
        return self.processes * self.concurrency

    @property
    def label(self) -> str:
        return f"{self.processes}x{self.concurrency} {self.pool}"


class Stack:
    def __init__(self, log_dir: Path) -> None:
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
        self.stripe_port = free_port()
        self.api_port = free_port()
        self.group = ProcessGroup(log_dir, self._env())
        self.control = ControlClient(self.stripe_url, timeout_s=60)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.broker = redis.Redis.from_url(BROKER_URL)
        self.layout: WorkerLayout | None = None
        self.service_env: dict[str, str] = {}
        self._db: Engine | None = None

    @property
    def stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.stripe_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "BROKER_URL": BROKER_URL,
            "STRIPE_API_BASE": self.stripe_url,
            "STRIPE_API_KEY": STRIPE_KEY,
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "API_TOKENS": TOKEN,
            # The shipped defaults: JSON logs at INFO (to a file here, as in production).
            "LOG_JSON": "true",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "STRIPE_RATE_LIMIT": "100000",
        }

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._fresh_database()
        for client in (self.redis, self.broker):
            client.flushdb()
        self.group.campaign_billing("stripe", "stripe-server", "--port", str(self.stripe_port))
        wait_until(self._stripe_ready, 30, "the Stripe test server")
        self._start_api_and_relay()

    def _start_api_and_relay(self) -> None:
        self.group.campaign_billing(
            "api", "serve", "--port", str(self.api_port), env=self.service_env
        )
        wait_until(self._api_ready, 30, "the API")
        # No sweep: it is recovery work (stale requests, unknown charges) with nothing to do in
        # a healthy run, and its first round asks for a webhook backfill, which lists the Stripe
        # events since 15 minutes before the newest one processed and stores those we lack:
        # here every charge event (the benchmark does not have Stripe deliver them), thousands
        # of tasks and Stripe reads that no figure is about.
        self.group.campaign_billing(
            "relay",
            "relay",
            "--sweep-every",
            "86400",
            "--backfill-every",
            "86400",
            env=self.service_env,
        )

    def restart_services(self, env: Mapping[str, str]) -> None:
        """API and relay again with `env` on top of the benchmark's; workers started from now
        on get it too."""
        self.stop_workers()
        self.group.stop("api")
        self.group.stop("relay")
        self.service_env = dict(env)
        self._start_api_and_relay()

    def stop(self) -> None:
        self.group.stop_all()
        self.control.close()
        if self._db is not None:
            self._db.dispose()

    def _fresh_database(self) -> None:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        admin.dispose()
        upgrade(self.database_url)

    def _stripe_ready(self) -> bool:
        try:
            return self.control.health()
        except httpx.HTTPError:
            return False

    def _api_ready(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    # -- workers --------------------------------------------------------------------------------

    def start_workers(
        self, layout: WorkerLayout, env: Mapping[str, str] | None = None, wait: bool = True
    ) -> list[Proc]:
        self.stop_workers()
        self.layout = layout
        procs = [
            self.group.campaign_billing(
                f"worker{i}",
                "worker",
                "--pool",
                layout.pool,
                "--concurrency",
                str(layout.concurrency),
                "--hostname",
                f"worker{i}@bench",
                env={**self.service_env, **(env or {})},
            )
            for i in range(1, layout.processes + 1)
        ]
        if wait:
            self.wait_workers_ready([f"worker{i}@bench" for i in range(1, layout.processes + 1)])
        return procs

    def wait_workers_ready(self, hostnames: list[str], app: Any = None) -> None:
        """Waits until every named worker answers a remote-control ping: it is consuming."""
        if app is None:
            from campaign_billing.settings import Settings
            from campaign_billing.workers.celery_app import create_celery

            app = create_celery(Settings(broker_url=BROKER_URL, redis_url=REDIS_URL))

        def all_up() -> bool:
            self.group.check_alive()
            replies = app.control.ping(timeout=0.5) or []
            seen = {name for reply in replies for name in reply}
            return set(hostnames) <= seen

        wait_until(all_up, 60, f"workers {hostnames}", interval=0.2)

    def stop_workers(self) -> None:
        for proc in self.group.running("worker"):
            self.group.stop(proc.name, timeout=60)

    def workers(self) -> list[Proc]:
        return self.group.running("worker")

    def service_procs(self) -> list[Proc]:
        """The service's own processes: API, relay and workers (not the Stripe test server)."""
        return [
            p
            for p in self.group.procs.values()
            if (p.name in ("api", "relay") or p.name.startswith("worker")) and p.alive()
        ]

    def postgres_backend_pids(self) -> list[int]:
        """The PostgreSQL backends serving the benchmark's database (the service's pools, and
        this process's own connection)."""
        rows = self.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()",
            db=DATABASE,
        )
        return [int(str(row[0])) for row in rows]

    def open_publish_requests(self) -> int:
        """Publish requests not yet terminal (queued or processing)."""
        engine = self._engine()
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM publish_requests "
                        "WHERE status IN ('queued', 'processing')"
                    )
                ).scalar_one()
            )

    def query(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self._engine().connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def query_commit(self, sql: str, **params: object) -> None:
        with self._engine().begin() as conn:
            conn.execute(text(sql), params)

    def insert_rows(self, table: Table, rows: list[dict[str, object]]) -> None:
        with self._engine().begin() as conn:
            for start in range(0, len(rows), 1000):
                conn.execute(insert(table), rows[start : start + 1000])

    def _engine(self) -> Engine:
        if self._db is None:
            self._db = create_engine(self.database_url, pool_size=2)
        return self._db

    def database_sessions(self) -> int:
        """Connections ever opened to the benchmark's database (pg_stat_database.sessions): its
        growth over a figure is how often the pools opened new connections."""
        rows = self.query("SELECT sessions FROM pg_stat_database WHERE datname = :db", db=DATABASE)
        return int(str(rows[0][0])) if rows else 0

    def database_connections(self) -> int:
        return len(self.postgres_backend_pids())

    def queue_length(self, queue: str) -> int:
        return int(self.broker.llen(queue))
