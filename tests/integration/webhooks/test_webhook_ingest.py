"""`POST /webhooks/stripe` over HTTP: what it refuses (a 4xx, nothing stored, nothing sent) and
what it accepts (stored once, its task sent after the commit)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest

from campaign_billing.wiring import Container
from tests.integration.webhooks.webhook_harness import (
    OLD_SECRET,
    SECRET,
    Broker,
    ServedEndpoint,
    crafted_event,
    signed_headers,
    stored_events,
)


def _post(endpoint: ServedEndpoint, body: str | bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(endpoint.url, content=body, headers=headers, timeout=10)


def _assert_refused(
    response: httpx.Response, status: int, code: str, container: Container, broker: Broker
) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert stored_events(container) == []
    assert broker.sent == []


def test_a_signed_event_is_stored_once_and_its_task_sent_after_the_commit(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event(event_id="evt_ok")

    response = _post(endpoint, body, signed_headers(body))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    [row] = stored_events(container)
    assert (row.id, row.type, row.status, row.attempts) == (
        "evt_ok",
        "payment_method.attached",
        "received",
        0,
    )
    assert broker.sent == [
        ("campaign_billing.stripe_event", {"stripe_event_id": "evt_ok"}, "webhooks")
    ]


def test_a_duplicate_delivery_answers_2xx_and_changes_nothing(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event(event_id="evt_twice")
    _post(endpoint, body, signed_headers(body))
    first = stored_events(container)

    again = _post(endpoint, body, signed_headers(body))

    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert [(r.id, r.received_at) for r in stored_events(container)] == [
        (r.id, r.received_at) for r in first
    ]
    assert len(broker.sent) == 1


def test_an_event_signed_with_the_secret_being_rotated_out_is_accepted(
    endpoint: ServedEndpoint, container: Container
) -> None:
    body = crafted_event(event_id="evt_old_secret")

    response = _post(endpoint, body, signed_headers(body, OLD_SECRET))

    assert response.status_code == 200
    assert [row.id for row in stored_events(container)] == ["evt_old_secret"]


def test_a_bad_signature_is_refused_and_stores_nothing(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event()
    headers = signed_headers(body)
    headers["Stripe-Signature"] = headers["Stripe-Signature"][:-4] + "0000"

    response = _post(endpoint, body, headers)

    _assert_refused(response, 400, "signature_invalid", container, broker)


def test_a_body_changed_after_signing_is_refused(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event(event_id="evt_signed")
    headers = signed_headers(body)

    response = _post(endpoint, body.replace("evt_signed", "evt_forged"), headers)

    _assert_refused(response, 400, "signature_invalid", container, broker)


def test_a_wrong_secret_is_refused_and_stores_nothing(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event()

    response = _post(endpoint, body, signed_headers(body, "whsec_someone_else"))

    _assert_refused(response, 400, "signature_invalid", container, broker)


def test_a_missing_signature_is_refused(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    response = _post(endpoint, crafted_event(), {"Content-Type": "application/json"})

    _assert_refused(response, 400, "signature_missing", container, broker)


def test_a_timestamp_past_the_300_second_tolerance_is_refused(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event()
    stale = int(time.time()) - 301

    response = _post(endpoint, body, signed_headers(body, SECRET, stale))

    _assert_refused(response, 400, "signature_expired", container, broker)


def test_a_timestamp_within_the_tolerance_is_accepted(
    endpoint: ServedEndpoint, container: Container
) -> None:
    body = crafted_event()

    response = _post(endpoint, body, signed_headers(body, SECRET, int(time.time()) - 280))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"id": "evt_1", "type": ', "body_malformed"),
        (b'{"id": "evt_\xff"}', "body_malformed"),
        (b"[" * 30_000 + b"]" * 30_000, "body_malformed"),
        (b"[1, 2, 3]", "event_malformed"),
        (b'{"id": "evt_1", "type": "customer.updated", "created": "today"}', "event_malformed"),
        (b'{"id": "evt_1", "type": "customer.updated", "created": 1}', "event_malformed"),
    ],
    ids=["truncated", "not_utf8", "nested_too_deep", "not_an_object", "bad_created", "no_data"],
)
def test_a_signed_body_that_is_not_a_stripe_event_is_refused(
    endpoint: ServedEndpoint, container: Container, broker: Broker, body: bytes, code: str
) -> None:
    headers = {"Stripe-Signature": _sign_bytes(body), "Content-Type": "application/json"}

    response = _post(endpoint, body, headers)

    _assert_refused(response, 400, code, container, broker)


def _sign_bytes(raw: bytes) -> str:
    """Stripe's scheme over raw bytes, for bodies that are not text."""
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event(obj={"id": "pm_big", "padding": "x" * (64 * 1024)})

    response = _post(endpoint, body, signed_headers(body))

    _assert_refused(response, 413, "payload_too_large", container, broker)


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(
    endpoint: ServedEndpoint, container: Container, broker: Broker
) -> None:
    body = crafted_event(obj={"id": "pm_big", "padding": "x" * (64 * 1024)})

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096].encode()

    response = httpx.post(endpoint.url, content=chunks(), headers=signed_headers(body), timeout=10)

    _assert_refused(response, 413, "payload_too_large", container, broker)
