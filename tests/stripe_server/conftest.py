"""Fixtures for the Stripe test server's own tests: one server per session, started in-process
on a free port and reset before each test, reached through the real `stripe` library."""

from collections.abc import Iterator

import pytest
import requests
import stripe
from requests.adapters import HTTPAdapter

from campaign_billing.stripe_server import ControlClient, StripeServerSettings, StripeTestServer
from tests.stripe_server.webhook_receiver import WebhookReceiver

TEST_API_KEY = "sk_test_campaign_billing"

# Webhook retries compressed from Stripe's hours into fractions of a second.
TEST_SETTINGS = StripeServerSettings(webhook_retry_delays_s=(0.05, 0.1, 0.2), seed=7)


@pytest.fixture(scope="session")
def stripe_test_server() -> Iterator[StripeTestServer]:
    with StripeTestServer(settings=TEST_SETTINGS) as server:
        yield server


@pytest.fixture
def stripe_server(stripe_test_server: StripeTestServer) -> StripeTestServer:
    """The session's server, emptied of every object, event, fault and log entry."""
    stripe_test_server.control.reset()
    return stripe_test_server


@pytest.fixture
def control(stripe_server: StripeTestServer) -> ControlClient:
    return stripe_server.control


def make_stripe_client(
    server: StripeTestServer, session: requests.Session, max_network_retries: int = 0
) -> stripe.StripeClient:
    return stripe.StripeClient(
        TEST_API_KEY,
        base_addresses={"api": server.base_url},
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(session=session, timeout=30),
    )


@pytest.fixture
def http_session() -> Iterator[requests.Session]:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=64))
    yield session
    session.close()


@pytest.fixture
def stripe_client(
    stripe_server: StripeTestServer, http_session: requests.Session
) -> stripe.StripeClient:
    """A `stripe.StripeClient` pointed at the test server, without network retries."""
    return make_stripe_client(stripe_server, http_session)


@pytest.fixture
def retrying_stripe_client(
    stripe_server: StripeTestServer, http_session: requests.Session
) -> stripe.StripeClient:
    """A client that retries network errors, 409s and 5xx twice, as stripe-python can."""
    return make_stripe_client(stripe_server, http_session, max_network_retries=2)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
