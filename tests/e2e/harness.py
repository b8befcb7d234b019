"""The running service for end-to-end tests: the real API, Celery workers and relay as
subprocesses (`campaign-billing serve|worker|relay`), the Stripe test server in this process,
all on the test PostgreSQL database and Redis.

Workers are real processes so that a test can SIGKILL one between Stripe's answer and the
commit, which is what "a worker killed" means in production.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from campaign_billing.stripe_server import StripeTestServer

BIN = Path(sys.executable).parent
TOKEN = "e2e-token"
WEBHOOK_SECRET = "whsec_e2e_secret"
EVENT_STREAM = "campaign-billing.events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Stack:
    database_url: str
    redis_url: str
    broker_url: str
    stripe_base: str
    log_dir: Path
    stripe: StripeTestServer
    api_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "BROKER_URL": self.broker_url,
            "STRIPE_API_BASE": self.stripe_base,
            "STRIPE_API_KEY": "sk_test_e2e_key",
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "API_TOKENS": TOKEN,
            "STRIPE_RATE_LIMIT": "1000",
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
        }
        env.update(self.extra_env)
        return env

    def _spawn(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [str(BIN / "campaign-billing"), *args],
                env={**self.env(), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def start_api(self) -> None:
        self._spawn("api", "serve", "--port", str(self.api_port))
        wait_until(self._api_ready, timeout=30, what="the API")

    def _api_ready(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(
        self, name: str = "worker1", concurrency: int = 8, env: dict[str, str] | None = None
    ) -> None:
        self._spawn(
            name,
            "worker",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"{name}@e2e",
            env=env,
        )

    def start_relay(self) -> None:
        self._spawn("relay", "relay", "--sweep-every", "1")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=20)

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


class Api:
    """A thin client of the HTTP API with the upstream app's token."""

    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def put(self, path: str, body: dict[str, Any]) -> httpx.Response:
        response = self.http.put(path, json=body)
        assert response.status_code < 300, response.text
        return response

    def publish(self, campaign_id: str, key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(f"/v1/campaigns/{campaign_id}/publish", headers=headers)

    def publish_request(self, request_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/publish-requests/{request_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_terminal(self, request_id: str, timeout: float = 30.0) -> dict[str, Any]:
        def terminal() -> dict[str, Any] | None:
            body = self.publish_request(request_id)
            return body if body["status"] in ("succeeded", "failed", "requires_action") else None

        result: dict[str, Any] = wait_until(terminal, timeout=timeout, what=request_id)
        return result


class Stream:
    """Reads the event stream the relay writes."""

    def __init__(self, redis_url: str) -> None:
        self.redis = redis.Redis.from_url(redis_url)

    def events(self) -> list[dict[str, Any]]:
        entries = self.redis.xrange(EVENT_STREAM)
        return [json.loads(fields[b"event"]) for _id, fields in entries]

    def for_request(self, request_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["data"].get("publish_request_id") == request_id]

    def wait_for(self, request_id: str, event_type: str, timeout: float = 20.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((e for e in self.for_request(request_id) if e["type"] == event_type), None)

        result: dict[str, Any] = wait_until(found, timeout=timeout, what=event_type)
        return result


def iter_lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue
