"""A worker's own metrics server (WORKER_METRICS_PORT): what only the working process counts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from campaign_billing import metrics
from campaign_billing.observability import worker_metrics
from campaign_billing.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _stopped() -> Iterator[None]:
    yield
    worker_metrics.stop()


def test_the_server_serves_webhook_lag_and_stripe_calls_on_the_configured_port() -> None:
    port = free_port()
    assert worker_metrics.start(Settings(worker_metrics_port=port)) == port
    metrics.observe_webhook_lag(
        "processed", 1_800_000_000, datetime.fromtimestamp(1_800_000_003, UTC)
    )

    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

    assert 'campaign_billing_webhook_lag_seconds_bucket{le="5.0",status="processed"}' in body
    assert "campaign_billing_stripe_calls_total" in body
    assert "campaign_billing_charge_seconds" in body


def test_the_server_is_off_unless_a_port_is_set() -> None:
    assert worker_metrics.start(Settings(worker_metrics_port=0)) is None


def test_a_port_already_taken_leaves_the_worker_running_without_metrics() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])

        assert worker_metrics.start(Settings(worker_metrics_port=port)) is None


def test_a_second_start_in_one_process_reuses_the_running_server() -> None:
    port = free_port()
    assert worker_metrics.start(Settings(worker_metrics_port=port)) == port
    assert worker_metrics.start(Settings(worker_metrics_port=free_port())) == port
