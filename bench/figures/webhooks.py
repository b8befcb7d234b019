"""`webhook_apply`, `webhook_ingest` and its baseline `bare_ingest`.

- apply: signed `payment_method.*` and `customer.updated` events about the benchmark's customers
  are delivered to `POST /webhooks/stripe` with no worker running; then the workers start and
  drain them. The rate counts from the first event processed to the last (`processed_at`), so
  the workers' start-up is not in it. Stripe answers at once and the rate limit is off: the
  figure is the service's own cost (each event is two Stripe reads and one transaction).
- ingest: `wrk` (2 threads, 64 connections) sends signed 3 KB events, each id new, to the
  service's endpoint with no worker running (stored events wait in the broker), and the same to
  `bench/bare/ingest_app.py`, a Starlette endpoint of the same uvicorn doing one INSERT; then
  the service's endpoint again at half the rate it reached, paced, for the p99 latency.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from bench import profile, stripe_events, wrk
from bench.bare.ingest_app import TABLE_DDL
from bench.figures import Context, phase
from bench.processes import wait_until
from bench.results import RESULTS, Figure, ratio
from bench.stack import STRIPE_KEY, WEBHOOK_SECRET, WorkerLayout, free_port

PATH = "/webhooks/stripe"
THREADS, CONNECTIONS = 2, 64
PACED_CONNECTIONS = 16


def _objects(ctx: Context) -> list[tuple[dict[str, object], dict[str, object]]]:
    customers = [str(a["stripe_customer_id"]) for a in ctx.platform.agent_accounts]
    return stripe_events.fetch_objects(ctx.stack.stripe_url, STRIPE_KEY, customers)


def _write(ctx: Context, name: str, prefix: str, count: int) -> Path:
    path = ctx.work_dir / f"{name}.requests"
    if "stripe_objects" not in ctx.cache:
        ctx.cache["stripe_objects"] = _objects(ctx)
    objects = ctx.cache["stripe_objects"]
    wrk.write_requests(
        path,
        (
            wrk.request_line("POST", PATH, sig, body)
            for sig, body in stripe_events.deliveries(objects, WEBHOOK_SECRET, prefix, count)
        ),
    )
    return path


def run_apply(ctx: Context, layout: WorkerLayout, noop_rate: float) -> None:
    stack = ctx.stack
    count = ctx.mode.apply_events
    stack.stop_workers()
    stack.control.set_faults(latency_ms=0, jitter_ms=0)
    stack.control.set_rate_limit(None)
    path = _write(ctx, "apply", "apply", count)
    sent = wrk.run(stack.api_url, path, threads=THREADS, connections=CONNECTIONS, duration_s=120)
    if sent.status_errors or sent.requests < count:
        raise RuntimeError(f"apply events refused: {sent}")
    with phase(f"webhook_apply ({count} events, {layout.label})"):
        stack.start_workers(layout)

        def pending() -> int:
            rows = stack.query(
                "SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_apply_%' "
                "AND status IN ('received', 'failed')"
            )
            return int(str(rows[0][0]))

        wait_until(lambda: pending() == 0, 600, "every event applied", interval=0.5)
    rows = stack.query(
        "SELECT status, count(*), min(processed_at), max(processed_at) FROM stripe_events "
        "WHERE id LIKE 'evt_apply_%' GROUP BY status"
    )
    by_status = {str(r[0]): int(str(r[1])) for r in rows}
    firsts = [r[2] for r in rows if isinstance(r[2], datetime)]
    lasts = [r[3] for r in rows if isinstance(r[3], datetime)]
    seconds = (max(lasts) - min(firsts)).total_seconds()
    rate = (count - 1) / seconds if seconds > 0 else 0.0
    ctx.add(
        Figure(
            "webhook_apply",
            rate,
            "events/s",
            baseline=noop_rate,
            baseline_name="bare_celery_noop",
            ratio=ratio(rate, noop_rate),
            details={
                "events": count,
                "by_status": by_status,
                "seconds": round(seconds, 2),
                "types": list(stripe_events.TYPES),
                "stripe_reads_per_event": 2,
                "workers": layout.label,
            },
        )
    )


def run_ingest(ctx: Context) -> None:
    stack = ctx.stack
    seconds = ctx.mode.ingest_s
    stack.stop_workers()
    stack.query_commit(TABLE_DDL)
    bare_port = free_port()
    stack.group.spawn(
        "bare_ingest", [sys.executable, "-m", "bench.bare.ingest_app", str(bare_port)]
    )
    bare_url = f"http://127.0.0.1:{bare_port}"
    try:
        wait_until(lambda: _answers(bare_url), 30, "the bare ingest endpoint")
        # The bare endpoint stores whatever it gets, so a small file sent over and over will do.
        warm = _write(ctx, "ingest-warm", "warm", 2000)
        with phase(f"bare_ingest ({seconds:.0f}s)"):
            wrk.run(bare_url, warm, threads=THREADS, connections=CONNECTIONS, duration_s=2)
            bare_sessions = stack.database_sessions()
            bare = wrk.run(
                bare_url,
                warm,
                threads=THREADS,
                connections=CONNECTIONS,
                duration_s=seconds,
                cycle=True,
            )
            bare_sessions = stack.database_sessions() - bare_sessions
    finally:
        stack.group.stop("bare_ingest")
    # Every event to the service must be new (a duplicate is not stored again): enough for a
    # run as fast as the bare endpoint's, each id once.
    count = int(bare.rate * seconds * 1.1) + 1000
    with phase(f"webhook_ingest ({seconds:.0f}s, up to {count} events)"):
        warm_service = _write(ctx, "ingest-service-warm", "svcwarm", 1000)
        wrk.run(stack.api_url, warm_service, threads=THREADS, connections=CONNECTIONS, duration_s=5)
        path = _write(ctx, "ingest", "ingest", count)
        sessions = stack.database_sessions()
        with _profiled(ctx, min(seconds, 10.0)):
            full = wrk.run(
                stack.api_url, path, threads=THREADS, connections=CONNECTIONS, duration_s=seconds
            )
        sessions = stack.database_sessions() - sessions
    half = full.rate / 2
    paced_count = int(half * seconds) + 50
    with phase(f"webhook_ingest latency at {half:.0f}/s ({paced_count} events)"):
        path = _write(ctx, "ingest-paced", "paced", paced_count)
        paced = wrk.run(
            stack.api_url,
            path,
            threads=THREADS,
            connections=PACED_CONNECTIONS,
            duration_s=seconds * 3,
            mean_delay_ms=PACED_CONNECTIONS * 1000 / half,
        )
    ctx.series["webhook_ingest"] = {
        "bare": bare.as_dict(),
        "service": full.as_dict(),
        "paced": paced.as_dict(),
    }
    ctx.baselines["bare_ingest"] = bare.rate
    r = ratio(full.rate, bare.rate) or 0.0
    ctx.add(
        Figure(
            "webhook_ingest",
            full.rate,
            "events/s",
            baseline=bare.rate,
            baseline_name="bare_ingest",
            ratio=r,
            target="ratio >= 0.6, p99 < 25 ms at half rate",
            met=r >= 0.6 and paced.p99_ms < 25 and not full.status_errors,
            details={
                "p99_ms_at_half_rate": paced.p99_ms,
                "p50_ms_at_half_rate": paced.p50_ms,
                "half_rate_achieved": round(paced.rate, 1),
                "p99_ms_at_full_rate": full.p99_ms,
                "refused": full.status_errors,
                # New database connections during the full-rate run: a pool smaller than the
                # requests in flight opens and closes its overflow connections all the time.
                "db_connections_opened": sessions,
                "bare_db_connections_opened": bare_sessions,
                "body_bytes": stripe_events.SIZE,
                "wrk": f"-t{THREADS} -c{CONNECTIONS}; paced: -c{PACED_CONNECTIONS}",
            },
        )
    )


@contextmanager
def _profiled(ctx: Context, seconds: float) -> Iterator[None]:
    """py-spy on the API while the block runs (its first `seconds`): profile-ingest.txt."""
    if not profile.available():
        yield
        return
    files: dict[str, Path] = {}
    api = ctx.stack.group.procs["api"].pid
    sampler = threading.Thread(
        target=lambda: files.update(profile.record({"api": api}, seconds, ctx.work_dir / "ingest"))
    )
    sampler.start()
    try:
        yield
    finally:
        sampler.join()
    (RESULTS / "profile-ingest.txt").write_text(
        "# Where the API's CPU goes while POST /webhooks/stripe takes all it can (webhook_ingest)\n"
        f"# py-spy record --gil --nonblocking --rate 100, {seconds:.0f} s, mode {ctx.mode.name}."
        "\n\n" + profile.report(files)
    )


def _answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True
