"""The processes of a chaos run, each its own: a Redis server, a PostgreSQL database, the Stripe
test server, the API, the workers and the relay, so that killing and restarting them touches
nothing another engineer's tests use.

Redis runs with an append-only file fsynced on every write (`--appendfsync always`) and no RDB
snapshots (`--save ""`): a SIGKILL then loses nothing Redis acknowledged, which is how a
production Redis holding a Celery broker and an event stream must be run. A Redis that forgets
its data on restart would drop the stream's events, and no service could prevent that.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from sqlalchemy import create_engine, text

from campaign_billing.migrations.runner import upgrade

BIN = Path(sys.executable).parent
# Credentials of the run's own throwaway processes, nothing else's.
TOKEN = "chaos-token"  # noqa: S105
WEBHOOK_SECRET = "whsec_chaos_secret"  # noqa: S105
STRIPE_KEY = "sk_test_chaos_key"
DRIVER_APPLICATION = "chaos-driver"
PG_HOST = os.environ.get("CHAOS_PG_HOST", "127.0.0.1")
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _spawn(argv: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        # A session of its own: a kill reaches the process and whatever it started.
        return subprocess.Popen(  # noqa: S603 (our own commands)
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 15) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


@dataclass
class OwnRedis:
    """A redis-server of the run's own on a free port, restartable with its data kept."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
        ]
        self.process = _spawn(argv, self.data_dir / "redis.log", dict(os.environ))
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            wait_until(lambda: self._pings(client), timeout=15, what="redis-server")
        finally:
            client.close()

    @staticmethod
    def _pings(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def crash(self) -> None:
        """SIGKILL: no shutdown save, the append-only file is all that survives."""
        assert self.process is not None
        _stop(self.process, signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


@dataclass
class ChaosDatabase:
    """A database of the run's own, built by the real migrations."""

    name: str

    @property
    def url(self) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"

    def url_for(self, application: str) -> str:
        # The application name tells, in pg_stat_activity, which process holds a connection.
        return f"{self.url}?application_name={application}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{PG_HOST}:5432/{self.name}"

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=autocommit, application_name=DRIVER_APPLICATION)

    def terminate_service_connections(self) -> int:
        """pg_terminate_backend on every connection to this database but the driver's own."""
        with self.connect() as connection:
            row = connection.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                "AND application_name <> %s",
                (self.name, DRIVER_APPLICATION),
            ).fetchone()
        return int(row[0]) if row else 0


@dataclass
class Stack:
    """The service's processes, started and stopped as an operator would run them."""

    database: ChaosDatabase
    own_redis: OwnRedis
    log_dir: Path
    worker_concurrency: int
    sweep_stale_after_seconds: float
    api_port: int = field(default_factory=free_port)
    stripe_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    incarnations: dict[str, int] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.stripe_port}"

    @property
    def redis_url(self) -> str:
        return f"{self.own_redis.url}/0"

    def env(self, application: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database.url_for(application),
            "REDIS_URL": self.redis_url,
            "BROKER_URL": f"{self.own_redis.url}/1",
            "STRIPE_API_BASE": self.stripe_url,
            "STRIPE_API_KEY": STRIPE_KEY,
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "API_TOKENS": TOKEN,
            # Far above what the run sends: the limiter is not what this run tests.
            "STRIPE_RATE_LIMIT": "500",
            "SWEEP_STALE_AFTER_SECONDS": str(self.sweep_stale_after_seconds),
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }

    def _start(self, name: str, argv: list[str]) -> None:
        incarnation = self.incarnations.get(name, 0) + 1
        self.incarnations[name] = incarnation
        log_path = self.log_dir / f"{name}.{incarnation}.log"
        self.processes[name] = _spawn(argv, log_path, self.env(name))

    def start_stripe(self) -> None:
        webhook_url = f"{self.api_url}/webhooks/stripe"
        argv = [
            str(BIN / "python"),
            "-m",
            "campaign_billing.stripe_server",
            "--port",
            str(self.stripe_port),
            "--webhook-url",
            webhook_url,
            "--webhook-secret",
            WEBHOOK_SECRET,
        ]
        self._start("stripe", argv)
        wait_until(lambda: self._answers(f"{self.stripe_url}/_test/health"), 30, "Stripe server")

    def start_api(self) -> None:
        self._start("api", [str(BIN / "campaign-billing"), "serve", "--port", str(self.api_port)])
        wait_until(lambda: self._answers(f"{self.api_url}/healthz"), 30, "the API")

    def start_worker(self, name: str) -> None:
        argv = [
            str(BIN / "campaign-billing"),
            "worker",
            "--concurrency",
            str(self.worker_concurrency),
            "--hostname",
            f"{name}@chaos",
        ]
        self._start(name, argv)

    def start_relay(self) -> None:
        self._start("relay", [str(BIN / "campaign-billing"), "relay", "--sweep-every", "1"])

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, name: str) -> None:
        _stop(self.processes.pop(name), signal.SIGKILL)

    def worker_names(self) -> list[str]:
        return sorted(name for name in self.processes if name.startswith("worker"))

    def alive(self) -> dict[str, bool]:
        return {name: process.poll() is None for name, process in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            _stop(process)
        self.processes.clear()

    def log_files(self, name_prefix: str) -> list[Path]:
        return sorted(self.log_dir.glob(f"{name_prefix}*.log"))
