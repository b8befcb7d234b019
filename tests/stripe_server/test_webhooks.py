"""Webhook endpoints, events, and their signed, retried, misbehaving-on-demand delivery."""

import json
from typing import Any

import requests
import stripe

from campaign_billing.stripe_server import (
    ControlClient,
    StripeServerSettings,
    StripeTestServer,
    WebhookTarget,
)
from tests.stripe_server.conftest import make_stripe_client
from tests.stripe_server.webhook_receiver import ReceivedWebhook, WebhookReceiver

SECRET = "whsec_test_secret_for_campaign_billing"


def events_of(received: list[ReceivedWebhook]) -> list[dict[str, Any]]:
    return [json.loads(webhook.body) for webhook in received]


def test_an_endpoint_is_registered_with_a_signing_secret_shown_only_at_creation(
    stripe_client: stripe.StripeClient, webhook_receiver: WebhookReceiver
) -> None:
    created = stripe_client.v1.webhook_endpoints.create(
        params={"url": webhook_receiver.url, "enabled_events": ["customer.created"]}
    )

    fetched = stripe_client.v1.webhook_endpoints.retrieve(created.id)
    listed = stripe_client.v1.webhook_endpoints.list()

    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    assert "secret" not in fetched.to_dict()
    assert [endpoint.id for endpoint in listed.data] == [created.id]


def test_deliveries_verify_with_stripe_webhook_construct_event(
    stripe_client: stripe.StripeClient, webhook_receiver: WebhookReceiver
) -> None:
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": webhook_receiver.url, "enabled_events": ["*"]}
    )
    assert endpoint.secret is not None
    customer = stripe_client.v1.customers.create(params={"email": "jane@example.com"})

    received = webhook_receiver.wait_for(lambda got: len(got) == 1)
    event = stripe.Webhook.construct_event(received[0].body, received[0].signature, endpoint.secret)

    assert (event.type, event.data.object["id"]) == ("customer.created", customer.id)


def test_a_delivery_signed_with_another_secret_fails_verification(
    stripe_client: stripe.StripeClient, webhook_receiver: WebhookReceiver
) -> None:
    stripe_client.v1.webhook_endpoints.create(
        params={"url": webhook_receiver.url, "enabled_events": ["*"]}
    )
    stripe_client.v1.customers.create()

    received = webhook_receiver.wait_for(lambda got: len(got) == 1)

    try:
        stripe.Webhook.construct_event(received[0].body, received[0].signature, "whsec_wrong")
    except stripe.SignatureVerificationError:
        return
    raise AssertionError("a signature made with another secret verified")


def test_an_event_carries_stripes_envelope_and_the_request_that_caused_it(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    customer = stripe_client.v1.customers.create(options={"idempotency_key": "create-jane"})
    stripe_client.v1.customers.update(customer.id, params={"email": "new@example.com"})

    updated = events_of(webhook_receiver.wait_for(lambda got: len(got) == 2))[-1]

    assert set(updated) >= {
        "id",
        "object",
        "api_version",
        "created",
        "data",
        "livemode",
        "pending_webhooks",
        "request",
        "type",
    }
    assert (updated["object"], updated["type"], updated["livemode"]) == (
        "event",
        "customer.updated",
        False,
    )
    assert updated["data"] == {
        "object": {**updated["data"]["object"], "email": "new@example.com"},
        "previous_attributes": {"email": None},
    }
    created = stripe_client.v1.events.list(params={"type": "customer.created"}).data[0]
    assert created.request is not None
    assert created.request.idempotency_key == "create-jane"
    assert created.request.id is not None
    assert created.request.id.startswith("req_")


def test_only_enabled_event_types_are_delivered(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, enabled_events=["payment_method.attached"])
    customer = stripe_client.v1.customers.create()
    stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})

    assert control.wait_for_webhooks()
    assert [event["type"] for event in events_of(webhook_receiver.received)] == [
        "payment_method.attached"
    ]


