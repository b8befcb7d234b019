"""`campaign-billing`: the operators' command line (API.md "Command line").

Typer (on Click) because commands are plain typed functions with `--help` generated from them;
Rich for the tables and progress bars support staff and operators read.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
import typer

from campaign_billing.cli import support
from campaign_billing.cli.webhooks import webhooks_app
from campaign_billing.logging import configure_logging
from campaign_billing.settings import load_settings
from campaign_billing.wiring import Container

app = typer.Typer(
    help="Publishes real-estate marketing campaigns and charges them through Stripe.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(webhooks_app, name="webhooks")


def _setup_logging() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest) on DATABASE_URL."""
    from campaign_billing.migrations.runner import upgrade

    _setup_logging()
    upgrade(load_settings().database_url, revision)
    typer.echo(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    """Revert migrations down to REVISION (default: an empty database)."""
    from campaign_billing.migrations.runner import downgrade

    _setup_logging()
    downgrade(load_settings().database_url, revision)
    typer.echo(f"database downgraded to {revision}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API (upstream apps, Stripe webhooks, health and metrics)."""
    import uvicorn

    _setup_logging()
    uvicorn.run(
        "campaign_billing.api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(help="Threads: each holds one Stripe call in flight.")
    ] = 32,
    queues: Annotated[str, typer.Option(help="Queues to consume.")] = "publish,webhooks,events",
    pool: Annotated[str, typer.Option(help="Celery pool (docs/workers.md says why threads).")] = (
        "threads"
    ),
    hostname: Annotated[str | None, typer.Option(help="Worker node name.")] = None,
) -> None:
    """Run a Celery worker on the service's queues, with task events on for Flower."""
    from campaign_billing.workers.celery_app import get_celery

    _setup_logging()
    # --quiet: no banner on stdout, so the worker's output stays JSON lines.
    argv = [
        "--quiet",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--queues={queues}",
        "--task-events",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    get_celery().worker_main(argv)


@app.command()
def relay(
    sweep_every: Annotated[
        float, typer.Option(help="Seconds between sweeps (stale requests, unknown charges).")
    ] = 10.0,
    backfill_every: Annotated[
        float, typer.Option(help="Seconds between Stripe event backfills (missed webhooks).")
    ] = 600.0,
) -> None:
    """Relay the outbox to the Redis stream; run the sweep and schedule the webhook backfill."""
    from campaign_billing.events.relay import run_relay
    from campaign_billing.wiring import build_container

    _setup_logging()
    container = build_container()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(
        target=_sweep_forever, args=(container, stop, sweep_every, backfill_every), daemon=True
    ).start()
    run_relay(container.uow, container.redis, container.settings.event_stream, stop)
    container.close()


def _sweep_forever(
    container: Container, stop: threading.Event, every: float, backfill_every: float
) -> None:
    """The periodic work of the service, in the relay process (one per deployment is enough;
    two are harmless: every step is idempotent)."""
    from campaign_billing.services import sweep
    from campaign_billing.services.event_sweep import resend_lost_event_messages
    from campaign_billing.workers.webhook_tasks import retry_policy

    log = structlog.get_logger()
    next_backfill = time.monotonic()
    while not stop.wait(every):
        try:
            sweep.resend_stale_requests(
                container.uow,
                container.send_publish,
                older_than=timedelta(seconds=container.settings.sweep_stale_after_seconds),
            )
            sweep.reconcile_unknown_charges(container.uow, container.gateway)
            resend_lost_event_messages(
                container.uow,
                container.send_stripe_event,
                now=datetime.now(UTC),
                stale_after=timedelta(seconds=container.settings.sweep_stale_after_seconds),
                retries_due_within=retry_policy().retries_due_within,
            )
            if time.monotonic() >= next_backfill:
                container.send_task("campaign_billing.backfill_events", {}, "webhooks")
                next_backfill = time.monotonic() + backfill_every
        except Exception:
            # Retried on the next round; the relay must keep relaying meanwhile.
            log.exception("sweep_failed")


@app.command()
def demo() -> None:
    """Run the whole product on embedded defaults and play the help-centre article's
    situations end to end (set DATABASE_URL and REDIS_URL to use PostgreSQL and Redis)."""
    from campaign_billing.demo.run import run_demo

    # The demo prints its own story; the service's logs only when asked for.
    configure_logging(os.environ.get("LOG_LEVEL", "WARNING"))
    if not run_demo():
        raise typer.Exit(1)


@app.command("stripe-server")
def stripe_server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 12111,
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(help="Random extra latency, up to this.")] = 0.0,
) -> None:
    """Run the project's Stripe test server (docs/stripe-test-server.md). Test mode only."""
    from campaign_billing.stripe_server import serve as serve_stripe

    _setup_logging()
    serve_stripe(host, port, latency_ms=latency_ms, jitter_ms=jitter_ms)


# The support reads (docs/support.md), listed after the commands that run the service.
for support_command in (support.options, support.explain, support.statement):
    app.command()(support_command)


def main() -> None:
    app()
