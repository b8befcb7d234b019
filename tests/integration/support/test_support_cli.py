"""`campaign-billing options | explain | statement` read the database directly and print tables,
or the API's JSON with `--json`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog
from typer.testing import CliRunner

from campaign_billing.cli.main import app
from campaign_billing.domain.model import BillingSelection, BillingType, OwnerType
from campaign_billing.wiring import Container
from tests.integration.support.situations import office_account, publish
from tests.support.world import World


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch, container: Container) -> Iterator[None]:
    """What `campaign-billing` reads: the test database. The command configures logging onto
    the runner's captured output, which closes after each call: the test process's logging is
    put back afterwards (else a later test's log line fails on the closed file)."""
    monkeypatch.setenv("DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    # Wide enough that Rich does not wrap the words the tests look for.
    monkeypatch.setenv("COLUMNS", "250")
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**structlog_config)
    root.handlers[:] = handlers
    root.setLevel(level)


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_options_prints_the_offered_and_the_left_out_payers(
    operator_env: None, world: World
) -> None:
    world.user("agent_jane", "Jane Doe", consent=True)

    table = _run("options", "--actor", "admin_sam", "--office", "off_1")
    as_json = json.loads(_run("options", "--actor", "admin_sam", "--office", "off_1", "--json"))

    assert "office Downtown (off_1)" in table
    assert "Visa ending 4242" in table
    assert "[default]" in table
    assert "billing_account_missing" in table
    assert "Jane Doe has no billing account" in table
    assert [item["code"] for item in as_json["unavailable"]] == ["billing_account_missing"]


def test_explain_prints_the_outcome_and_every_step(
    operator_env: None, container: Container, world: World
) -> None:
    world.account(OwnerType.AGENT, "agent_jane")
    world.campaign(
        "cmp_1",
        "admin_sam",
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    publish(container, "cmp_1")

    table = _run("explain", "cmp_1")
    as_json = json.loads(_run("explain", "cmp_1", "--json"))

    assert "failed: The latest publish request" in table
    assert "delegation" in table
    assert "FAILED" in table
    assert "Failure delegation_not_allowed" in table
    assert as_json["outcome"]["failure"]["code"] == "delegation_not_allowed"


def test_statement_prints_lines_totals_and_the_note(
    operator_env: None, container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane", amount=12_345)
    publish(container, "cmp_1")
    month = datetime.now(UTC).strftime("%Y-%m")
    account_id = office_account(container).id

    table = _run("statement", account_id, "--month", month)
    as_json = json.loads(_run("statement", account_id, "--month", month, "--json"))

    assert "cmp_1" in table
    assert "Total: 123.45 USD" in table
    assert "No campaign of the office was billed to an agent" in table
    assert as_json["total"] == {"usd": 12_345}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("options", "--actor", "admin_sam", "--office", "off_9"), "Office off_9 was not found"),
        (("options", "--actor", "nobody", "--office", "off_1"), "User nobody was not found"),
        (("explain", "cmp_nope"), "Campaign cmp_nope does not exist"),
        (("statement", "ba_nope", "--month", "2026-05"), "Billing account ba_nope was not found"),
    ],
)
def test_an_id_that_names_nothing_exits_1_and_says_so(
    operator_env: None, world: World, args: tuple[str, ...], message: str
) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1
    assert message in result.output


def test_statement_refuses_a_month_that_is_not_yyyy_mm(operator_env: None, world: World) -> None:
    result = CliRunner().invoke(app, ["statement", "ba_1", "--month", "May"])
    assert result.exit_code == 2
    assert "YYYY-MM" in result.output
