"""`charge_throughput_300ms` and `worker_rss_mb`: charges per second sustained against Stripe's
rate limit, for each worker layout of the mode.

The Stripe test server answers in 300 ms +- 50 ms (250 ms plus a uniform 0-100 ms) and refuses
past 100 requests in any one second (429, as Stripe does); the service runs with
`STRIPE_RATE_LIMIT=100`. Publish requests arrive over HTTP at 1.15x the limit, so the service is
always saturated; the rate is what the Stripe server admitted and executed in the window after
the warm-up, by arrival time. Requests wait while more than `BACKLOG` publish tasks are queued:
the service stays saturated, and a service slower than the offered load does not leave a
backlog of thousands for the next measurement. The baseline is what the layout allows at best:
min(limit, slots / 0.3 s).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from bench import procstat
from bench.figures import Context, CpuMeter, phase
from bench.load import Request, open_loop
from bench.platform import auth_headers
from bench.processes import wait_until
from bench.results import Figure, ratio
from bench.stack import WorkerLayout

LIMIT = 100
LATENCY_MS, JITTER_MS = 250, 100  # 300 ms +- 50 ms
MEAN_LATENCY_S = (LATENCY_MS + JITTER_MS / 2) / 1000
OFFERED = 1.15 * LIMIT
BACKLOG = 200


def measure(ctx: Context, layout: WorkerLayout) -> dict[str, Any]:
    stack, mode = ctx.stack, ctx.mode
    seconds = mode.charge_warmup_s + mode.charge_window_s
    count = int(OFFERED * seconds)
    campaigns = ctx.campaign_ids(f"charge{layout.slots}", count)
    with phase(f"campaigns for charge_throughput_300ms {layout.label} ({count})"):
        ctx.platform.campaigns(campaigns)
    stack.control.set_faults(latency_ms=LATENCY_MS, jitter_ms=JITTER_MS)
    stack.control.set_rate_limit(LIMIT)
    stack.start_workers(layout, env={"STRIPE_RATE_LIMIT": str(LIMIT)})
    sampler = _Sampler(ctx)
    groups: dict[str, Callable[[], list[int]]] = {p.name: p.pids for p in stack.service_procs()}
    groups["postgres"] = stack.postgres_backend_pids
    groups["stripe_test_server"] = stack.group.procs["stripe"].pids
    meter = CpuMeter(groups)
    with phase(f"charge_throughput_300ms {layout.label} ({seconds:.0f}s at {OFFERED:.0f}/s)"):
        sampler.start()
        sessions = stack.database_sessions()
        meter.start()
        start = time.time() + 0.2
        samples = open_loop(
            stack.api_url,
            lambda i: Request("POST", f"/v1/campaigns/{campaigns[i]}/publish", {}),
            OFFERED,
            count,
            headers=auth_headers(),
            hold=lambda: stack.queue_length("publish") > BACKLOG,
            seconds=seconds,
        )
        meter.stop()
        sessions = stack.database_sessions() - sessions
        window = (start + mode.charge_warmup_s, start + seconds)
        refused = sum(1 for s in samples if s.status != 202)
        # Let the backlog drain, so the next figure starts from an idle service.
        drained = _drain(ctx, timeout=seconds + 60)
        sampler.stop()
    stats = stack.control.request_stats(
        bucket_s=1,
        since=window[0],
        until=window[1],
        method="POST",
        path_prefix="/v1/payment_intents",
    )
    everything = stack.control.request_stats(bucket_s=1, since=start)
    rss = [round(procstat.rss_mb(p.pid), 1) for p in stack.workers()]
    executed = stats["by_outcome"].get("ok", 0)
    rate = executed / (window[1] - window[0])
    bound = min(LIMIT, layout.slots / MEAN_LATENCY_S)
    return {
        "layout": layout.label,
        "slots": layout.slots,
        "charges_per_s": round(rate, 1),
        "bound": round(bound, 1),
        "ratio": round(rate / bound, 3),
        "stripe_429s": everything["by_outcome"].get("rate_limited", 0),
        "stripe_outcomes": everything["by_outcome"],
        "peak_rps_in_any_1s_bucket": stats["peak_rps"],
        "per_second": [b["count"] for b in stats["buckets"]],
        "publish_requests": count,
        "publish_sent": len(samples),
        "publish_refused": refused,
        "backlog_drained": drained,
        "worker_rss_mb": rss,
        # CPU while publishes were arriving (cores: CPU seconds per second; a threads worker
        # cannot use more than about one, the GIL's).
        "cores_busy": {name: round(meter.cores(name), 2) for name in groups},
        "machine_busy": round(meter.machine_busy, 2),
        "db_connections_peak": sampler.peak_connections,
        "db_connections_opened": sessions,
        "queue_peak": sampler.peak_queue,
        "loadavg": [round(x, 2) for x in procstat.loadavg()],
    }


def _drain(ctx: Context, timeout: float) -> bool:
    try:
        wait_until(
            lambda: ctx.stack.open_publish_requests() == 0, timeout, "the backlog", interval=1.0
        )
    except TimeoutError:
        return False
    return True


class _Sampler:
    """Samples the database connections and the publish queue once a second."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_connections = 0
        self.peak_queue = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.peak_connections = max(
                    self.peak_connections, self._ctx.stack.database_connections()
                )
                self.peak_queue = max(self.peak_queue, self._ctx.stack.queue_length("publish"))
            except Exception as error:  # a sample lost is not a figure lost
                print(f"  (sampler: {error})", flush=True)


def run(ctx: Context, layouts: tuple[WorkerLayout, ...], chosen: WorkerLayout) -> None:
    rows = []
    for layout in layouts:
        row = measure(ctx, layout)
        rows.append(row)
        print(
            f"  {layout.label}: {row['charges_per_s']} charges/s, {row['stripe_429s']} 429s, "
            f"rss {row['worker_rss_mb']} MB",
            flush=True,
        )
        ctx.stack.stop_workers()
    ctx.stack.control.set_rate_limit(None)
    ctx.stack.control.set_faults(latency_ms=0, jitter_ms=0)
    ctx.series["charge_throughput_300ms"] = rows
    row = next(r for r in rows if r["layout"] == chosen.label)
    ctx.add(
        Figure(
            "charge_throughput_300ms",
            row["charges_per_s"],
            "charges/s",
            baseline=row["bound"],
            baseline_name="min(limit, slots / latency)",
            ratio=ratio(row["charges_per_s"], row["bound"]),
            target=">= 90/s, zero 429s",
            met=row["charges_per_s"] >= 90 and row["stripe_429s"] == 0,
            details={k: v for k, v in row.items() if k != "per_second"},
        )
    )
    rss = max(row["worker_rss_mb"])
    ctx.add(
        Figure(
            "worker_rss_mb",
            rss,
            "MB",
            target="< 250 MB",
            met=rss < 250,
            details={"layout": chosen.label, "after": "charge_throughput_300ms"},
        )
    )
    print(json.dumps({r["layout"]: r["charges_per_s"] for r in rows}), flush=True)
