"""One chaos run, start to finish: start the processes, build the platform's people and cards,
publish under faults, let the service settle, measure, and stop everything it started."""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import stripe

from campaign_billing.stripe_server import ControlClient
from chaos.cards import CardChurn
from chaos.client import ApiClient
from chaos.config import ChaosConfig
from chaos.faults import FaultInjector
from chaos.invariants import BOUNDS, Sources, measure, violations
from chaos.population import build_population, plan_campaigns
from chaos.services import STRIPE_KEY, TOKEN, ChaosDatabase, OwnRedis, Stack
from chaos.traffic import Traffic
from chaos.worker_logs import kill_figures

Say = Callable[[str], None]


def _say(message: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_chaos(
    config: ChaosConfig, *, work_dir: Path | None = None, say: Say = _say
) -> dict[str, Any]:
    """Runs the whole thing; returns the figures (with `violations`: those past their bound)."""
    own_dir = work_dir is None
    root = Path(tempfile.mkdtemp(prefix="chaos-")) if work_dir is None else work_dir
    (root / "logs").mkdir(parents=True, exist_ok=True)
    database = ChaosDatabase(config.database)
    own_redis = OwnRedis(root / "redis")
    stack = Stack(
        database=database,
        own_redis=own_redis,
        log_dir=root / "logs",
        worker_concurrency=config.worker_concurrency,
        sweep_stale_after_seconds=config.sweep_stale_after_seconds,
    )
    control: ControlClient | None = None
    api: ApiClient | None = None
    started = time.monotonic()
    try:
        say(f"database {config.database}, Redis on port {own_redis.port}, logs in {root / 'logs'}")
        database.create()
        own_redis.start()
        stack.start_stripe()
        stack.start_api()
        for number in range(1, config.workers + 1):
            stack.start_worker(f"worker-{number}")
        stack.start_relay()
        control = ControlClient(stack.stripe_url)
        api = ApiClient(stack.api_url, TOKEN)
        figures = _run(config, stack, control, api, say)
        figures["seconds_total"] = round(time.monotonic() - started, 1)
        figures["logs"] = str(root / "logs")
        return figures
    finally:
        if api is not None:
            api.close()
        if control is not None:
            control.close()
        stack.stop()
        own_redis.stop()
        if config.drop_database_after:
            database.drop()
        if own_dir and config.drop_database_after:
            shutil.rmtree(root, ignore_errors=True)


def _run(
    config: ChaosConfig, stack: Stack, control: ControlClient, api: ApiClient, say: Say
) -> dict[str, Any]:
    stripe_client = stripe.StripeClient(
        STRIPE_KEY, base_addresses={"api": stack.stripe_url}, max_network_retries=3
    )
    control.configure_webhooks(retry_delays_s=[0.5, 1, 2, 4, 8, 16])
    population = build_population(
        api,
        control,
        config.workspaces,
        config.offices_per_workspace,
        config.churn_agents_per_office,
    )
    plans = plan_campaigns(population, config.publishes, random.Random(config.seed))
    say(f"{len(population.accounts)} billing accounts with their cards; publishing {len(plans)}")

    traffic = Traffic(api, plans, config.publish_rate, config.repeat_share, config.seed)
    injector = FaultInjector(
        stack=stack,
        database=stack.database,
        own_redis=stack.own_redis,
        control=control,
        progress=lambda: traffic.progress,
        kill_every_seconds=config.kill_every_seconds,
        redis_restarts=config.redis_restarts,
        redis_down_seconds=config.redis_down_seconds,
        pg_connection_kills=config.pg_connection_kills,
        flush_every_seconds=config.webhook_flush_every_seconds,
        seed=config.seed,
    )
    churn = CardChurn(
        stripe_client,
        control,
        population.churn_accounts,
        config.card_changes_every_seconds,
        config.seed,
    )
    chaos_started = time.time()
    control.set_faults(
        latency_ms=config.stripe_latency_ms,
        jitter_ms=config.stripe_jitter_ms,
        error_500_share=config.stripe_500_share,
        error_429_share=config.stripe_429_share,
        retry_after_s=0,
        commit_then_drop_share=config.stripe_drop_after_commit_share,
    )
    control.configure_webhooks(duplicates=config.webhook_duplicates, delay_jitter_ms=200)
    control.pause_webhooks()
    injector.start()
    churn.start()
    try:
        traffic.run()
    finally:
        churn.stop()
        injector.stop()
    publish_seconds = traffic.finished_at - traffic.started_at
    say(
        f"published {traffic.sent} campaigns ({len(traffic.answers)} calls) in "
        f"{publish_seconds:.0f}s; {injector.counts.workers_killed} workers killed; settling"
    )
    for name in [f"worker-{n}" for n in range(1, config.workers + 1)]:
        if not stack.alive().get(name, False):
            stack.start_worker(name)
    control.resume_webhooks("shuffle")
    settle = _settle(stack, control, config.settle_timeout_seconds)
    say(f"settled in {settle['seconds']}s" if settle["settled"] else f"NOT settled: {settle}")
    stripe_stats = control.request_stats(since=chaos_started, bucket_s=10)
    deliveries = control.webhook_deliveries()
    # Stripe's faults end before reading Stripe's state for the checks.
    control.clear_faults()

    killed_logs = {
        stack.log_dir / f"{name}.{incarnation}.log"
        for name, last in stack.incarnations.items()
        if name.startswith("worker")
        for incarnation in range(1, last)
    }
    figures = measure(
        Sources(
            database=stack.database,
            control=control,
            stripe=stripe_client,
            redis_url=stack.redis_url,
            accounts=population.accounts,
            plans=plans,
            accepted_request_ids=traffic.accepted_request_ids(),
            api_log_files=stack.log_files("api"),
        )
    )
    outcomes = stripe_stats.get("by_outcome", {})
    faults = asdict(injector.counts)
    timeline = faults.pop("timeline")
    figures.update(
        {
            "same_key_other_request": traffic.same_key_other_request(),
            "publish_calls": len(traffic.answers),
            "publish_answers": dict(traffic.answer_statuses()),
            "publish_seconds": round(publish_seconds, 1),
            "publish_calls_per_second": round(len(traffic.answers) / max(publish_seconds, 1), 1),
            "api_5xx_seen_by_clients": api.answers.server_error_count,
            "client_transport_errors": dict(api.answers.transport_errors),
            "traffic_errors": traffic.errors,
            **faults,
            **kill_figures(stack.log_files("worker"), killed_logs),
            "stripe_requests": stripe_stats.get("total", 0),
            "stripe_500": outcomes.get("injected_500", 0),
            "stripe_429": outcomes.get("injected_429", 0),
            "stripe_dropped_after_commit": outcomes.get("dropped_after_commit", 0),
            "stripe_outcomes": outcomes,
            "webhook_deliveries": len(deliveries),
            "webhook_deliveries_5xx": sum(
                1 for d in deliveries if isinstance(d.get("status"), int) and d["status"] >= 500
            ),
            "card_changes": dict(churn.actions),
            "settled": settle["settled"],
            "settle_seconds": settle["seconds"],
            "fault_timeline": timeline,
        }
    )
    figures["violations"] = violations(figures)
    if traffic.errors:
        figures["violations"]["traffic_errors"] = len(traffic.errors)
    if figures["api_answers"] < len(traffic.answers):
        # api_5xx counts the API's own access lines: they must all be there to count.
        figures["violations"]["api_access_lines_missing"] = len(traffic.answers)
    figures["missing_faults"] = _missing_faults(config, figures)
    if not settle["settled"]:
        figures["violations"]["settled"] = 0
        figures["unsettled"] = settle
    return figures


def _settle(stack: Stack, control: ControlClient, timeout: float) -> dict[str, Any]:
    """Waits until nothing is left in flight anywhere, twice in a row."""
    started = time.monotonic()
    calm = 0
    left: dict[str, Any] = {}
    while time.monotonic() - started < timeout:
        with stack.database.connect() as db:
            row = db.execute(
                "SELECT "
                "(SELECT count(*) FROM publish_requests WHERE status IN ('queued','processing')),"
                "(SELECT count(*) FROM charges WHERE status IN ('pending','unknown')),"
                "(SELECT count(*) FROM stripe_events WHERE status IN ('received','failed')),"
                "(SELECT count(*) FROM outbox WHERE relayed_at IS NULL)"
            ).fetchone()
        assert row is not None
        left = dict(
            zip(("open_requests", "open_charges", "open_events", "outbox"), row, strict=True)
        )
        idle = control.wait_for_webhooks(timeout_s=0.5)
        calm = calm + 1 if idle and not any(row) else 0
        if calm >= 2:
            return {"settled": True, "seconds": round(time.monotonic() - started, 1)}
        time.sleep(0.5)
    return {"settled": False, "seconds": round(time.monotonic() - started, 1), **left}


def _missing_faults(config: ChaosConfig, figures: dict[str, Any]) -> list[str]:
    """Faults the run was meant to inject and did not: a run without them proves less."""
    wanted = {
        "publish_requests": config.publishes,
        "workers_killed": 1,
        "workers_killed_after_stripe_answered": 1,
        "redis_restarts": config.redis_restarts,
        "pg_connection_kills": config.pg_connection_kills,
        "stripe_500": 1 if config.stripe_500_share else 0,
        "stripe_429": 1 if config.stripe_429_share else 0,
        "stripe_dropped_after_commit": 1 if config.stripe_drop_after_commit_share else 0,
    }
    return [name for name, least in wanted.items() if figures.get(name, 0) < least]


REQUIRED = (
    "publish_requests",
    "terminal",
    "succeeded",
    "max_payment_intents_per_request",
    "succeeded_without_exactly_one_intent",
    "published_without_charge",
    "terminal_without_one_event",
    "outbox_unrelayed",
    "payment_method_mismatches",
    "api_5xx",
    "workers_killed",
    "redis_restarts",
    "pg_connection_kills",
    "stripe_500",
    "stripe_429",
    "stripe_dropped_after_commit",
)


def passed(figures: dict[str, Any]) -> bool:
    return not figures["violations"] and not figures["missing_faults"]


def render(figures: dict[str, Any]) -> str:
    """The figures a person reads: each invariant with its bound, then the load and faults."""
    lines = ["invariant                                   value  bound"]
    for name, bound in BOUNDS.items():
        value = figures.get(name, "?")
        mark = "ok" if name not in figures["violations"] else "FAIL"
        lines.append(f"  {name:<40} {value!s:>6}  <= {bound}  {mark}")
    lines.append("load and faults")
    for name in (
        "publish_requests",
        "terminal",
        "succeeded",
        "failed",
        "requires_action",
        "publish_calls",
        "publish_calls_per_second",
        "payment_intents",
        "published_campaigns",
        "stream_events",
        "webhook_deliveries",
        "webhook_events_stored",
        "api_answers",
        "workers_killed",
        "workers_killed_after_stripe_answered",
        "killed_holding_an_answered_charge",
        "killed_during_a_stripe_call",
        "redis_restarts",
        "pg_connection_kills",
        "pg_connections_terminated",
        "stripe_requests",
        "stripe_500",
        "stripe_429",
        "stripe_dropped_after_commit",
        "settle_seconds",
        "seconds_total",
    ):
        lines.append(f"  {name:<40} {figures.get(name, '?')!s:>6}")
    lines.append(f"outcomes by kind: {json.dumps(figures.get('outcomes_by_kind'))}")
    lines.append(f"failure codes: {json.dumps(figures.get('failure_codes'))}")
    if figures["missing_faults"]:
        lines.append(f"faults NOT injected: {figures['missing_faults']}")
    lines.append("PASSED" if passed(figures) else f"FAILED: {figures['violations']}")
    return "\n".join(lines)


def write_results(figures: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = [name for name in REQUIRED if name not in figures]
    assert not missing, f"results lack {missing}"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str) + "\n")
