"""Publish requests and charge attempts: their states and the rules of moving between them.

docs/publishing.md draws the state machines and the order of writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from campaign_billing.domain.model import Money


class PublishStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"

    @property
    def is_terminal(self) -> bool:
        return self in (
            PublishStatus.SUCCEEDED,
            PublishStatus.FAILED,
            PublishStatus.REQUIRES_ACTION,
        )


class ChargeStatus(StrEnum):
    PENDING = "pending"
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"

    @property
    def blocks_new_charge(self) -> bool:
        """A pending, unreconciled or succeeded charge forbids another for the same campaign."""
        return self in (ChargeStatus.PENDING, ChargeStatus.UNKNOWN, ChargeStatus.SUCCEEDED)


def charge_idempotency_key(publish_request_id: str) -> str:
    """The Stripe idempotency key of a publish request's charge: derived from the row, so every
    retry, redelivery and reconciliation of that request reuses it, and a new request never does."""
    return f"publish_request:{publish_request_id}:charge"


@dataclass(frozen=True, slots=True)
class Charge:
    id: str
    publish_request_id: str
    campaign_id: str
    billing_account_id: str
    payment_method_id: str
    price: Money
    idempotency_key: str
    status: ChargeStatus
    stripe_payment_intent_id: str | None
    succeeded_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.price.amount,
            "currency": self.price.currency,
            "billing_account_id": self.billing_account_id,
            "payment_method_id": self.payment_method_id,
            "stripe_payment_intent_id": self.stripe_payment_intent_id,
            "status": self.status.value,
        }


@dataclass(frozen=True, slots=True)
class PublishRequest:
    id: str
    workspace_id: str
    campaign_id: str
    request_key: str
    status: PublishStatus
    failure: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    checkout_session_id: str | None = None
    charge: Charge | None = None
