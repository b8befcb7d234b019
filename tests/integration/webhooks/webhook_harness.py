"""What the webhook tests share: our endpoint served over HTTP (so the Stripe test server can
deliver to it), Stripe-style signing of crafted payloads, and a stand-in broker that runs the
tasks the code sends after its commits."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import stripe
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Route

from campaign_billing.adapters.orm import OutboxRow, PaymentMethodRow, StripeEventRow
from campaign_billing.adapters.repositories.stripe_events import StripeEventStatus
from campaign_billing.api.webhooks import make_webhook_endpoint
from campaign_billing.services.stripe_events import Attempt, process_stripe_event
from campaign_billing.wiring import Container
from campaign_billing.workers.webhook_tasks import event_deps

WEBHOOK_PATH = "/webhooks/stripe"
SECRET = "whsec_current_secret"
OLD_SECRET = "whsec_previous_secret"


class ServedEndpoint:
    """`POST /webhooks/stripe` on a small Starlette app, served by uvicorn on a thread."""

    def __init__(self, container: Container) -> None:
        app = Starlette(
            routes=[Route(WEBHOOK_PATH, make_webhook_endpoint(container), methods=["POST"])]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the webhook endpoint did not start")
            time.sleep(0.005)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def signed_headers(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Signed the way Stripe signs (https://docs.stripe.com/webhooks#verify-manually)."""
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def crafted_event(
    event_type: str = "payment_method.attached",
    obj: dict[str, Any] | None = None,
    *,
    event_id: str = "evt_crafted_1",
    created: int | None = None,
) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created or int(time.time()),
            "livemode": False,
            "data": {"object": obj or {"id": "pm_crafted", "object": "payment_method"}},
        }
    )


@dataclass
class Broker:
    """Stands in for Celery: records the tasks sent after commits, and runs the webhook ones
    on demand, in order, the way a worker would."""

    container: Container | None = None
    sent: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, name: str, kwargs: dict[str, Any], queue: str) -> None:
        with self.lock:
            self.sent.append((name, kwargs, queue))

    def take(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            taken = [kwargs for sent_name, kwargs, _ in self.sent if sent_name == name]
            self.sent = [item for item in self.sent if item[0] != name]
        return taken

    def run_stripe_events(self, max_attempts: int = 3) -> list[Attempt]:
        """Processes every sent `campaign_billing.stripe_event`, until none is left."""
        assert self.container is not None
        attempts: list[Attempt] = []
        while batch := self.take("campaign_billing.stripe_event"):
            for kwargs in batch:
                attempts.append(
                    process_stripe_event(
                        event_deps(self.container),
                        kwargs["stripe_event_id"],
                        max_attempts=max_attempts,
                    )
                )
        return attempts


def stored_events(container: Container) -> list[StripeEventRow]:
    with container.uow() as uow:
        rows = list(
            uow.session.scalars(select(StripeEventRow).order_by(StripeEventRow.received_at))
        )
        uow.session.expunge_all()  # keep their loaded state past the unit of work's rollback
        return rows


def event_status(container: Container, event_id: str) -> StripeEventStatus:
    with container.uow() as uow:
        row = uow.session.get(StripeEventRow, event_id)
        assert row is not None, f"{event_id} was not stored"
        return StripeEventStatus(row.status)


def outbox(container: Container) -> list[OutboxRow]:
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(OutboxRow).order_by(OutboxRow.seq)))
        uow.session.expunge_all()
        return rows


def outbox_types(container: Container) -> list[str]:
    return [row.type for row in outbox(container)]


def card_rows(container: Container, account_id: str) -> list[PaymentMethodRow]:
    with container.uow() as uow:
        rows = uow.accounts.payment_method_rows(account_id)
        uow.session.expunge_all()
        return rows


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)
