"""Events: the record of every state change, as Stripe emits them for webhooks and /v1/events.

The event object follows https://docs.stripe.com/api/events/object: `data.object` is a snapshot
of the object when the change happened, `data.previous_attributes` holds the old values of what
an `*.updated` event changed, and `request` names the API request (and its idempotency key) that
caused it, or nulls when the change was not caused by an API request (e.g. a customer completing
Checkout).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaign_billing.stripe_server.clock import Clock
from campaign_billing.stripe_server.collection import Collection
from campaign_billing.stripe_server.ids import new_id
from campaign_billing.stripe_server.snapshot import snapshot
from campaign_billing.stripe_server.types import JsonObject


@dataclass(frozen=True)
class Origin:
    """What caused a state change: an API request, or nothing the client did."""

    request_id: str | None = None
    idempotency_key: str | None = None


NOT_AN_API_REQUEST = Origin()

EventListener = Callable[[JsonObject], None]


class EventLog:
    def __init__(self, clock: Clock, api_version: str, max_events: int) -> None:
        self._clock = clock
        self.api_version = api_version
        self._max_events = max_events
        self.events = Collection("event")
        self._listeners: list[EventListener] = []

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def emit(
        self,
        event_type: str,
        obj: JsonObject,
        origin: Origin,
        previous_attributes: JsonObject | None = None,
    ) -> JsonObject:
        data: JsonObject = {"object": snapshot(obj)}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        event: JsonObject = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": self.api_version,
            "created": self._clock.timestamp(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": origin.request_id, "idempotency_key": origin.idempotency_key},
            "type": event_type,
        }
        self.events.add(event)
        self.events.trim(self._max_events)
        for listener in self._listeners:
            listener(event)
        return event

    def clear(self) -> None:
        self.events.clear()


def previous_attributes(before: JsonObject, after: JsonObject) -> JsonObject:
    """The old values of what changed, nested like Stripe's `previous_attributes` (a key that
    did not exist before shows as null)."""
    changed: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = snapshot(old)
    return changed
