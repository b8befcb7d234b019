"""`POST /webhooks/stripe` fuzzed with Hypothesis: whatever the body, the headers and the
signature, it never answers 5xx, and nothing is stored or handed to a worker unless the
signature is valid for that very body; a valid signature on a well-formed event is stored
once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from campaign_billing.settings import Settings
from tests.integration.api.api_harness import ApiClient

from .conftest import SentTask

PATH = "/webhooks/stripe"
REFUSALS = {"body_malformed", "event_malformed", "unstorable_value"}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def webhooks(client_for: Callable[[str | None], ApiClient]) -> ApiClient:
    return client_for(None)  # Stripe sends no bearer token


@pytest.fixture
def secret(abuse_settings: Settings) -> str:
    return abuse_settings.webhook_secrets[0]


def _sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme (https://docs.stripe.com/webhooks#verify-manually), over raw bytes."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM stripe_events")).scalar_one())


def _event(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
    ).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
events = st.builds(
    _event,
    st.text(min_size=1, max_size=80),
    st.sampled_from(["payment_method.attached", "customer.updated", "anything.else", ""]),
    st.dictionaries(st.text(max_size=12), json_values, max_size=5),
)
bodies = st.one_of(
    st.binary(max_size=2048),
    json_values.map(lambda v: json.dumps(v).encode()),
    events,
)
headers_without_signature = st.dictionaries(
    st.sampled_from(["Content-Type", "User-Agent", "Stripe-Signature-Fake", "X-Anything"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    max_size=3,
)


def _forged_signatures(body: bytes, secret: str) -> st.SearchStrategy[str]:
    now = int(time.time())
    printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)
    return st.one_of(
        printable,  # any header at all
        st.builds(lambda t, v: f"t={t},v1={v}", st.integers(), printable),  # Stripe's shape
        st.just(_sign(body, "whsec_someone_else")),  # signed with another secret
        st.just(_sign(body + b" ", secret)),  # signed over other bytes
        st.just(_sign(body, secret, now - 301)),  # past the 300 s tolerance
        st.just(_sign(body, secret).replace("v1=", "v0=")),  # another scheme
    )


@FUZZ
@given(body=bodies, headers=headers_without_signature, data=st.data())
def test_nothing_is_stored_without_a_valid_signature_and_nothing_answers_5xx(
    webhooks: ApiClient,
    engine: Engine,
    secret: str,
    sent_tasks: list[SentTask],
    body: bytes,
    headers: dict[str, str],
    data: st.DataObject,
) -> None:
    signature = data.draw(st.none() | _forged_signatures(body, secret), label="signature")
    if signature is not None:
        headers = {**headers, "Stripe-Signature": signature}

    response = webhooks.post(PATH, content=body, headers=headers)

    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]
    assert _stored(engine) == 0
    assert sent_tasks == []


@FUZZ
@given(body=bodies)
def test_a_validly_signed_body_is_stored_once_if_it_is_an_event_and_refused_if_not(
    webhooks: ApiClient, engine: Engine, secret: str, sent_tasks: list[SentTask], body: bytes
) -> None:
    with engine.begin() as connection:  # each example starts with no event stored
        connection.execute(text("DELETE FROM stripe_events"))

    first = webhooks.post(PATH, content=body, headers={"Stripe-Signature": _sign(body, secret)})
    again = webhooks.post(PATH, content=body, headers={"Stripe-Signature": _sign(body, secret)})

    assert first.status_code < 500, first.text
    if first.status_code == 200:
        assert first.json() == {"received": True, "duplicate": False}
        assert again.json() == {"received": True, "duplicate": True}
        assert _stored(engine) == 1
    else:
        # Not an event, or a value PostgreSQL cannot hold (a NUL character in a string).
        assert first.json()["error"]["code"] in REFUSALS, first.text
        assert again.status_code == first.status_code
        assert _stored(engine) == 0
