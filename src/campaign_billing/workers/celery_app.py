"""The Celery app. `celery -A campaign_billing.workers.celery_app worker` works, as does
`campaign-billing worker`. Creating the app connects to nothing."""

from __future__ import annotations

from typing import Any

import structlog
from celery import Celery, signals

from campaign_billing.celeryconfig import celery_config, check_visibility_timeout
from campaign_billing.observability import worker_metrics
from campaign_billing.settings import Settings, load_settings

_app: Celery | None = None


def create_celery(settings: Settings) -> Celery:
    app = Celery("campaign_billing")
    config = celery_config(settings)
    check_visibility_timeout(config)
    app.conf.update(config)
    app.conf.imports = ("campaign_billing.workers.tasks", "campaign_billing.workers.webhook_tasks")
    return app


def get_celery() -> Celery:
    global _app
    if _app is None:
        _app = create_celery(load_settings())
    return _app


def set_celery(app: Celery) -> None:
    global _app
    _app = app


@signals.task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task=getattr(task, "name", None))


@signals.task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


@signals.worker_init.connect
def _start_metrics_server(sender: Any = None, **_: Any) -> None:
    # In the worker's main process, where the threads pool runs every task.
    worker_metrics.start(load_settings(), pool=str(getattr(sender, "pool_cls", "")))


@signals.worker_shutdown.connect
def _stop_metrics_server(**_: Any) -> None:
    worker_metrics.stop()


def __getattr__(name: str) -> Any:
    # `celery -A campaign_billing.workers.celery_app` looks up `app` (or `celery`) here.
    if name in ("app", "celery"):
        return get_celery()
    raise AttributeError(name)
