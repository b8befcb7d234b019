"""Fixtures of the support-read tests: a container on the test database whose gateway charges
through the Stripe test server, the help-centre article's office (World: ws_1, office off_1
"Downtown"), and an API client for the HTTP-level tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from pydantic import SecretStr

from campaign_billing.api.app import create_app
from campaign_billing.domain.model import OwnerType, Role
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import StripeServerSettings, StripeTestServer
from campaign_billing.wiring import Container, build_container
from tests.integration.api.api_harness import ApiClient
from tests.support.world import World

TOKEN = "test-token"
# Limited to a workspace of its own, which holds nothing.
OTHER_WS_TOKEN = "other-ws-token"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeTestServer]:
    with StripeTestServer(settings=StripeServerSettings(seed=23)) as server:
        yield server


@pytest.fixture
def container(
    clean_db: None, settings: Settings, stripe_server: StripeTestServer
) -> Iterator[Container]:
    stripe_server.control.reset()
    configured = settings.model_copy(
        update={
            "api_tokens": SecretStr(f"{TOKEN},{OTHER_WS_TOKEN}=ws_other"),
            "stripe_api_base": stripe_server.base_url,
            "stripe_rate_limit": 1000.0,
            "stripe_retry_initial_seconds": 0.01,
        }
    )
    sent: list[Any] = []
    built = build_container(configured, task_sender=lambda *task: sent.append(task))
    yield built
    built.close()


@pytest.fixture
def world(container: Container) -> World:
    """Office Downtown with its card, admin Sam Lee over it, and agent Jane Doe (no consent,
    no account yet)."""
    world = World(container, container.stripe_client).base()
    world.user("admin_sam", "Sam Lee", Role.ADMIN)
    world.user("agent_jane", "Jane Doe")
    world.account(OwnerType.OFFICE, "off_1")
    return world


@pytest.fixture
def client_for(container: Container) -> Iterator[Callable[[str], ApiClient]]:
    app = create_app(container)
    clients: list[ApiClient] = []
    with start_blocking_portal() as portal:

        def make(token: str) -> ApiClient:
            clients.append(ApiClient(portal, app, token))
            return clients[-1]

        yield make
        for client in clients:
            client.close()


@pytest.fixture
def api(client_for: Callable[[str], ApiClient]) -> ApiClient:
    return client_for(TOKEN)
