"""`bare_celery_noop`: what Celery alone drains on this broker with the service's settings, pool
and concurrency: the baseline of `pipeline_throughput_0ms` and `webhook_apply`.

The queue is filled first, then the workers start; the rate is counted from the first task done
to the last, so neither the enqueueing nor the workers' start-up is in it.
"""

from __future__ import annotations

import sys
import time

from bench import procstat
from bench.bare import noop_app
from bench.figures import Context, phase
from bench.processes import wait_until
from bench.stack import BROKER_URL, REDIS_URL, WorkerLayout


def measure(ctx: Context, layout: WorkerLayout, tasks: int) -> dict[str, float]:
    stack = ctx.stack
    app = noop_app.make_app(BROKER_URL, REDIS_URL)
    stack.broker.delete(noop_app.QUEUE)
    stack.redis.delete(noop_app.COUNTER)
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            app.send_task(noop_app.TASK, queue=noop_app.QUEUE, producer=producer)

    def done() -> int:
        value = stack.redis.get(noop_app.COUNTER)
        return int(value) if value else 0

    names = [f"noop{i}" for i in range(1, layout.processes + 1)]
    procs = [
        stack.group.spawn(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench.bare.noop_app",
                "worker",
                # The flags `campaign-billing worker` passes (src/campaign_billing/cli/main.py).
                f"--pool={layout.pool}",
                f"--concurrency={layout.concurrency}",
                f"--queues={noop_app.QUEUE}",
                "--task-events",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
                f"--hostname={name}@bench",
            ],
        )
        for name in names
    ]
    try:
        wait_until(lambda: done() > 0, 120, "the first no-op task")
        first = time.monotonic()
        cpu_before = sum(p.cpu_seconds() for p in procs)
        wait_until(lambda: done() >= tasks, 300, f"{tasks} no-op tasks", interval=0.005)
        last = time.monotonic()
        cpu = sum(p.cpu_seconds() for p in procs) - cpu_before
        rss = max(procstat.rss_mb(p.pid) for p in procs)
    finally:
        for name in names:
            stack.group.stop(name, timeout=30)
    rate = (tasks - 1) / (last - first)
    return {
        "tasks_per_s": round(rate, 1),
        "tasks": tasks,
        "seconds": round(last - first, 2),
        "worker_cpu_ms_per_task": round(cpu * 1000 / tasks, 3),
        "worker_rss_mb": round(rss, 1),
    }


def run(ctx: Context, layout: WorkerLayout) -> float:
    with phase(f"bare_celery_noop ({layout.label})"):
        ctx.stack.stop_workers()
        result = measure(ctx, layout, ctx.mode.noop_tasks)
        ctx.series[f"bare_celery_noop {layout.label}"] = result
        ctx.baselines["bare_celery_noop"] = result["tasks_per_s"]
        print(f"  bare_celery_noop: {result['tasks_per_s']} tasks/s", flush=True)
    return result["tasks_per_s"]
