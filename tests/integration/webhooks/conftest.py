"""Fixtures for the webhook tests: the Stripe test server delivering to our endpoint served on
a free port, a container on the test database, and a stand-in broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from pydantic import SecretStr

from campaign_billing.domain.model import BillingAccount, OwnerType
from campaign_billing.services.accounts import open_billing_account
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import ControlClient, StripeServerSettings, StripeTestServer
from campaign_billing.wiring import Container, build_container
from campaign_billing.workers.celery_app import create_celery, set_celery
from campaign_billing.workers.runtime import set_container
from campaign_billing.workers.webhook_tasks import RetryPolicy, set_retry_policy
from tests.integration.webhooks.webhook_harness import (
    OLD_SECRET,
    SECRET,
    Broker,
    ServedEndpoint,
)
from tests.support.world import World


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeTestServer]:
    settings = StripeServerSettings(seed=5, webhook_retry_delays_s=(0.05, 0.1, 0.2))
    with StripeTestServer(settings=settings) as server:
        yield server


@pytest.fixture
def control(stripe_server: StripeTestServer) -> ControlClient:
    stripe_server.control.reset()
    return stripe_server.control


@pytest.fixture
def webhook_settings(settings: Settings, stripe_server: StripeTestServer) -> Settings:
    return settings.model_copy(
        update={
            "stripe_api_base": stripe_server.base_url,
            "stripe_rate_limit": 1000.0,
            "stripe_retry_initial_seconds": 0.01,
            # Two secrets: the current one and the one being rotated out.
            "stripe_webhook_secrets": SecretStr(f"{SECRET},{OLD_SECRET}"),
            "webhook_max_body_bytes": 64 * 1024,
        }
    )


@pytest.fixture
def broker() -> Broker:
    return Broker()


@pytest.fixture
def container(
    clean_db: None, webhook_settings: Settings, control: ControlClient, broker: Broker
) -> Iterator[Container]:
    built = build_container(webhook_settings, task_sender=broker.send)
    broker.container = built
    yield built
    built.close()


@pytest.fixture
def endpoint(container: Container) -> Iterator[ServedEndpoint]:
    served = ServedEndpoint(container)
    yield served
    served.stop()


@pytest.fixture
def delivering(endpoint: ServedEndpoint, control: ControlClient) -> ServedEndpoint:
    """Our endpoint registered on the Stripe test server, which signs with SECRET."""
    control.add_webhook_endpoint(endpoint.url, secret=SECRET)
    return endpoint


@pytest.fixture
def world(container: Container) -> World:
    world = World(container, container.stripe_client).base()
    world.user("agent_jane", "Jane Doe")
    return world


@pytest.fixture
def jane_account(world: World, container: Container) -> BillingAccount:
    """Jane's billing account as the service opens it: pending setup, with a Stripe customer."""
    opened = open_billing_account(
        container.uow,
        container.gateway,
        workspace_id=world.workspace_id,
        owner_type=OwnerType.AGENT,
        owner_id="agent_jane",
    )
    return opened.account


@pytest.fixture
def celery_worker(container: Container) -> Iterator[Celery]:
    """A real Celery worker (threads pool) in this process, on the test Redis, consuming the
    `webhooks` queue; the container now sends its tasks through the broker."""
    app = create_celery(container.settings)
    container.task_sender = None
    set_celery(app)
    set_container(container)
    set_retry_policy(RetryPolicy(max_attempts=3, base_seconds=0.2, cap_seconds=0.5))
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            queues="webhooks",
            loglevel="WARNING",
            shutdown_timeout=20,
        ):
            yield app
    finally:
        set_retry_policy(RetryPolicy())
        set_container(None)