def test_a_failed_delivery_is_retried_until_the_endpoint_accepts_it(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    webhook_receiver.fail_next(2)
    customer = stripe_client.v1.customers.create()

    received = webhook_receiver.wait_for(lambda got: len(got) == 3)
    assert control.wait_for_webhooks()
    attempts = [(d["attempt"], d["status_code"]) for d in control.webhook_deliveries()]

    assert {event["id"] for event in events_of(received)} == {
        stripe_client.v1.events.list().data[0].id
    }
    assert attempts == [(1, 500), (2, 500), (3, 200)]
    assert events_of(received)[0]["data"]["object"]["id"] == customer.id


def test_pending_webhooks_and_delivery_success_track_deliveries(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    control.configure_webhooks(retry_delays_s=[])
    webhook_receiver.fail_next(1)
    failed = stripe_client.v1.customers.create()
    assert control.wait_for_webhooks()
    delivered = stripe_client.v1.customers.create()
    assert control.wait_for_webhooks()

    undelivered = stripe_client.v1.events.list(params={"delivery_success": False})
    succeeded = stripe_client.v1.events.list(params={"delivery_success": True})

    assert [e.data.object["id"] for e in undelivered.data] == [failed.id]
    assert [e.pending_webhooks for e in undelivered.data] == [1]
    assert [e.data.object["id"] for e in succeeded.data] == [delivered.id]


def test_each_delivery_can_be_duplicated(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    control.configure_webhooks(duplicates=2)
    stripe_client.v1.customers.create()

    received = webhook_receiver.wait_for(lambda got: len(got) == 3)

    assert len({event["id"] for event in events_of(received)}) == 1


def test_held_deliveries_are_released_in_shuffled_order(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    control.pause_webhooks()
    created = [stripe_client.v1.customers.create().id for _ in range(12)]
    held_before_release = list(webhook_receiver.received)

    released = control.resume_webhooks(order="shuffle")
    received = webhook_receiver.wait_for(lambda got: len(got) == 12)
    order = [event["data"]["object"]["id"] for event in events_of(received)]

    assert (held_before_release, released) == ([], 12)
    assert sorted(order) == sorted(created)
    assert order != created


def test_held_deliveries_can_be_released_newest_first(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.configure_webhooks()
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    control.pause_webhooks()
    created = [stripe_client.v1.customers.create().id for _ in range(3)]

    control.flush_webhooks(order="reverse")
    received = webhook_receiver.wait_for(lambda got: len(got) == 3)

    assert {event["data"]["object"]["id"] for event in events_of(received)} == set(created)
    assert control.wait_for_webhooks()


def test_deliveries_can_be_delayed(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    control.add_webhook_endpoint(webhook_receiver.url, secret=SECRET)
    control.configure_webhooks(delay_ms=300)
    stripe_client.v1.customers.create()

    early = list(webhook_receiver.received)
    webhook_receiver.wait_for(lambda got: len(got) == 1)

    assert early == []


def test_a_deleted_endpoint_receives_nothing_more(
    stripe_client: stripe.StripeClient, control: ControlClient, webhook_receiver: WebhookReceiver
) -> None:
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": webhook_receiver.url, "enabled_events": ["*"]}
    )
    stripe_client.v1.webhook_endpoints.delete(endpoint.id)
    stripe_client.v1.customers.create()

    assert control.wait_for_webhooks()
    assert webhook_receiver.received == []


def test_events_are_listed_by_type_wildcard_and_creation_time(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    customer = stripe_client.v1.customers.create()
    stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    later = stripe_client.v1.events.list().data[0].created
    control.advance_clock(3600)
    stripe_client.v1.customers.update(customer.id, params={"name": "Jane"})

    payment_method_events = stripe_client.v1.events.list(params={"type": "payment_method.*"})
    recent = stripe_client.v1.events.list(params={"created": {"gt": later}})

    assert [e.type for e in payment_method_events.data] == ["payment_method.attached"]
    assert [e.type for e in recent.data] == ["customer.updated"]


def test_an_event_can_be_retrieved_by_id(stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.customers.create()
    listed = stripe_client.v1.events.list().data[0]

    fetched = stripe_client.v1.events.retrieve(listed.id)

    assert fetched.to_dict() == listed.to_dict()


def test_an_endpoint_from_configuration_is_registered_at_start_up(
    webhook_receiver: WebhookReceiver, http_session: requests.Session
) -> None:
    settings = StripeServerSettings(webhook_targets=(WebhookTarget(webhook_receiver.url, SECRET),))
    with StripeTestServer(settings=settings) as server:
        make_stripe_client(server, http_session).v1.customers.create()
        received = webhook_receiver.wait_for(lambda got: len(got) == 1)

    event = stripe.Webhook.construct_event(received[0].body, received[0].signature, SECRET)
    assert event.type == "customer.created"
