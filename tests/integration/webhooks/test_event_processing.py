"""Processing stored events: once per event whatever the duplicates, skipped when they are not
ours, owners found for detached cards, expiry, and publish outcomes that arrive by webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from campaign_billing.adapters.repositories.stripe_events import StripeEventStatus
from campaign_billing.domain.model import BillingAccount, BillingSelection, BillingType, OwnerType
from campaign_billing.domain.publishing import ChargeStatus, PublishStatus
from campaign_billing.services import publishing
from campaign_billing.services.stripe_events import EventDeps, process_stripe_event
from campaign_billing.stripe_server import ControlClient
from campaign_billing.wiring import Container
from campaign_billing.workers.webhook_tasks import event_deps
from tests.integration.webhooks.webhook_harness import (
    Broker,
    ServedEndpoint,
    card_rows,
    crafted_event,
    event_status,
    outbox,
    outbox_types,
    signed_headers,
    stored_events,
)
from tests.support.world import World


def _deliver(endpoint: ServedEndpoint, body: str) -> None:
    response = httpx.post(endpoint.url, content=body, headers=signed_headers(body))
    assert response.status_code == 200, response.text


def test_duplicate_deliveries_are_stored_once_and_processed_once(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    jane_account: BillingAccount,
) -> None:
    control.configure_webhooks(duplicates=3)
    container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert control.wait_for_webhooks()
    copies = [
        d["event_id"]
        for d in control.webhook_deliveries()
        if d["succeeded"] and d["event_type"] == "payment_method.attached"
    ]
    assert len(copies) == 4
    assert len(set(copies)) == 1

    attempts = broker.run_stripe_events()

    assert [row.id for row in stored_events(container)].count(copies[0]) == 1
    assert len(attempts) == len(stored_events(container))  # one task per event, not per copy
    assert sorted(outbox_types(container)) == [
        "billing_account.activated",
        "payment_method.attached",
    ]
    [card] = card_rows(container, jane_account.id)
    assert (card.status, card.is_default) == ("active", True)


def test_a_redelivered_task_finds_the_event_done_and_changes_nothing(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    jane_account: BillingAccount,
) -> None:
    container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert control.wait_for_webhooks()
    broker.run_stripe_events()
    attached = next(r for r in stored_events(container) if r.type == "payment_method.attached")
    before = (len(outbox(container)), attached.attempts)

    again = process_stripe_event(event_deps(container), attached.id, max_attempts=3)

    assert again.status is StripeEventStatus.PROCESSED
    [after] = [r for r in stored_events(container) if r.id == attached.id]
    assert (len(outbox(container)), after.attempts) == before


def test_events_about_customers_we_do_not_own_and_unknown_types_are_skipped(
    endpoint: ServedEndpoint, container: Container, broker: Broker, jane_account: BillingAccount
) -> None:
    stranger = container.stripe_client.v1.customers.create(params={"name": "Not ours"})
    method = container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": stranger.id}
    )
    _deliver(
        endpoint,
        crafted_event("payment_method.attached", method.to_dict(), event_id="evt_foreign_customer"),
    )
    _deliver(
        endpoint,
        crafted_event("invoice.paid", {"id": "in_1", "object": "invoice"}, event_id="evt_unknown"),
    )

    broker.run_stripe_events()

    assert event_status(container, "evt_foreign_customer") is StripeEventStatus.SKIPPED
    assert event_status(container, "evt_unknown") is StripeEventStatus.SKIPPED
    assert all(row.last_error is None for row in stored_events(container))
    assert outbox(container) == []


def test_a_detached_card_with_no_customer_is_found_from_our_own_records(
    delivering: ServedEndpoint,
    endpoint: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    jane_account: BillingAccount,
) -> None:
    stripe = container.stripe_client.v1
    method = stripe.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert control.wait_for_webhooks()
    broker.run_stripe_events()
    control.pause_webhooks()  # the real detach event never arrives: only the crafted one
    detached = stripe.payment_methods.detach(method.id).to_dict()
    assert detached["customer"] is None

    # As Stripe documents it, minus `previous_attributes`: nothing but our rows names the owner.
    _deliver(endpoint, crafted_event("payment_method.detached", detached, event_id="evt_gone"))
    broker.run_stripe_events()

    assert event_status(container, "evt_gone") is StripeEventStatus.PROCESSED
    [card] = card_rows(container, jane_account.id)
    assert (card.status, card.is_default) == ("detached", False)
    assert outbox_types(container).count("payment_method.detached") == 1


def test_a_card_past_its_expiry_month_is_marked_expired_and_loses_nothing_else(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    jane_account: BillingAccount,
) -> None:
    method = container.stripe_client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": jane_account.stripe_customer_id}
    )
    assert control.wait_for_webhooks()
    broker.run_stripe_events()
    assert method.card is not None
    later = datetime(method.card.exp_year + 1, 1, 2, tzinfo=UTC)
    event_id = stored_events(container)[-1].id

    deps = EventDeps(container.uow, container.gateway, container.send_publish, now=lambda: later)
    process_stripe_event(deps, event_id, max_attempts=3, replay=True)

    [card] = card_rows(container, jane_account.id)
    assert (card.status, card.is_default) == ("expired", True)
    updated = [row for row in outbox(container) if row.type == "payment_method.updated"]
    assert [row.data["previous"] for row in updated] == [{"status": "active"}]


def test_a_deleted_customer_leaves_every_card_detached(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    jane_account: BillingAccount,
) -> None:
    stripe, customer_id = container.stripe_client.v1, jane_account.stripe_customer_id
    assert customer_id is not None
    for card in ("pm_card_visa", "pm_card_mastercard"):
        stripe.payment_methods.attach(card, params={"customer": customer_id})
    assert control.wait_for_webhooks()
    broker.run_stripe_events()

    stripe.customers.delete(customer_id)
    assert control.wait_for_webhooks()
    broker.run_stripe_events()

    cards = card_rows(container, jane_account.id)
    assert [(c.status, c.is_default) for c in cards] == [("detached", False)] * 2
    assert outbox_types(container).count("payment_method.detached") == 2


def test_a_completed_payment_link_publishes_the_campaign_waiting_for_authentication(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    world: World,
) -> None:
    world.account(OwnerType.AGENT, "agent_jane", card="pm_card_authenticationRequired")
    world.campaign(
        "cmp_3ds",
        "agent_jane",
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    accepted = publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id="ws_1",
        campaign_id="cmp_3ds",
        request_key=None,
    )
    status = publishing.process_publish_request(
        container.uow, container.gateway, container.publish_settings, accepted.request.id
    )
    assert status is PublishStatus.REQUIRES_ACTION
    waiting = publishing.get_publish_request(container.uow, "ws_1", accepted.request.id)
    assert waiting is not None
    assert waiting.checkout_session_id is not None
    assert control.wait_for_webhooks()
    broker.run_stripe_events()

    control.complete_checkout_session(waiting.checkout_session_id, card="4242424242424242")
    assert control.wait_for_webhooks()
    broker.run_stripe_events()

    done = publishing.get_publish_request(container.uow, "ws_1", accepted.request.id)
    assert done is not None
    assert done.charge is not None
    assert (done.status, done.charge.status) == (PublishStatus.SUCCEEDED, ChargeStatus.SUCCEEDED)
    session = container.stripe_client.v1.checkout.sessions.retrieve(waiting.checkout_session_id)
    assert done.charge.stripe_payment_intent_id == session.payment_intent
    published = [row for row in outbox(container) if row.type == "campaign.published"]
    assert [row.data["publish_request_id"] for row in published] == [accepted.request.id]


def test_a_late_payment_intent_succeeded_corrects_a_charge_whose_outcome_was_lost(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    world: World,
) -> None:
    world.account(OwnerType.AGENT, "agent_jane", card="pm_card_visa")
    world.campaign(
        "cmp_lost",
        "agent_jane",
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    accepted = publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id="ws_1",
        campaign_id="cmp_lost",
        request_key=None,
    )
    # Stripe charges, every answer is lost, and it cannot be asked either.
    control.set_faults(
        commit_then_drop_share=1.0, calls=20, method="POST", path_prefix="/v1/payment_intents"
    )
    control.set_faults(
        error_500_share=1.0, calls=20, method="GET", path_prefix="/v1/payment_intents"
    )
    status = publishing.process_publish_request(
        container.uow, container.gateway, container.publish_settings, accepted.request.id
    )
    assert status is PublishStatus.FAILED
    control.clear_faults()

    assert control.wait_for_webhooks()
    broker.run_stripe_events()

    request = publishing.get_publish_request(container.uow, "ws_1", accepted.request.id)
    assert request is not None
    assert request.charge is not None
    assert (request.status, request.charge.status) == (
        PublishStatus.SUCCEEDED,
        ChargeStatus.SUCCEEDED,
    )
    published = [row for row in outbox(container) if row.type == "campaign.published"]
    assert [row.data.get("corrects_failure") for row in published] == [True]
    assert json.dumps(published[0].data)  # a plain JSON envelope
