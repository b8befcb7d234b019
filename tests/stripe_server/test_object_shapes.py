"""Every object the server serves carries every top-level key of Stripe's published fixture
for its type (Stripe's OpenAPI fixtures3.json, in shared/stripe/)."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
import stripe

from campaign_billing.stripe_server import ControlClient, StripeTestServer
from tests.stripe_server.webhook_receiver import WebhookReceiver

_DEFAULT_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"
FIXTURES_PATH = Path(os.environ.get("STRIPE_FIXTURES_PATH", _DEFAULT_FIXTURES))


@pytest.fixture(scope="module")
def fixture_keys() -> dict[str, set[str]]:
    if not FIXTURES_PATH.exists():
        pytest.fail(
            f"Stripe's fixtures3.json not found at {FIXTURES_PATH}; set STRIPE_FIXTURES_PATH"
        )
    resources = json.loads(FIXTURES_PATH.read_text())["resources"]
    return {name: set(fixture) for name, fixture in resources.items()}


def served_objects(
    client: stripe.StripeClient, control: ControlClient, receiver: WebhookReceiver
) -> dict[str, dict[str, Any]]:
    """One of each object type the server serves, as the library received it."""
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    customer = client.v1.customers.create(params={"email": "jane@example.com"})
    payment_method = client.v1.payment_methods.attach(
        "pm_card_visa", params={"customer": customer.id}
    )
    setup_intent = client.v1.setup_intents.create(params={"customer": customer.id})
    payment_intent = client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": payment_method.id,
            "confirm": True,
            "off_session": True,
        }
    )
    assert isinstance(payment_intent.latest_charge, str)
    charge = client.v1.charges.retrieve(payment_intent.latest_charge)
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "customer": customer.id,
            "currency": "usd",
            "success_url": "https://example.com/ok",
        }
    )
    event = client.v1.events.list(params={"limit": 1}).data[0]
    deleted_endpoint = client.v1.webhook_endpoints.delete(endpoint.id)
    other = client.v1.customers.create()
    deleted_customer = client.v1.customers.delete(other.id)
    return {
        "customer": customer.to_dict(),
        "payment_method": payment_method.to_dict(),
        "setup_intent": setup_intent.to_dict(),
        "payment_intent": payment_intent.to_dict(),
        "charge": charge.to_dict(),
        "checkout.session": session.to_dict(),
        "event": event.to_dict(),
        "webhook_endpoint": endpoint.to_dict(),
        "deleted_webhook_endpoint": deleted_endpoint.to_dict(),
        "deleted_customer": deleted_customer.to_dict(),
    }


def test_every_served_object_has_every_top_level_key_of_stripes_fixture(
    stripe_client: stripe.StripeClient,
    control: ControlClient,
    webhook_receiver: WebhookReceiver,
    fixture_keys: dict[str, set[str]],
) -> None:
    objects = served_objects(stripe_client, control, webhook_receiver)

    missing = {name: sorted(fixture_keys[name] - set(obj)) for name, obj in objects.items()}

    assert missing == {name: [] for name in objects}


def test_each_object_names_its_type_in_object(
    stripe_client: stripe.StripeClient,
    control: ControlClient,
    webhook_receiver: WebhookReceiver,
    stripe_server: StripeTestServer,
) -> None:
    objects = served_objects(stripe_client, control, webhook_receiver)

    kinds = {name: obj["object"] for name, obj in objects.items()}

    assert kinds == {name: name.removeprefix("deleted_") for name in objects}
