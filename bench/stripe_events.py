"""Signed Stripe webhook deliveries for the ingest and apply figures.

Each event wraps a real object of the Stripe test server (a customer of one of the benchmark's
billing accounts, or its saved card), so the workers that apply it find a customer we know and
re-fetch it from Stripe as in production. Bodies are padded to `SIZE` bytes, Stripe's usual size
for these events, and signed as Stripe signs (https://docs.stripe.com/webhooks#verify-manually):
`Stripe-Signature: t=TIMESTAMP,v1=HMAC-SHA256(secret, "TIMESTAMP.BODY")`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

SIZE = 3 * 1024
TYPES = (
    "payment_method.attached",
    "payment_method.updated",
    "payment_method.automatically_updated",
    "payment_method.detached",
    "customer.updated",
)
API_VERSION = "2026-10-28.endive"


def signature(secret: str, body: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def fetch_objects(
    stripe_url: str, api_key: str, customer_ids: list[str]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(customer, card) of each customer, as the Stripe test server holds them now."""
    found = []
    with httpx.Client(
        base_url=stripe_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as client:
        for customer_id in customer_ids:
            customer = client.get(f"/v1/customers/{customer_id}").json()
            cards = client.get(
                "/v1/payment_methods", params={"customer": customer_id, "type": "card"}
            ).json()["data"]
            if cards:
                found.append((customer, cards[0]))
    if not found:
        raise RuntimeError("no customer with a card on the Stripe test server")
    return found


def event(
    event_id: str, event_type: str, customer: dict[str, Any], card: dict[str, Any], created: int
) -> dict[str, Any]:
    previous: dict[str, Any] | None = None
    if event_type == "customer.updated":
        obj = customer
        previous = {"invoice_settings": {"default_payment_method": None}}
    elif event_type == "payment_method.detached":
        # A detached card names no customer; the one it left is in previous_attributes
        # (https://docs.stripe.com/api/payment_methods/detach).
        obj = {**card, "customer": None}
        previous = {"customer": customer["id"]}
    else:
        obj = card
        if event_type != "payment_method.attached":
            previous = {"billing_details": {"name": None}}
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def padded(payload: dict[str, Any], size: int = SIZE) -> str:
    """Compact JSON of `payload`, grown to `size` bytes with a metadata entry on its object
    (metadata is free-form on every Stripe object; the service never reads it here)."""
    body = json.dumps(payload, separators=(",", ":"))
    missing = size - len(body.encode())
    if missing <= 0:
        return body
    obj = dict(payload["data"]["object"])
    metadata = dict(obj.get("metadata") or {})
    metadata["bench_padding"] = ""
    obj["metadata"] = metadata
    grown = {**payload, "data": {**payload["data"], "object": obj}}
    filler = size - len(json.dumps(grown, separators=(",", ":")).encode())
    metadata["bench_padding"] = "x" * max(0, filler)
    return json.dumps(grown, separators=(",", ":"))


def deliveries(
    objects: list[tuple[dict[str, Any], dict[str, Any]]],
    secret: str,
    prefix: str,
    count: int,
) -> Iterator[tuple[str, str]]:
    """`count` signed deliveries `(signature header, body)`, each a new event id, cycling
    through the event types and the customers."""
    now = int(time.time())
    for i in range(count):
        customer, card = objects[i % len(objects)]
        body = padded(event(f"evt_{prefix}_{i}", TYPES[i % len(TYPES)], customer, card, now))
        yield signature(secret, body, now), body
