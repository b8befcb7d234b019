"""The whole service in one process, on embedded defaults, for `campaign-billing demo`.

What runs, and what stands in for what in production:
- the HTTP API (the same FastAPI app) on a free local port, served by uvicorn in a thread;
- a Celery worker (the same tasks, threads pool) in a thread, on Celery's in-memory broker;
- the outbox relay and the sweep, in threads;
- the project's Stripe test server on a free port, delivering signed webhooks to the API;
- a SQLite file built by the same Alembic migrations, and fakeredis for the event stream and the
  rate limiter.
With `DATABASE_URL` and `REDIS_URL` set, the same runs on PostgreSQL and Redis (the broker too).
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn
from celery import Celery
from redis import Redis

from campaign_billing.api.app import create_app
from campaign_billing.events.relay import run_relay
from campaign_billing.migrations.runner import upgrade
from campaign_billing.services import sweep
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import StripeServerSettings, StripeTestServer, WebhookTarget
from campaign_billing.wiring import Container
from campaign_billing.workers.celery_app import create_celery, set_celery
from campaign_billing.workers.runtime import set_container

# A bearer token for the demo's own API on 127.0.0.1, which lives as long as the demo run.
DEMO_TOKEN = "demo-token"  # noqa: S105


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoStack:
    """Starts everything on `__enter__`, stops it on `__exit__`."""

    use_environment: bool = False
    api_port: int = field(default_factory=_free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cb-demo-")))
    container: Container = field(init=False)
    stripe: StripeTestServer = field(init=False)
    _stack: ExitStack = field(default_factory=ExitStack)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def database_description(self) -> str:
        url = self.container.settings.database_url
        return "PostgreSQL" if url.startswith("postgresql") else f"SQLite ({self.workdir})"

    def __enter__(self) -> Self:
        webhook_secret = f"whsec_{secrets.token_hex(16)}"
        self.stripe = self._stack.enter_context(
            StripeTestServer(
                settings=StripeServerSettings(
                    webhook_targets=(
                        WebhookTarget(f"{self.api_url}/webhooks/stripe", webhook_secret),
                    ),
                    webhook_retry_delays_s=(0.2, 0.5, 1.0),
                )
            )
        )
        settings = self._settings(webhook_secret)
        upgrade(settings.database_url)
        self.container = Container(
            settings, redis_factory=None if self.use_environment else _fake_redis_factory()
        )
        set_container(self.container)
        celery = self._celery(settings)
        self._start_worker(celery)
        self._start_api()
        self._start_relay()
        return self

    def _settings(self, webhook_secret: str) -> Settings:
        overrides: dict[str, Any] = {
            "stripe_api_base": self.stripe.base_url,
            "stripe_api_key": "sk_test_demo",
            "stripe_webhook_secrets": webhook_secret,
            "api_tokens": DEMO_TOKEN,
            "stripe_rate_limit": 100.0,
            "log_level": os.environ.get("LOG_LEVEL", "WARNING"),
        }
        if not self.use_environment:
            overrides["database_url"] = f"sqlite:///{self.workdir / 'campaign-billing.sqlite3'}"
            overrides["broker_url"] = "memory://localhost/"
        return Settings(**overrides)

    def _celery(self, settings: Settings) -> Celery:
        celery = create_celery(settings)
        set_celery(celery)
        return celery

    def _start_worker(self, celery: Celery) -> None:
        worker = celery.WorkController(
            pool_cls="threads",
            concurrency=4,
            queues=["publish", "webhooks", "events"],
            loglevel="WARNING",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
        thread.start()
        self._stack.callback(worker.stop, in_sighandler=False)

    def _start_api(self) -> None:
        config = uvicorn.Config(
            create_app(self.container),
            host="127.0.0.1",
            port=self.api_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="api", daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo API did not start")
            time.sleep(0.02)

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=5)

        self._stack.callback(stop)

    def _start_relay(self) -> None:
        container = self.container

        def relay() -> None:
            run_relay(
                container.uow,
                container.redis,
                container.settings.event_stream,
                self._stop,
                idle_interval=0.02,
            )

        def sweeper() -> None:
            while not self._stop.wait(2.0):
                sweep.resend_stale_requests(container.uow, container.send_publish)

        for target, name in ((relay, "relay"), (sweeper, "sweep")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._stack.close()
        set_container(None)
        self.container.close()


def _fake_redis_factory() -> Any:
    import fakeredis

    server = fakeredis.FakeServer()

    def factory() -> Redis:
        return fakeredis.FakeRedis(server=server)

    return factory
