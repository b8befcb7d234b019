"""Delivering events to webhook endpoints, asynchronously, with Stripe's retry behaviour and the
test controls that make deliveries misbehave on purpose.

Stripe's documented behaviour (https://docs.stripe.com/webhooks): each event goes to every
enabled endpoint whose `enabled_events` lists its type (or `*`), as a POST of the event JSON
signed in `Stripe-Signature`; any answer but 2xx is a failure and is retried with backoff; events
are not guaranteed to arrive in order and may arrive more than once. The controls exaggerate the
last two: duplicates, delays with jitter, and holding deliveries to release them shuffled.
"""

import asyncio
import contextlib
import json
import random
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from campaign_billing.stripe_server.signing import signature_header
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject

DeliveryOrder = Literal["fifo", "reverse", "shuffle"]


class DeliveryConfig(BaseModel):
    duplicates: int = Field(default=0, ge=0)
    """Extra copies of each delivery (same event id and body)."""
    delay_ms: float = Field(default=0.0, ge=0)
    delay_jitter_ms: float = Field(default=0.0, ge=0)
    """Uniform extra delay per delivery; with concurrency it reorders deliveries."""
    retry_delays_s: list[float] = Field(default_factory=lambda: [1.0, 4.0, 16.0])
    timeout_s: float = Field(default=10.0, gt=0)


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    endpoint_id: str
    payload: str
    attempt: int = 1
    copy: int = 0


@dataclass(frozen=True)
class DeliveryRecord:
    event_id: str
    event_type: str
    endpoint_id: str
    url: str
    attempt: int
    copy: int
    status_code: int | None
    error: str | None
    started_at: float
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDispatcher:
    def __init__(
        self, state: AccountState, config: DeliveryConfig, concurrency: int, rng: random.Random
    ) -> None:
        self._state = state
        self.config = config
        self._rng = rng
        self._concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: list[Delivery] = []
        self.paused = False
        self._delivered: set[tuple[str, str]] = set()
        self._records: deque[DeliveryRecord] = deque(maxlen=100_000)
        state.event_log.subscribe(self.on_event)

    # --- receiving events ---------------------------------------------------------------------

    def on_event(self, event: JsonObject) -> None:
        endpoints = [
            endpoint
            for endpoint in self._state.webhook_endpoints
            if endpoint["status"] == "enabled"
            and ("*" in endpoint["enabled_events"] or event["type"] in endpoint["enabled_events"])
        ]
        event["pending_webhooks"] = len(endpoints)
        if not endpoints:
            return
        payload = json.dumps(event, indent=2)
        for endpoint in endpoints:
            for copy in range(1 + self.config.duplicates):
                self._submit(
                    Delivery(event["id"], event["type"], endpoint["id"], payload, copy=copy)
                )

    def _submit(self, delivery: Delivery) -> None:
        if self.paused:
            self._held.append(delivery)
            return
        delay_s = self.config.delay_ms / 1000
        if self.config.delay_jitter_ms:
            delay_s += self._rng.uniform(0, self.config.delay_jitter_ms) / 1000
        self._spawn(self._deliver(delivery, delay_s))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- controls -----------------------------------------------------------------------------

    def pause(self) -> None:
        self.paused = True

    def release(self, order: DeliveryOrder, *, resume: bool) -> int:
        """Sends the held deliveries in `order`; `resume` also stops holding new ones."""
        held, self._held = self._held, []
        if order == "reverse":
            held.reverse()
        elif order == "shuffle":
            self._rng.shuffle(held)
        if resume:
            self.paused = False
        for delivery in held:
            self._spawn(self._deliver(delivery, 0.0))
        return len(held)

    @property
    def held_count(self) -> int:
        return len(self._held)

    @property
    def in_flight_count(self) -> int:
        return len(self._tasks)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Waits until no delivery or retry is in flight (held deliveries do not count)."""
        deadline = time.monotonic() + timeout_s
        while self._tasks:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def records(self) -> list[JsonObject]:
        return [{**asdict(record), "succeeded": record.succeeded} for record in self._records]

    def reset(self, config: DeliveryConfig) -> None:
        for task in self._tasks:
            task.cancel()
        self._held.clear()
        self._records.clear()
        self._delivered.clear()
        self.paused = False
        self.config = config

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- delivering ---------------------------------------------------------------------------

    async def _deliver(self, delivery: Delivery, delay_s: float) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)
        endpoint = self._state.webhook_endpoints.get(delivery.endpoint_id)
        if endpoint is None or endpoint["status"] != "enabled":
            return  # Stripe stops delivering to a deleted or disabled endpoint.
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._concurrency)
        async with self._semaphore:
            record = await self._post(delivery, endpoint["url"])
        self._records.append(record)
        if record.succeeded:
            self._mark_delivered(delivery)
        elif delivery.attempt <= len(self.config.retry_delays_s):
            await asyncio.sleep(self.config.retry_delays_s[delivery.attempt - 1])
            self._submit(replace(delivery, attempt=delivery.attempt + 1))

    async def _post(self, delivery: Delivery, url: str) -> DeliveryRecord:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout_s)
        secret = self._state.webhook_secrets.get(delivery.endpoint_id, "")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": signature_header(
                delivery.payload, secret, self._state.clock.timestamp()
            ),
        }
        started = time.time()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                url, content=delivery.payload.encode(), headers=headers
            )
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        return DeliveryRecord(
            delivery.event_id,
            delivery.event_type,
            delivery.endpoint_id,
            url,
            delivery.attempt,
            delivery.copy,
            status_code,
            error,
            started,
            (time.time() - started) * 1000,
        )

    def _mark_delivered(self, delivery: Delivery) -> None:
        key = (delivery.event_id, delivery.endpoint_id)
        if key in self._delivered:
            return
        self._delivered.add(key)
        event = self._state.event_log.events.get(delivery.event_id)
        if event is not None and event["pending_webhooks"] > 0:
            event["pending_webhooks"] -= 1
