"""`campaign-billing options | explain | statement`: the support reads for operators, straight
from the database (no API token: whoever runs them can read the database anyway).

Each prints readable tables, or with `--json` the very answer the HTTP API gives
(docs/support.md). An id that names nothing prints why on stderr and exits 1.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from campaign_billing.domain.errors import CampaignNotFound
from campaign_billing.domain.model import Money
from campaign_billing.logging import configure_logging
from campaign_billing.services import billing_options, directory, explanation, statements
from campaign_billing.services.directory import RowKind
from campaign_billing.settings import load_settings
from campaign_billing.wiring import Container, build_container

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of tables.")]


def options(
    actor: Annotated[str, typer.Option("--actor", help="The user creating the campaign.")],
    office: Annotated[str, typer.Option("--office", help="The campaign's office.")],
    as_json: JsonFlag = False,
) -> None:
    """What the "Billing User" picker may offer ACTOR in OFFICE; who is left out, and why."""
    container = _container()
    try:
        workspace_id = directory.owning_workspace(container.uow, RowKind.OFFICE, office)
        if workspace_id is None:
            _fail(f"Office {office} was not found.")
        try:
            found = billing_options.billing_options(
                container.uow, workspace_id=workspace_id, actor_id=actor, office_id=office
            )
        except billing_options.SubjectNotFound as unknown:
            _fail(str(unknown))
    finally:
        container.close()
    data = found.to_dict()
    if as_json:
        _print_json(data)
        return
    console = Console()
    actor_data, office_data = data["actor"], data["office"]
    console.print(
        f"Billing options for {actor_data['role']} {actor_data['name']} ({actor_data['id']}) "
        f"creating a campaign in office {office_data['name']} ({office_data['id']})"
    )
    offered = Table("payer", "billing account", "cards that may be selected", title="Offered")
    for option in data["options"]:
        cards = "\n".join(
            card["label"] + (" [default]" if card["is_default"] else "")
            for card in option["payment_methods"]
        )
        offered.add_row(_owner(option), option["billing_account_id"], Text(cards))
    console.print(offered if data["options"] else "Offered: nothing.")
    left_out = Table("payer", "code", "why", "what to do", title="Left out", show_lines=True)
    for item in data["unavailable"]:
        left_out.add_row(_owner(item), item["code"], item["message"], item["remediation"])
    console.print(left_out if data["unavailable"] else "Left out: nobody.")


def explain(
    campaign_id: Annotated[str, typer.Argument(help="The campaign to explain.")],
    as_json: JsonFlag = False,
) -> None:
    """Who was, or would be, charged for CAMPAIGN_ID, and why, step by step."""
    container = _container()
    try:
        workspace_id = directory.owning_workspace(container.uow, RowKind.CAMPAIGN, campaign_id)
        if workspace_id is None:
            _fail(CampaignNotFound(campaign_id).message)
        explained = explanation.explain_campaign(container.uow, workspace_id, campaign_id)
    finally:
        container.close()
    data = explained.to_dict()
    if as_json:
        _print_json(data)
        return
    console = Console()
    billing = data["billing"]
    selection = billing["type"]
    if billing["billing_user_id"]:
        selection += f", Billing User {billing['billing_user_id']}"
    if billing["payment_method_id"]:
        selection += f", card {billing['payment_method_id']}"
    console.print(
        f"Campaign {data['campaign_id']} ({data['version'].upper()}, "
        f"{Money(data['amount'], data['currency'])}, office {data['office_id']}, created by "
        f"{data['created_by']}, billing: {selection})"
    )
    outcome = data["outcome"]
    console.print(Text(f"{outcome['status']}: {outcome['summary']}", style="bold"))
    steps = Table("#", "check", "", "detail", title="The billing rules on today's data")
    for number, step in enumerate(data["steps"], start=1):
        mark = Text("passed", style="green") if step["passed"] else Text("FAILED", style="red")
        steps.add_row(str(number), step["check"], mark, step["detail"])
    console.print(steps)
    failure = outcome["failure"]
    if failure is not None:
        console.print(f"Failure {failure['code']}: {failure['message']}")
        console.print(f"What to do: {failure['remediation']}")
    charge = outcome["charge"]
    if charge is not None:
        facts = Table("charge", "", title="The charge, as recorded")
        for label, key in (
            ("status", "status"),
            ("billing account", "billing_account_id"),
            ("payment method", "payment_method_id"),
            ("PaymentIntent", "stripe_payment_intent_id"),
            ("publish request", "publish_request_id"),
        ):
            facts.add_row(label, str(charge[key]))
        facts.add_row("charged at", _when(charge["charged_at"]))
        facts.add_row("amount", str(Money(charge["amount"], charge["currency"])))
        console.print(facts)


def statement(
    account_id: Annotated[str, typer.Argument(help="The billing account.")],
    month: Annotated[str, typer.Option("--month", help="YYYY-MM, a UTC calendar month.")],
    as_json: JsonFlag = False,
) -> None:
    """Campaigns charged to ACCOUNT_ID in MONTH, with totals (and an office's agent-billed)."""
    try:
        period = statements.StatementMonth.parse(month)
    except ValueError as invalid:
        raise typer.BadParameter(str(invalid), param_hint="--month") from None
    container = _container()
    try:
        workspace_id = directory.owning_workspace(
            container.uow, RowKind.BILLING_ACCOUNT, account_id
        )
        found = (
            statements.statement(container.uow, workspace_id, account_id, period)
            if workspace_id is not None
            else None
        )
    finally:
        container.close()
    if found is None:
        _fail(f"Billing account {account_id} was not found.")
    data = found.to_dict()
    if as_json:
        _print_json(data)
        return
    console = Console()
    console.print(
        f"Statement of {_owner(data)}'s billing account {data['billing_account_id']} for "
        f"{data['month']} (UTC)"
    )
    lines = Table("campaign", "amount", "charged at", "PaymentIntent", "publish request")
    for line in data["lines"]:
        lines.add_row(
            line["campaign_id"],
            str(Money(line["amount"], line["currency"])),
            _when(line["charged_at"]),
            line["stripe_payment_intent_id"],
            line["publish_request_id"],
        )
    console.print(lines if data["lines"] else "No campaign was charged to this account.")
    console.print(f"Total: {_totals(data['total'])}")
    if data["excluded"]:
        excluded = Table(
            "campaign",
            "amount",
            "paid by agent",
            "agent's account",
            "charged at",
            title="Excluded: the office's campaigns billed to agents",
        )
        for item in data["excluded"]:
            excluded.add_row(
                item["campaign_id"],
                str(Money(item["amount"], item["currency"])),
                f"{item['agent_name']} ({item['agent_id']})",
                item["billing_account_id"],
                _when(item["charged_at"]),
            )
        console.print(excluded)
    console.print(data["note"])


def _container() -> Container:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    return build_container(settings)


def _owner(item: dict[str, Any]) -> str:
    return f"{item['owner_type']} {item['owner_name']} ({item['owner_id']})"


def _when(iso: str | None) -> str:
    return datetime.fromisoformat(iso).isoformat(timespec="seconds") if iso else "-"


def _totals(totals: dict[str, int]) -> str:
    return ", ".join(str(Money(amount, currency)) for currency, amount in totals.items()) or "0"


def _print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(message)
    raise typer.Exit(1)
