"""The gauges the API's /metrics counts in the database: publish outcomes by failure code
(whichever worker finished them), the outbox backlog, stored webhook events by status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from campaign_billing.adapters.orm import OutboxRow, PublishRequestRow, StripeEventRow, WorkspaceRow
from campaign_billing.observability.database_gauges import DatabaseGauges

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: bytes) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def _request(request_id: str, status: str, code: str | None = None, **rest: Any) -> Any:
    return PublishRequestRow(
        id=request_id,
        workspace_id="ws_1",
        campaign_id=f"cmp_{request_id}",
        request_key=request_id,
        status=status,
        failure={"code": code, "message": "..."} if code else None,
        **rest,
    )


def _event(event_id: str, status: str, **rest: Any) -> Any:
    return StripeEventRow(
        id=event_id,
        type="payment_method.attached",
        stripe_created=int(NOW.timestamp()),
        payload={},
        status=status,
        **rest,
    )


def _outbox(event_id: str, *, occurred_at: datetime, relayed: bool) -> Any:
    return OutboxRow(
        event_id=event_id,
        type="campaign.published",
        workspace_id="ws_1",
        occurred_at=occurred_at,
        data={},
        relayed_at=occurred_at if relayed else None,
    )


def _store(engine: Engine, *rows: Any) -> None:
    with Session(engine) as session, session.begin():
        if session.get(WorkspaceRow, "ws_1") is None:
            session.add(WorkspaceRow(id="ws_1", name="Acme Realty"))
            session.flush()
        session.add_all(rows)


def test_publish_outcomes_are_counted_by_status_and_failure_code(
    engine: Engine, clean_db: None
) -> None:
    _store(
        engine,
        _request("pr_1", "failed", "card_declined"),
        _request("pr_2", "failed", "card_declined"),
        _request("pr_3", "failed", "delegation_not_allowed"),
        _request("pr_4", "succeeded"),
        _request("pr_5", "processing", updated_at=NOW - timedelta(seconds=90)),
    )

    found = samples(DatabaseGauges(engine, 0, now=lambda: NOW).render())

    name = "campaign_billing_publish_requests"
    assert value(found, name, status="failed", code="card_declined") == 2
    assert value(found, name, status="failed", code="delegation_not_allowed") == 1
    assert value(found, name, status="succeeded", code="") == 1
    assert value(found, name, status="processing", code="") == 1
    assert value(found, "campaign_billing_publish_oldest_open_seconds") == 90
    assert value(found, "campaign_billing_database_metrics_up") == 1


def test_the_outbox_backlog_and_parked_webhook_events_are_counted(
    engine: Engine, clean_db: None
) -> None:
    _store(
        engine,
        _outbox("evt_a", occurred_at=NOW - timedelta(seconds=45), relayed=False),
        _outbox("evt_b", occurred_at=NOW - timedelta(seconds=5), relayed=False),
        _outbox("evt_c", occurred_at=NOW - timedelta(seconds=600), relayed=True),
        _event("evt_1", "parked", last_error="KeyError"),
        _event("evt_2", "processed"),
        _event("evt_3", "failed", received_at=NOW - timedelta(seconds=30)),
    )

    found = samples(DatabaseGauges(engine, 0, now=lambda: NOW).render())

    assert value(found, "campaign_billing_outbox_backlog") == 2
    assert value(found, "campaign_billing_outbox_oldest_seconds") == 45
    events = "campaign_billing_webhook_events"
    assert value(found, events, status="parked") == 1
    assert value(found, events, status="processed") == 1
    assert value(found, events, status="skipped") == 0  # every status has a series to alert on
    assert value(found, "campaign_billing_webhook_oldest_pending_seconds") == 30


def test_an_empty_database_exports_zeros_not_gaps(engine: Engine, clean_db: None) -> None:
    found = samples(DatabaseGauges(engine, 0, now=lambda: NOW).render())

    assert value(found, "campaign_billing_outbox_backlog") == 0
    assert value(found, "campaign_billing_outbox_oldest_seconds") == 0
    assert value(found, "campaign_billing_webhook_events", status="parked") == 0
    assert value(found, "campaign_billing_publish_oldest_open_seconds") == 0


def test_counts_are_read_again_only_after_the_refresh_period(
    engine: Engine, clean_db: None
) -> None:
    clock = [1000.0]
    gauges = DatabaseGauges(engine, 15, monotonic=lambda: clock[0], now=lambda: NOW)
    name = "campaign_billing_publish_requests"
    assert value(samples(gauges.render()), name, status="succeeded", code="") is None

    _store(engine, _request("pr_1", "succeeded"))
    clock[0] += 14
    assert value(samples(gauges.render()), name, status="succeeded", code="") is None
    clock[0] += 1
    assert value(samples(gauges.render()), name, status="succeeded", code="") == 1


def test_an_unreachable_database_still_answers_the_scrape_and_says_so() -> None:
    unreachable = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        found = samples(DatabaseGauges(unreachable, 0).render())
    finally:
        unreachable.dispose()

    assert value(found, "campaign_billing_database_metrics_up") == 0
    # No stale or made-up numbers: the counts are absent, not zero.
    assert value(found, "campaign_billing_outbox_backlog") is None
