"""A failing event is retried by the real Celery task with backoff, then parked; an operator's
`campaign-billing webhooks replay` reprocesses it once the cause is fixed."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from typer.testing import CliRunner

from campaign_billing.adapters.repositories.stripe_events import StripeEventStatus
from campaign_billing.cli.webhooks import webhooks_app
from campaign_billing.domain.model import BillingAccount
from campaign_billing.stripe_server import ControlClient
from campaign_billing.wiring import Container
from tests.integration.webhooks.webhook_harness import (
    ServedEndpoint,
    card_rows,
    event_status,
    outbox_types,
    stored_events,
    wait_until,
)


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch, container: Container) -> Iterator[None]:
    """What `campaign-billing` reads: the same database, Redis and Stripe as the service. The
    command configures logging onto the runner's captured output, which closes after each
    call: the test process's logging is put back afterwards."""
    settings = container.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("STRIPE_API_BASE", settings.stripe_api_base)
    monkeypatch.setenv("STRIPE_API_KEY", settings.stripe_api_key.get_secret_value())
    monkeypatch.setenv("STRIPE_RATE_LIMIT", "1000")
    monkeypatch.setenv("STRIPE_RETRY_INITIAL_SECONDS", "0.01")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**structlog_config)
    root.handlers[:] = handlers
    root.setLevel(level)


def _attached_event_id(container: Container) -> str:
    return next(r.id for r in stored_events(container) if r.type == "payment_method.attached")


def test_a_crashing_handler_ends_parked_and_replays_once_the_cause_is_fixed(
    delivering: ServedEndpoint,
    celery_worker: object,
    container: Container,
    control: ControlClient,
    jane_account: BillingAccount,
    operator_env: None,
) -> None:
    # The cause: Stripe answers every read of the customer with a 500.
    control.set_faults(error_500_share=1.0, path_prefix="/v1/customers")
    container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert control.wait_for_webhooks()
    wait_until(lambda: any(r.status == "parked" for r in stored_events(container)), what="parking")

    event_id = _attached_event_id(container)
    [parked] = [r for r in stored_events(container) if r.id == event_id]
    assert parked.attempts == 3  # the RetryPolicy of the celery_worker fixture
    assert parked.last_error is not None
    assert "TransientStripeError" in parked.last_error
    assert card_rows(container, jane_account.id) == []

    still_broken = CliRunner().invoke(webhooks_app, ["replay"])
    assert still_broken.exit_code == 1, still_broken.output
    assert f"{event_id} still parked" in still_broken.output
    assert event_status(container, event_id) is StripeEventStatus.PARKED

    control.clear_faults()
    fixed = CliRunner().invoke(webhooks_app, ["replay"])

    assert fixed.exit_code == 0, fixed.output
    assert "processed" in fixed.output
    assert event_status(container, event_id) is StripeEventStatus.PROCESSED
    [card] = card_rows(container, jane_account.id)
    assert (card.status, card.is_default) == ("active", True)
    assert sorted(outbox_types(container)) == [
        "billing_account.activated",
        "payment_method.attached",
    ]


def test_replay_selects_by_id_type_and_status(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    jane_account: BillingAccount,
    operator_env: None,
) -> None:
    container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert control.wait_for_webhooks()
    event_id = _attached_event_id(container)

    nothing_parked = CliRunner().invoke(webhooks_app, ["replay"])
    assert nothing_parked.exit_code == 0
    assert "No stored event matches" in nothing_parked.output
    assert event_status(container, event_id) is StripeEventStatus.RECEIVED

    by_type = CliRunner().invoke(
        webhooks_app, ["replay", "--type", "customer.created", "--status", "received"]
    )
    assert by_type.exit_code == 0, by_type.output
    assert event_status(container, event_id) is StripeEventStatus.RECEIVED

    by_id = CliRunner().invoke(webhooks_app, ["replay", "--id", event_id])
    assert by_id.exit_code == 0, by_id.output
    assert event_status(container, event_id) is StripeEventStatus.PROCESSED
    assert len(card_rows(container, jane_account.id)) == 1
