"""`python -m bench` (`make bench`): runs every figure, prints the table, writes
`bench/results/latest.json`; a full run (`BENCH_FULL=1`) also keeps its results beside the
earlier ones and redraws the plots. Exits 1 when a figure could not be measured."""

from __future__ import annotations

import resource
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import config, procstat, results
from bench.figures import Context, celery_noop, charge, failure, pipeline, webhooks
from bench.platform import Platform
from bench.stack import Stack


def main() -> int:
    # A SIGTERM (CI's timeout, a person) unwinds like Ctrl-C: the processes started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mode = config.current()
    layout = config.RECOMMENDED
    started = datetime.now(UTC)
    load_before = procstat.loadavg()
    work_dir = Path(tempfile.mkdtemp(prefix="campaign-billing-bench-"))
    print(f"bench: {mode.name} mode, logs and request files in {work_dir}", flush=True)
    stack = Stack(work_dir / "logs")
    errors: list[str] = []
    ctx: Context | None = None
    try:
        stack.start()
        platform = Platform(stack)
        platform.people(mode.agents)
        # Saving a card ends with Stripe's webhook, which a worker applies.
        stack.start_workers(layout)
        platform.accounts(mode.agents)
        ctx = Context(mode, stack, platform, work_dir)
        steps: list[tuple[str, Callable[[], object]]] = [
            ("bare_celery_noop", lambda: celery_noop.run(ctx, layout)),
            ("pipeline_throughput_0ms", lambda: pipeline.run(ctx, layout)),
            *(
                [
                    (
                        "log level variant",
                        lambda: pipeline.run_log_level_variant(ctx, layout, "WARNING"),
                    )
                ]
                if mode.name == "full"
                else []
            ),
            ("charge_throughput_300ms", lambda: charge.run(ctx, mode.charge_layouts, layout)),
            ("failure_latency_p99", lambda: failure.run(ctx, layout)),
            (
                "webhook_apply",
                lambda: webhooks.run_apply(ctx, layout, ctx.baselines["bare_celery_noop"]),
            ),
            ("webhook_ingest", lambda: webhooks.run_ingest(ctx)),
        ]
        for name, step in steps:
            try:
                step()
                stack.group.check_alive()
            except Exception:
                traceback.print_exc()
                errors.append(name)
                stack.stop_workers()
        platform.close()
    finally:
        stack.stop()
        # The request files hold every signed event sent (hundreds of MB in a full run); the
        # logs and profiles stay for a look.
        for requests_file in work_dir.glob("*.requests"):
            requests_file.unlink()
    if ctx is None:
        return 1
    document = results.write(
        ctx.figures,
        mode=mode.name,
        started=started,
        machine_info=results.machine(load_before, procstat.loadavg()),
        extra={
            "series": ctx.series,
            "errors": errors,
            "worker_layout": layout.label,
            # What this driver (load generation, stream watching, signing) took from the
            # machine's two cores, wrk and the service's processes not included.
            "bench_driver_cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        },
    )
    print()
    print(results.table(ctx.figures))
    print(
        f"\nload average {document['machine']['loadavg_before']} -> "
        f"{document['machine']['loadavg_after']}; {document['duration_s']:.0f}s; "
        f"bench/results/latest.json written",
        flush=True,
    )
    if mode.name == "full":
        try:
            from bench import plot

            for path in plot.draw():
                print(f"plot: {path}")
        except ImportError as missing:
            print(f"no plots ({missing}); install matplotlib")
    if errors:
        print(f"NOT MEASURED: {', '.join(errors)} (see the traceback above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
