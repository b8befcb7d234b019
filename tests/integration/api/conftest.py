"""Fixtures of the API tests: a container on the test database with a recording task sender,
its app, and clients holding the full token, the ws_a-only token, or none."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from pydantic import SecretStr

from campaign_billing.api.app import create_app
from campaign_billing.api.dependencies import customer_gateway
from campaign_billing.settings import Settings
from campaign_billing.wiring import Container, build_container

from .api_harness import (
    TOKEN,
    WS_A_TOKEN,
    ApiClient,
    RecordingCustomers,
    SentTask,
    World,
    recording_container,
    seed_world,
)


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "api_tokens": SecretStr(f"{TOKEN}, {WS_A_TOKEN}=ws_a"),
            # No real Stripe here: a test that needs one starts the Stripe test server.
            "stripe_api_base": "http://127.0.0.1:9",
            "stripe_max_attempts": 1,
        }
    )


@pytest.fixture
def sent_tasks() -> list[SentTask]:
    return []


@pytest.fixture
def container(
    api_settings: Settings, clean_db: None, sent_tasks: list[SentTask]
) -> Iterator[Container]:
    with recording_container(api_settings, sent_tasks) as built:
        yield built


@pytest.fixture
def customers() -> RecordingCustomers:
    return RecordingCustomers()


@pytest.fixture
def app(container: Container, customers: RecordingCustomers) -> FastAPI:
    """The app, with Stripe customers answered by `customers` (a test wanting the real gateway
    clears `app.dependency_overrides`)."""
    built = create_app(container)
    built.dependency_overrides[customer_gateway] = lambda: customers
    return built


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as running:
        yield running


@pytest.fixture
def client_for(app: FastAPI, portal: BlockingPortal) -> Iterator[Callable[[str | None], ApiClient]]:
    clients: list[ApiClient] = []

    def make(token: str | None) -> ApiClient:
        client = ApiClient(portal, app, token)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_for: Callable[[str | None], ApiClient]) -> ApiClient:
    """Holds the token that may touch every workspace."""
    return client_for(TOKEN)


@pytest.fixture
def world(container: Container) -> World:
    return seed_world(container)


@pytest.fixture(scope="module")
def storeless_for() -> Iterator[Callable[[str | None], ApiClient]]:
    """Clients (holding the given token, or none) of an app whose database has no tables: for
    requests that must be refused before anything is read or stored. One that got further
    would fail there (503), not with the 4xx its test expects."""
    settings = Settings(api_tokens=SecretStr(TOKEN), database_url="sqlite://")
    app = create_app(build_container(settings))
    clients: list[ApiClient] = []
    with start_blocking_portal() as running:

        def make(token: str | None) -> ApiClient:
            clients.append(ApiClient(running, app, token))
            return clients[-1]

        yield make
        for client in clients:
            client.close()


@pytest.fixture
def storeless(storeless_for: Callable[[str | None], ApiClient]) -> ApiClient:
    return storeless_for(TOKEN)
