"""`campaign-billing demo`: plays the article's situations and prints what happened."""

from __future__ import annotations

import os
import time

from rich.console import Console
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from campaign_billing.demo.situations import SITUATIONS, DemoClient, Outcome, build_world
from campaign_billing.demo.stack import DEMO_TOKEN, DemoStack


def run_demo(console: Console | None = None) -> bool:
    """Returns whether every situation ended as the article says it should."""
    console = console or Console()
    use_environment = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    started = time.monotonic()
    with DemoStack(use_environment=use_environment) as stack:
        console.print(
            f"[bold]campaign-billing demo[/]: API on {stack.api_url}, "
            f"database {stack.database_description}, Stripe test server on "
            f"{stack.stripe.base_url}"
        )
        client = DemoClient(stack.api_url, DEMO_TOKEN, stack.stripe, stack.container.redis)
        outcomes: list[Outcome] = []
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Syncing people and saving cards through Stripe", total=None)
            build_world(client)
            progress.update(task, total=len(SITUATIONS), completed=0, description="Publishing")
            for situation in SITUATIONS:
                progress.update(task, description=situation.title)
                outcomes.append(client.publish(situation))
                progress.advance(task)
        for outcome in outcomes:
            console.print(_panel(outcome))
        console.print(_summary(outcomes))
        ok = all(outcome.as_expected for outcome in outcomes)
        console.print(
            f"{len(outcomes)} situations in {time.monotonic() - started:.1f} s; "
            + ("every one ended as expected." if ok else "[red]some did not end as expected.[/]")
        )
        return ok


def _panel(outcome: Outcome) -> Panel:
    lines = [f"[dim]{outcome.situation.article}[/]"]
    if outcome.status == "succeeded" and outcome.charge:
        charge = outcome.charge
        lines.append(
            f"[green]published[/]: charged {charge['amount'] / 100:.2f} "
            f"{charge['currency'].upper()} to billing account {charge['billing_account_id']} "
            f"(PaymentIntent {charge['stripe_payment_intent_id']})"
        )
    elif outcome.failure:
        failure = outcome.failure
        colour = "yellow" if outcome.status == "requires_action" else "red"
        lines.append(f"[{colour}]{outcome.status}[/] [bold]{failure['code']}[/]")
        lines.append(f"message: {failure['message']}")
        lines.append(f"remediation: {failure['remediation']}")
        for extra in ("decline_code", "payment_url"):
            if failure.get(extra):
                lines.append(f"{extra}: {failure[extra]}")
    lines.append("events: " + ", ".join(outcome.events))
    lines.append("explanation (GET /v1/campaigns/{id}/billing-explanation):")
    for step in outcome.explanation:
        lines.append(f"  - {step}")
    return Panel("\n".join(lines), title=outcome.situation.title, title_align="left")


def _summary(outcomes: list[Outcome]) -> Table:
    table = Table(title="Summary")
    table.add_column("situation")
    table.add_column("outcome")
    table.add_column("expected")
    for outcome in outcomes:
        code = outcome.failure["code"] if outcome.failure else outcome.status
        mark = "[green]ok[/]" if outcome.as_expected else "[red]unexpected[/]"
        table.add_row(outcome.situation.title, code, f"{outcome.situation.expected} {mark}")
    return table
