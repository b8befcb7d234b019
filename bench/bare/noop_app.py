"""`bare_celery_noop`: a no-op Celery task with the service's own Celery settings
(`campaign_billing.celeryconfig`: acks_late, prefetch 1, task events), on the same broker, run by
the same pool and concurrency as the service's workers.

`celery -A bench.bare.noop_app worker ...` reads BROKER_URL and REDIS_URL from the environment.
Each task INCRs a counter in Redis (as BASELINES.md measured it), the only way to count
completions without a result backend.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery
from kombu.entity import Queue

from campaign_billing.celeryconfig import celery_config
from campaign_billing.settings import Settings

QUEUE = "bench-noop"
TASK = "bench.noop"
COUNTER = "bench:noop:done"


def make_app(broker_url: str, redis_url: str) -> Celery:
    app = Celery("bench_noop")
    config = celery_config(Settings(broker_url=broker_url, redis_url=redis_url))
    config.update(
        task_queues=[Queue(QUEUE)],  # type: ignore[no-untyped-call]
        task_default_queue=QUEUE,
        task_routes={},
    )
    app.conf.update(config)
    counter = redis.Redis.from_url(redis_url)

    @app.task(name=TASK, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
    def noop() -> None:
        counter.incr(COUNTER)

    return app


_app: Celery | None = None


def __getattr__(name: str) -> Any:
    # `celery -A bench.bare.noop_app` looks up `app` here; built once, when first asked for.
    global _app
    if name in ("app", "celery"):
        if _app is None:
            _app = make_app(os.environ["BROKER_URL"], os.environ["REDIS_URL"])
        return _app
    raise AttributeError(name)
