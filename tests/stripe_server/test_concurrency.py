"""The server is asynchronous: injected latency overlaps instead of queueing requests."""

import time
from concurrent.futures import ThreadPoolExecutor

import stripe

from campaign_billing.stripe_server import ControlClient

IN_FLIGHT = 40
LATENCY_S = 0.3


def test_requests_under_300_ms_latency_are_served_concurrently(
    stripe_client: stripe.StripeClient, control: ControlClient
) -> None:
    control.set_faults(latency_ms=LATENCY_S * 1000)

    def charge(index: int) -> str:
        intent = stripe_client.v1.payment_intents.create(
            params={
                "amount": 1000 + index,
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": True,
            }
        )
        return intent.status

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        statuses = list(pool.map(charge, range(IN_FLIGHT)))
    elapsed = time.monotonic() - started

    assert statuses == ["succeeded"] * IN_FLIGHT
    # One after another this would take IN_FLIGHT * 0.3 s = 12 s.
    assert elapsed < 6 * LATENCY_S
    assert len(control.ledger()) == IN_FLIGHT
