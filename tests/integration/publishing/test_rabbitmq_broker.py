"""The broker is swappable: the publish flow through a real Celery worker process on RabbitMQ."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from campaign_billing.domain.model import OwnerType
from campaign_billing.domain.publishing import PublishStatus
from campaign_billing.services import publishing
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import StripeTestServer
from campaign_billing.wiring import Container, build_container
from campaign_billing.workers.celery_app import create_celery
from tests.support.world import World

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
# A queue of our own on the shared RabbitMQ, so no other run's worker takes our task.
QUEUE = f"publish-rabbit-test-{os.getpid()}"


@pytest.fixture
def rabbit_container(
    clean_db: None, settings: Settings, stripe_server: StripeTestServer
) -> Iterator[Container]:
    stripe_server.control.reset()
    configured = settings.model_copy(
        update={
            "stripe_api_base": stripe_server.base_url,
            "stripe_rate_limit": 1000.0,
            "broker_url": RABBITMQ_URL,
        }
    )
    container = build_container(configured)
    yield container
    container.close()


@pytest.fixture
def rabbit_worker(rabbit_container: Container, tmp_path: Path) -> Iterator[Celery]:
    settings = rabbit_container.settings
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "BROKER_URL": RABBITMQ_URL,
        "STRIPE_API_BASE": settings.stripe_api_base,
        "STRIPE_RATE_LIMIT": "1000",
        "LOG_JSON": "true",
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "campaign-billing"),
                "worker",
                "--concurrency",
                "2",
                "--queues",
                QUEUE,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = create_celery(settings)
    yield app
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    with app.connection_for_write() as connection:
        connection.default_channel.queue_delete(QUEUE)


def test_the_publish_flow_runs_unchanged_on_rabbitmq(
    rabbit_container: Container, rabbit_worker: Celery, stripe_server: StripeTestServer
) -> None:
    world = World(rabbit_container, rabbit_container.stripe_client).base()
    world.user("agent_jane", "Jane Doe")
    world.account(OwnerType.OFFICE, "off_1")
    world.campaign("cmp_1", "agent_jane")

    def send(request_id: str) -> None:
        rabbit_worker.send_task(
            "campaign_billing.publish", kwargs={"publish_request_id": request_id}, queue=QUEUE
        )

    accepted = publishing.accept_publish(
        rabbit_container.uow, send, workspace_id="ws_1", campaign_id="cmp_1", request_key=None
    )
    deadline = time.monotonic() + 60
    while True:
        request = publishing.get_publish_request(rabbit_container.uow, "ws_1", accepted.request.id)
        assert request is not None
        if request.status.is_terminal or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert request.status is PublishStatus.SUCCEEDED
    assert rabbit_worker.connection_for_write().transport.driver_type == "amqp"
    assert len(stripe_server.control.ledger()) == 1
