"""The end-to-end tier: the service as separate processes (API, Celery worker, relay) on the
test PostgreSQL and Redis, with the Stripe test server delivering signed webhooks to the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from campaign_billing.stripe_server import StripeServerSettings, StripeTestServer, WebhookTarget
from tests.conftest import TEST_REDIS_URL
from tests.e2e.harness import WEBHOOK_SECRET, Api, Stack, Stream, free_port

# The broker gets a Redis database of its own, so a test can empty the stream's database
# without dropping Celery's queues.
_REDIS_BASE, _REDIS_DB = TEST_REDIS_URL.rsplit("/", 1)
BROKER_URL = f"{_REDIS_BASE}/{(int(_REDIS_DB) + 4) % 8 + 8}"


# Package scope: the stack's relay and sweep must be gone before tests/integration runs on the
# same database, or they relay its outbox rows and resend its requests and webhook events.
@pytest.fixture(scope="package")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    api_port = free_port()
    server = StripeTestServer(
        settings=StripeServerSettings(
            webhook_targets=(
                WebhookTarget(f"http://127.0.0.1:{api_port}/webhooks/stripe", WEBHOOK_SECRET),
            ),
            webhook_retry_delays_s=(0.2, 0.5, 1.0),
        )
    ).start()
    for url in (TEST_REDIS_URL, BROKER_URL):
        redis.Redis.from_url(url).flushdb()
    running = Stack(
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        broker_url=BROKER_URL,
        stripe_base=server.base_url,
        log_dir=Path(tmp_path_factory.mktemp("e2e-logs")),
        api_port=api_port,
        extra_env={"SWEEP_STALE_AFTER_SECONDS": "3"},
        stripe=server,
    )
    try:
        running.start_api()
        running.start_worker("worker1")
        running.start_relay()
        yield running
    finally:
        running.stop()
        server.stop()


@pytest.fixture(scope="package")
def stripe_server(stack: Stack) -> StripeTestServer:
    return stack.stripe


@pytest.fixture
def api(stack: Stack, clean_db: None) -> Iterator[Api]:
    redis.Redis.from_url(stack.redis_url).delete("campaign-billing.events")
    client = Api(stack.api_url)
    yield client
    client.http.close()


@pytest.fixture
def stream(stack: Stack) -> Stream:
    return Stream(stack.redis_url)
