"""What the API tests share: a synchronous client for the ASGI app, a Stripe customer gateway we
own, and the ids of the data every test starts from.

The client speaks to the app through httpx's ASGI transport, driven from an anyio blocking
portal (what `starlette.testclient` does, without its deprecated httpx dependency).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from campaign_billing.adapters.orm import PaymentMethodRow
from campaign_billing.domain.model import (
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    Role,
    User,
    Workspace,
)
from campaign_billing.settings import Settings
from campaign_billing.wiring import Container, build_container

TOKEN = "test-token"
# Limited to workspace ws_a by API_TOKENS (see the `container` fixture).
WS_A_TOKEN = "ws-a-token"


class ApiClient:
    def __init__(self, portal: BlockingPortal, app: FastAPI, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self._portal = portal
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api.test", headers=headers
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._portal.call(partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)


@dataclass
class RecordingCustomers:
    """A Stripe customer gateway of our own. Like Stripe, the same idempotency key always
    answers the same customer; `failures` are raised, in order, before answering."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def create_customer(
        self, *, name: str, email: str | None, metadata: Mapping[str, str], idempotency_key: str
    ) -> str:
        self.calls.append(
            {
                "name": name,
                "email": email,
                "metadata": dict(metadata),
                "idempotency_key": idempotency_key,
            }
        )
        if self.failures:
            raise self.failures.pop(0)
        return "cus_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:14]


@dataclass(frozen=True)
class World:
    """Two workspaces, each with an office, an agent and a campaign billed to that agent;
    ws_a also has an admin."""

    ws_a: str = "ws_a"
    office_a: str = "office_a"
    agent_a: str = "agent_a"
    admin_a: str = "admin_a"
    campaign_a: str = "campaign_a"
    ws_b: str = "ws_b"
    office_b: str = "office_b"
    agent_b: str = "agent_b"
    campaign_b: str = "campaign_b"


def campaign_body(
    workspace_id: str, office_id: str, agent_id: str, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "workspace_id": workspace_id,
        "office_id": office_id,
        "created_by": agent_id,
        "version": "v2",
        "amount": 15000,
        "currency": "USD",
        "billing": {"type": "agent", "billing_user_id": agent_id},
    }
    body.update(changes)
    return body


def seed_world(container: Container) -> World:
    """Stores the world in one transaction (the routes that sync it have their own tests)."""
    world = World()
    with container.uow() as uow:
        for ws, office, agent, campaign, name in (
            (world.ws_a, world.office_a, world.agent_a, world.campaign_a, "Jane Doe"),
            (world.ws_b, world.office_b, world.agent_b, world.campaign_b, "Bob Roe"),
        ):
            uow.directory.upsert_workspace(Workspace(ws, f"Realty {ws}"))
            uow.directory.upsert_office(Office(office, ws, f"Downtown {ws}"))
            uow.directory.upsert_user(
                User(agent, ws, name, f"{agent}@example.com", Role.AGENT, office)
            )
            uow.directory.upsert_campaign(
                Campaign(
                    id=campaign,
                    workspace_id=ws,
                    office_id=office,
                    created_by=agent,
                    version=CampaignVersion.V2,
                    price=Money(15000, "usd"),
                    billing=BillingSelection(BillingType.AGENT, billing_user_id=agent),
                )
            )
        uow.directory.upsert_user(
            User(world.admin_a, world.ws_a, "Ann Admin", "ann@example.com", Role.ADMIN, None)
        )
        uow.commit()
    return world


def save_card(container: Container, account_id: str) -> None:
    """What the webhook worker records when Stripe reports a saved card: a Visa ending 4242,
    the account's default, as `pm_row_1`."""
    with container.uow() as uow:
        uow.accounts.add_payment_method_row(
            PaymentMethodRow(
                id="pm_row_1",
                billing_account_id=account_id,
                stripe_payment_method_id="pm_card_visa",
                brand="visa",
                last4="4242",
                exp_month=12,
                exp_year=2034,
                status="active",
                is_default=True,
            )
        )
        uow.commit()


# A task the app sent: (name, kwargs, queue), recorded instead of reaching a broker.
SentTask = tuple[str, dict[str, Any], str]


@contextmanager
def recording_container(settings: Settings, sent: list[SentTask]) -> Iterator[Container]:
    """A container on these settings whose tasks are recorded in `sent`, closed afterwards."""
    built = build_container(
        settings, task_sender=lambda name, kwargs, queue: sent.append((name, kwargs, queue))
    )
    try:
        yield built
    finally:
        built.close()
