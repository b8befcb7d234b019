"""`campaign-billing webhooks ...`: the operator's tools for stored Stripe events.

`replay` reprocesses stored events here, in this process, one at a time, with a progress bar,
and says what became of each; `backfill` catches up on events Stripe created that never reached
the endpoint. docs/webhooks.md says when to use which.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from campaign_billing.adapters.repositories.stripe_events import (
    StripeEventRepository,
    StripeEventStatus,
)
from campaign_billing.logging import configure_logging
from campaign_billing.services import backfill as backfill_service
from campaign_billing.services.stripe_events import EventDeps, process_stripe_event
from campaign_billing.settings import load_settings
from campaign_billing.wiring import Container, build_container

webhooks_app = typer.Typer(
    help="Stored Stripe webhook events: replay parked ones, backfill missed ones.",
    no_args_is_help=True,
)

# One attempt per replay: an operator who replays wants to see the outcome now, not a retry.
_REPLAY_ATTEMPTS = 1


def _container() -> Container:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    return build_container(settings)


@webhooks_app.command()
def replay(
    event_id: Annotated[
        list[str] | None,
        typer.Option("--id", help="A Stripe event id (evt_...); repeat for several."),
    ] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="An event type (payment_method.attached); repeatable."),
    ] = None,
    status: Annotated[
        list[StripeEventStatus] | None,
        typer.Option(
            "--status",
            help="Only events in this status; repeatable. Default: parked, unless --id is given.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many events.")] = 1000,
) -> None:
    """Reprocess stored events (default: every parked event), oldest first, and report each
    outcome. An event that fails again stays parked with its new error."""
    container = _container()
    statuses = status or ([] if event_id else [StripeEventStatus.PARKED])
    with container.uow() as uow:
        ids = StripeEventRepository(uow.session).select_ids(
            ids=event_id or (), types=event_type or (), statuses=statuses, limit=limit
        )
    console = Console()
    if not ids:
        console.print("No stored event matches.")
        container.close()
        return
    deps = EventDeps(
        uow_factory=container.uow, stripe=container.gateway, send_publish=container.send_publish
    )
    outcomes: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    with _progress(console) as progress:
        task = progress.add_task("Replaying", total=len(ids))
        for stripe_event_id in ids:
            attempt = process_stripe_event(
                deps, stripe_event_id, max_attempts=_REPLAY_ATTEMPTS, replay=True
            )
            label = attempt.status.value if attempt.status else "missing"
            outcomes[label] += 1
            if attempt.status is StripeEventStatus.PARKED:
                failures.append((stripe_event_id, attempt.error or ""))
            progress.advance(task)
    console.print(_summary(outcomes))
    for stripe_event_id, error in failures:
        console.print(f"[red]{stripe_event_id}[/red] still parked: {error}")
    container.close()
    if failures:
        raise typer.Exit(code=1)


@webhooks_app.command()
def backfill(
    since_hours: Annotated[
        float | None,
        typer.Option(
            help="List Stripe's events of the last N hours (at most 720: Stripe keeps 30 days). "
            "Default: from the last processed event, less a safety overlap."
        ),
    ] = None,
) -> None:
    """Store the events Stripe created that never reached the endpoint, and send them (and any
    stored event whose task was lost) to the workers."""
    container = _container()
    now = datetime.now(UTC)
    found = backfill_service.backfill_events(
        container.uow,
        container.gateway,
        container.send_stripe_event,
        now=now,
        since=None if since_hours is None else now - timedelta(hours=since_hours),
    )
    resent = backfill_service.resend_stranded_events(
        container.uow, container.send_stripe_event, now=now
    )
    since = datetime.fromtimestamp(found.since, UTC).isoformat(timespec="seconds")
    typer.echo(
        f"listed {found.listed} events since {since}: {found.stored} new, sent to the workers; "
        f"{resent} stranded events sent again"
    )
    container.close()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _summary(outcomes: Counter[str]) -> Table:
    table = Table("outcome", "events")
    for label, count in sorted(outcomes.items()):
        table.add_row(label, str(count))
    return table
