"""`pipeline_throughput_0ms` and `cpu_ms_per_publish`: publishes per second end to end, from the
HTTP publish request to `campaign.published` on the event stream, with the Stripe test server
answering at once and no rate limit; and the CPU all the service's processes spent per publish,
from `/proc`. A second, shorter burst runs under py-spy for the profile.

`wrk` sends the publish requests (16 connections, each request once): a Python client would
take a good part of one of the two cores from the service.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bench import profile, wrk
from bench.figures import Context, CpuMeter, phase
from bench.platform import auth_headers
from bench.processes import wait_until
from bench.results import RESULTS, Figure, ratio
from bench.stack import REDIS_URL, WorkerLayout
from bench.stream import StreamWatcher

CONNECTIONS = 16


def _burst(ctx: Context, campaign_ids: list[str], name: str) -> tuple[float, float, int, int]:
    """Publishes every campaign once; returns (start, end, published, failed), end being when
    the last `campaign.published` reached the stream."""
    path = ctx.work_dir / f"{name}.requests"
    wrk.write_requests(
        path, (wrk.request_line("POST", f"/v1/campaigns/{c}/publish") for c in campaign_ids)
    )
    with StreamWatcher(REDIS_URL) as stream:
        start = time.time()
        result = wrk.run(
            ctx.stack.api_url,
            path,
            threads=2,
            connections=CONNECTIONS,
            duration_s=240,
            headers=auth_headers(),
        )
        if result.status_errors:
            raise RuntimeError(f"{result.status_errors} publish requests were refused")
        wait_until(
            lambda: (
                stream.count("campaign.published") + stream.count("campaign.publish_failed")
                >= len(campaign_ids)
            ),
            300,
            f"{len(campaign_ids)} publishes to end",
        )
        published = stream.events("campaign.published")
        failed = stream.count("campaign.publish_failed")
    end = max(e.at for e in published) if published else time.time()
    return start, end, len(published), failed


def run(ctx: Context, layout: WorkerLayout) -> None:
    stack, mode = ctx.stack, ctx.mode
    stack.control.set_faults(latency_ms=0, jitter_ms=0)
    stack.control.set_rate_limit(None)
    campaigns = ctx.campaign_ids("pipeline", mode.pipeline_publishes)
    warmup = ctx.campaign_ids("warmup", 200)
    profiled = ctx.campaign_ids("profiled", int(mode.profile_s * 400))
    with phase(f"campaigns for pipeline_throughput_0ms ({len(campaigns) + len(profiled)})"):
        ctx.platform.campaigns(warmup + campaigns + profiled)
    stack.start_workers(layout)
    # Connections, prepared statements and imports warm before anything is timed.
    _burst(ctx, warmup, "pipeline-warmup")

    with phase(f"pipeline_throughput_0ms ({len(campaigns)} publishes, {layout.label})"):
        groups = {p.name: p.pids for p in stack.service_procs()}
        groups["postgres"] = stack.postgres_backend_pids
        groups["stripe_test_server"] = stack.group.procs["stripe"].pids
        meter = CpuMeter(groups)
        meter.start()
        start, end, published, failed = _burst(ctx, campaigns, "pipeline")
        meter.stop()
    rate = published / (end - start)
    noop = ctx.baselines["bare_celery_noop"]
    service_cpu = sum(
        v for k, v in meter.used.items() if k not in ("postgres", "stripe_test_server")
    )
    ctx.add(
        Figure(
            "pipeline_throughput_0ms",
            rate,
            "publishes/s",
            baseline=noop,
            baseline_name="bare_celery_noop",
            ratio=ratio(rate, noop),
            target="ratio >= 0.25",
            met=(ratio(rate, noop) or 0) >= 0.25,
            details={
                "publishes": len(campaigns),
                "published": published,
                "failed": failed,
                "seconds": round(end - start, 2),
                "workers": layout.label,
                "http_connections": CONNECTIONS,
            },
        )
    )
    per_process = {k: round(v * 1000 / published, 2) for k, v in meter.used.items()}
    ctx.add(
        Figure(
            "cpu_ms_per_publish",
            service_cpu * 1000 / published,
            "ms",
            details={
                "per_process_ms": per_process,
                "service_processes": "api, relay, workers (postgres and the Stripe test server "
                "listed apart)",
                "service_cores_busy": round(service_cpu / meter.wall, 2),
                "machine_busy": round(meter.machine_busy, 2),
                "profile": "bench/results/profile-pipeline.txt",
            },
        )
    )
    _profile(ctx, profiled)


def _profile(ctx: Context, campaign_ids: list[str]) -> None:
    """py-spy samples the service's processes while wrk publishes for `profile_s` seconds."""
    if not profile.available():
        print("  (py-spy is not installed: no profile)", flush=True)
        return
    seconds = ctx.mode.profile_s
    with phase(f"profile of a publish burst ({seconds:.0f}s, py-spy)"):
        pids = {p.name: p.pid for p in ctx.stack.service_procs()}
        path = ctx.work_dir / "pipeline-profiled.requests"
        wrk.write_requests(
            path, (wrk.request_line("POST", f"/v1/campaigns/{c}/publish") for c in campaign_ids)
        )
        files: dict[str, Path] = {}
        sampler = threading.Thread(
            target=lambda: files.update(profile.record(pids, seconds, ctx.work_dir / "stacks"))
        )
        sampler.start()
        wrk.run(
            ctx.stack.api_url,
            path,
            threads=2,
            connections=CONNECTIONS,
            duration_s=seconds + 1,
            headers=auth_headers(),
        )
        sampler.join()
        wait_until(lambda: ctx.stack.open_publish_requests() == 0, 120, "the profiled burst")
    text = profile.report(files)
    header = (
        "# Where the CPU goes during a publish burst (pipeline_throughput_0ms conditions)\n"
        f"# py-spy record --gil --nonblocking --rate 100, {seconds:.0f} s, mode "
        f"{ctx.mode.name}. self: in the function itself; total: in it or its callees.\n\n"
    )
    (RESULTS / "profile-pipeline.txt").write_text(header + text)


