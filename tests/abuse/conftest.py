"""Fixtures of the abuse tests: the API app on the test database, with the Stripe test server
behind it (so no route answers 503 for want of a Stripe), two workspaces (ws_a, ws_b) from the
API tests' harness, and clients holding the full token, the ws_a-only token, or none."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
from pydantic import SecretStr

from campaign_billing.api.app import create_app
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import StripeServerSettings, StripeTestServer
from campaign_billing.wiring import Container
from tests.integration.api.api_harness import (
    TOKEN,
    WS_A_TOKEN,
    ApiClient,
    SentTask,
    World,
    recording_container,
    seed_world,
)


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeTestServer]:
    with StripeTestServer(settings=StripeServerSettings(seed=9)) as server:
        yield server


@pytest.fixture
def abuse_settings(settings: Settings, stripe_server: StripeTestServer) -> Settings:
    stripe_server.control.reset()
    return settings.model_copy(
        update={
            "api_tokens": SecretStr(f"{TOKEN}, {WS_A_TOKEN}=ws_a"),
            "stripe_api_base": stripe_server.base_url,
            "stripe_rate_limit": 1000.0,
            "stripe_max_attempts": 1,
        }
    )


@pytest.fixture
def sent_tasks() -> list[SentTask]:
    return []


@pytest.fixture
def container(
    abuse_settings: Settings, clean_db: None, sent_tasks: list[SentTask]
) -> Iterator[Container]:
    with recording_container(abuse_settings, sent_tasks) as built:
        yield built


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)


@pytest.fixture
def world(container: Container) -> World:
    return seed_world(container)


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[str | None], ApiClient]]:
    clients: list[ApiClient] = []
    with start_blocking_portal() as portal:

        def make(token: str | None) -> ApiClient:
            clients.append(ApiClient(portal, app, token))
            return clients[-1]

        yield make
        for client in clients:
            client.close()
