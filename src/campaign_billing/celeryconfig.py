"""Celery settings (https://docs.celeryq.dev/en/stable/userguide/configuration.html), built
from the service's settings. Why each choice, in one line each; BASELINES.md and bench/ hold the
measurements behind the pool choice."""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue

from campaign_billing.settings import Settings

QUEUES = ("publish", "webhooks", "events")

TASK_ROUTES = {
    "campaign_billing.publish": {"queue": "publish"},
    "campaign_billing.request_publish": {"queue": "publish"},
    "campaign_billing.stripe_event": {"queue": "webhooks"},
    "campaign_billing.backfill_events": {"queue": "webhooks"},
    "campaign_billing.sweep": {"queue": "events"},
    "campaign_billing.relay_outbox": {"queue": "events"},
}

# Longest delay we ever schedule (a webhook retry countdown) and longest a task may run.
MAX_COUNTDOWN_SECONDS = 300
MAX_TASK_SECONDS = 120
# Redis redelivers an unacknowledged message after this long; it must exceed every countdown
# and every task's run time, or a task still running (or waiting for its ETA) is run twice
# (https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout).
VISIBILITY_TIMEOUT_SECONDS = 900
# A message delivered more often than this is poison: its task gives up and says so.
MAX_DELIVERIES = 5


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.celery_broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        # JSON only: no pickle from a broker anyone on the network might write to.
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # Outcomes live in PostgreSQL and on the event stream, not in a result backend.
        "task_ignore_result": True,
        "result_backend": None,
        "task_queues": [Queue(name) for name in QUEUES],
        "task_default_queue": "publish",
        "task_routes": TASK_ROUTES,
        # Acknowledge after the task ran, and requeue when the worker process dies under it:
        # together with idempotent tasks this is "at least once" without losing a request.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message at a time per slot: a killed worker strands at most `concurrency` messages.
        "worker_prefetch_multiplier": 1,
        "task_time_limit": MAX_TASK_SECONDS,
        "task_soft_time_limit": MAX_TASK_SECONDS - 10,
        # Task events for Flower.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "enable_utc": True,
    }


def check_visibility_timeout(config: dict[str, Any]) -> None:
    """Refuses to start when the broker could redeliver a task that is only waiting or slow."""
    timeout = config["broker_transport_options"]["visibility_timeout"]
    longest = max(MAX_COUNTDOWN_SECONDS, config["task_time_limit"])
    if timeout <= longest:
        raise RuntimeError(
            f"broker visibility_timeout ({timeout}s) must exceed the longest countdown or task "
            f"run time ({longest}s), or tasks are delivered twice"
        )