def run_log_level_variant(ctx: Context, layout: WorkerLayout, level: str) -> None:
    """The same burst with every service process logging at `level` instead of INFO: what the
    per-request and per-task log lines cost (BASELINES.md measured 10-20% on no-op tasks)."""
    stack = ctx.stack
    campaigns = ctx.campaign_ids(f"pipeline_{level.lower()}", ctx.mode.pipeline_publishes)
    warmup = ctx.campaign_ids(f"warmup_{level.lower()}", 200)
    ctx.platform.campaigns(warmup + campaigns)
    stack.restart_services({"LOG_LEVEL": level})
    try:
        stack.start_workers(layout)
        # Fresh processes: warm them as the INFO run was warmed, or the comparison is unfair.
        _burst(ctx, warmup, f"pipeline-warmup-{level}")
        with phase(f"pipeline_throughput_0ms at LOG_LEVEL={level} ({len(campaigns)} publishes)"):
            groups = {p.name: p.pids for p in stack.service_procs()}
            meter = CpuMeter(groups)
            meter.start()
            start, end, published, _failed = _burst(ctx, campaigns, f"pipeline-{level}")
            meter.stop()
    finally:
        stack.restart_services({})
    rate = published / (end - start)
    row = {
        "log_level": level,
        "publishes_per_s": round(rate, 1),
        "cpu_ms_per_publish": round(sum(meter.used.values()) * 1000 / published, 2),
        "per_process_ms": {k: round(v * 1000 / published, 2) for k, v in meter.used.items()},
        "machine_busy": round(meter.machine_busy, 2),
    }
    ctx.series[f"pipeline_throughput_0ms LOG_LEVEL={level}"] = row
    print(f"  at LOG_LEVEL={level}: {row}", flush=True)
