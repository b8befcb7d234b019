"""Celery tasks: thin entry points that take ids, call one use case each, and stop when the
work is already done. Names are the stable contract of API.md."""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task, shared_task

from campaign_billing.celeryconfig import MAX_DELIVERIES
from campaign_billing.services import publishing, sweep
from campaign_billing.workers.runtime import get_container

log = structlog.get_logger(__name__)


def _deliveries(task: Task) -> int:
    """How often this message has been delivered. Redis has no delivery count of its own, so
    count per task id in Redis (expiring with the visibility window)."""
    redis = get_container().redis
    key = f"campaign-billing:deliveries:{task.request.id}"
    count = int(redis.incr(key))
    if count == 1:
        redis.expire(key, 24 * 3600)
    return count


@shared_task(name="campaign_billing.publish", ignore_result=True, acks_late=True)
def publish(publish_request_id: str) -> str | None:
    container = get_container()
    task: Task = publish
    deliveries = _deliveries(task)
    if deliveries > MAX_DELIVERIES:
        # A poison message: leave the request to the sweep, which resends it with a new
        # message (and a fresh count) and whose reconciliation never charges under a new key.
        log.error("publish_message_poisoned", deliveries=deliveries)
        return None
    status = publishing.process_publish_request(
        container.uow,
        container.gateway,
        container.publish_settings,
        publish_request_id,
    )
    return status.value if status else None


@shared_task(name="campaign_billing.request_publish", ignore_result=True, acks_late=True)
def request_publish(workspace_id: str, campaign_id: str, request_key: str) -> str:
    """For upstream apps that enqueue straight onto the broker (API.md "Celery")."""
    container = get_container()
    accepted = publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        request_key=request_key,
        record_unknown_campaign=True,
    )
    return accepted.request.id


@shared_task(name="campaign_billing.sweep", ignore_result=True)
def run_sweep() -> dict[str, Any]:
    container = get_container()
    resent = sweep.resend_stale_requests(container.uow, container.send_publish)
    reconciled = sweep.reconcile_unknown_charges(container.uow, container.gateway)
    return {"resent": resent, "reconciled": reconciled}
