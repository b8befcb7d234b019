"""The event envelope of SPEC.md "Events out": id, type, occurred_at, workspace_id, data."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    PUBLISH_REQUESTED = "campaign.publish_requested"
    PUBLISHED = "campaign.published"
    PUBLISH_FAILED = "campaign.publish_failed"
    PAYMENT_ACTION_REQUIRED = "campaign.payment_action_required"
    ACCOUNT_ACTIVATED = "billing_account.activated"
    PAYMENT_METHOD_ATTACHED = "payment_method.attached"
    PAYMENT_METHOD_DETACHED = "payment_method.detached"
    PAYMENT_METHOD_UPDATED = "payment_method.updated"


# The terminal events of a publish request: exactly one per terminal request.
TERMINAL_EVENT_TYPES = frozenset(
    {EventType.PUBLISHED, EventType.PUBLISH_FAILED, EventType.PAYMENT_ACTION_REQUIRED}
)


@dataclass(frozen=True, slots=True)
class Event:
    """One event out. `id` is unique for ever, so consumers of the at-least-once stream can drop
    duplicates by it."""

    type: EventType
    workspace_id: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "occurred_at": self.occurred_at.isoformat(),
            "workspace_id": self.workspace_id,
            "data": self.data,
        }

    def to_json(self) -> str:
        return json.dumps(self.envelope(), separators=(",", ":"), sort_keys=True)
