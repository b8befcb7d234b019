"""Publishing against the real PostgreSQL and the Stripe test server, calling the use cases
directly (no broker): the state machine and the money rules, one step at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe

from campaign_billing.domain.model import OwnerType, Role
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import StripeServerSettings, StripeTestServer
from campaign_billing.wiring import Container, build_container
from tests.support.world import World


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeTestServer]:
    with StripeTestServer(settings=StripeServerSettings(seed=11)) as server:
        yield server


@pytest.fixture
def sent() -> list[tuple[str, dict[str, Any], str]]:
    return []


@pytest.fixture
def container(
    clean_db: None,
    settings: Settings,
    stripe_server: StripeTestServer,
    sent: list[tuple[str, dict[str, Any], str]],
) -> Iterator[Container]:
    stripe_server.control.reset()
    configured = settings.model_copy(
        update={
            "stripe_api_base": stripe_server.base_url,
            "stripe_rate_limit": 1000.0,
            "stripe_retry_initial_seconds": 0.01,
        }
    )
    built = build_container(
        configured, task_sender=lambda name, kwargs, queue: sent.append((name, kwargs, queue))
    )
    yield built
    built.close()


@pytest.fixture
def world(container: Container) -> World:
    world = World(container, container.stripe_client).base()
    world.user("agent_jane", "Jane Doe")
    world.user("admin_sam", "Sam Lee", Role.ADMIN)
    world.account(OwnerType.OFFICE, "off_1")
    return world


@pytest.fixture
def stripe_client(container: Container) -> stripe.StripeClient:
    return container.stripe_client
