"""Missed webhooks: events Stripe created while nothing reached our endpoint are found in
Stripe's Events list and processed; stored events whose task was lost are sent again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from campaign_billing.adapters.repositories.stripe_events import StripeEventStatus
from campaign_billing.domain.model import BillingAccount
from campaign_billing.services.backfill import (
    backfill_events,
    resend_stranded_events,
    sync_lapsed_cards,
)
from campaign_billing.services.stripe_events import record_received_event
from campaign_billing.stripe_server import ControlClient
from campaign_billing.wiring import Container
from tests.integration.webhooks.webhook_harness import (
    Broker,
    card_rows,
    crafted_event,
    event_status,
    stored_events,
)


def test_events_that_never_reached_the_endpoint_are_backfilled_and_processed(
    container: Container, control: ControlClient, broker: Broker, jane_account: BillingAccount
) -> None:
    # No endpoint is registered: Stripe's deliveries go nowhere.
    method = container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert stored_events(container) == []

    found = backfill_events(
        container.uow, container.gateway, container.send_stripe_event, now=datetime.now(UTC)
    )
    broker.run_stripe_events()

    # Only the types we act on are asked for (not customer.created).
    assert [row.type for row in stored_events(container)] == ["payment_method.attached"]
    assert found.stored == 1
    [card] = card_rows(container, jane_account.id)
    assert card.stripe_payment_method_id == method.id


def test_a_second_backfill_starts_from_the_last_processed_event_and_stores_nothing_again(
    container: Container, control: ControlClient, broker: Broker, jane_account: BillingAccount
) -> None:
    container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    now = datetime.now(UTC)
    backfill_events(container.uow, container.gateway, container.send_stripe_event, now=now)
    broker.run_stripe_events()
    [processed] = stored_events(container)

    again = backfill_events(container.uow, container.gateway, container.send_stripe_event, now=now)

    assert again.since == processed.stripe_created - 15 * 60
    assert (again.listed, again.stored) == (1, 0)
    assert broker.take("campaign_billing.stripe_event") == []


def test_an_event_stored_while_the_broker_was_down_is_sent_again(
    container: Container, broker: Broker
) -> None:
    def broker_down(_event_id: str) -> None:
        raise ConnectionError("broker down")

    record_received_event(container.uow, broker_down, _crafted("evt_stranded"))
    assert event_status(container, "evt_stranded") is StripeEventStatus.RECEIVED

    now = datetime.now(UTC)
    assert resend_stranded_events(container.uow, container.send_stripe_event, now=now) == 0
    later = now + timedelta(minutes=11)
    assert resend_stranded_events(container.uow, container.send_stripe_event, now=later) == 1
    assert broker.take("campaign_billing.stripe_event") == [{"stripe_event_id": "evt_stranded"}]


def _crafted(event_id: str) -> dict[str, object]:
    payload: dict[str, object] = json.loads(crafted_event(event_id=event_id))
    return payload


def test_a_card_that_lapses_without_any_event_is_found_and_marked_expired(
    container: Container, control: ControlClient, broker: Broker, jane_account: BillingAccount
) -> None:
    method = container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    backfill_events(
        container.uow, container.gateway, container.send_stripe_event, now=datetime.now(UTC)
    )
    broker.run_stripe_events()
    assert method.card is not None
    assert card_rows(container, jane_account.id)[0].status == "active"
    this_month = datetime(method.card.exp_year, method.card.exp_month, 28, tzinfo=UTC)
    next_month = this_month + timedelta(days=5)

    assert sync_lapsed_cards(container.uow, container.gateway, now=this_month) == 0
    assert sync_lapsed_cards(container.uow, container.gateway, now=next_month) == 1

    [card] = card_rows(container, jane_account.id)
    assert (card.status, card.is_default) == ("expired", True)
    assert sync_lapsed_cards(container.uow, container.gateway, now=next_month) == 0
