"""What the server forgets, so a long benchmark does not exhaust memory."""

from campaign_billing.stripe_server.clock import Clock
from campaign_billing.stripe_server.event_log import NOT_AN_API_REQUEST, EventLog
from campaign_billing.stripe_server.idempotency import IdempotencyStore, StoredResponse


def stored(created_at: float) -> StoredResponse:
    return StoredResponse("POST", "/v1/customers", "{}", 200, b"{}", "req_1", created_at)


def test_the_oldest_idempotency_keys_are_dropped_past_the_limit() -> None:
    clock = Clock()
    store = IdempotencyStore(clock, ttl_s=3600, max_keys=2)
    for key in ("a", "b", "c"):
        store.save("sk_test_x", key, stored(clock.now()))

    kept = [
        key
        for key in ("a", "b", "c")
        if store.find("sk_test_x", key, "POST", "/v1/customers", "{}")
    ]

    assert kept == ["b", "c"]


def test_the_oldest_events_are_dropped_past_the_limit() -> None:
    log = EventLog(Clock(), "2026-10-28.endive", max_events=2)
    emitted = [
        log.emit("customer.created", {"id": f"cus_{n}"}, NOT_AN_API_REQUEST)["id"] for n in range(3)
    ]

    kept = [event["id"] for event in log.events.newest_first()]

    assert kept == [emitted[2], emitted[1]]
