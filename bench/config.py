"""How long and how much each figure measures: a quick mode for CI (about 3 minutes) and the
full one for the README's figures (`BENCH_FULL=1`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.stack import WorkerLayout

# What the service ships: `campaign-billing worker` runs 32 threads in one process.
SHIPPED = WorkerLayout(1, 32)
# What the measurements recommend (docs/workers.md): enough slots for 100 charges/s at 300 ms
# with the rate limiter's waits, in one process.
RECOMMENDED = WorkerLayout(1, 64)


@dataclass(frozen=True)
class Mode:
    name: str
    # charge_throughput_300ms
    charge_window_s: float
    charge_warmup_s: float
    charge_layouts: tuple[WorkerLayout, ...]
    # pipeline_throughput_0ms, cpu_ms_per_publish, bare_celery_noop
    pipeline_publishes: int
    noop_tasks: int
    profile_s: float
    # failure_latency_p99
    failure_requests: int
    # webhook_ingest, bare_ingest
    ingest_s: float
    # webhook_apply
    apply_events: int
    agents: int


QUICK = Mode(
    name="quick",
    charge_window_s=15,
    charge_warmup_s=5,
    charge_layouts=(RECOMMENDED,),
    pipeline_publishes=1000,
    noop_tasks=3000,
    profile_s=6,
    failure_requests=500,
    ingest_s=6,
    apply_events=800,
    agents=20,
)

FULL = Mode(
    name="full",
    charge_window_s=60,
    charge_warmup_s=8,
    charge_layouts=(
        SHIPPED,
        RECOMMENDED,
        WorkerLayout(1, 128),
        WorkerLayout(2, 64),
    ),
    pipeline_publishes=3000,
    noop_tasks=15000,
    profile_s=15,
    failure_requests=3000,
    ingest_s=20,
    apply_events=3000,
    agents=50,
)


def current() -> Mode:
    return FULL if os.environ.get("BENCH_FULL", "") not in ("", "0") else QUICK
