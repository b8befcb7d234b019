"""Prometheus metrics. Names are the contract operators alert on (docs/operations.md)."""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Histogram

STRIPE_CALLS = Counter(
    "campaign_billing_stripe_calls_total",
    "Stripe API calls by operation and result (ok, CardError, TransientStripeError, ...); each "
    "TransientStripeError is retried under the same idempotency key until the budget is spent.",
    ["operation", "result"],
)
STRIPE_CALL_SECONDS = Histogram(
    "campaign_billing_stripe_call_seconds",
    "Latency of one Stripe API call, rate-limiter wait included.",
    ["operation"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30),
)
PUBLISH_OUTCOMES = Counter(
    "campaign_billing_publish_outcomes_total",
    "Terminal publish requests by status and failure code ('' on success).",
    ["status", "code"],
)
CHARGE_SECONDS = Histogram(
    "campaign_billing_charge_seconds",
    "From the charge attempt being recorded to its outcome being recorded.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60),
)


WEBHOOK_LAG_SECONDS = Histogram(
    "campaign_billing_webhook_lag_seconds",
    "From Stripe creating an event (its `created`, whole seconds) to a worker finishing it, by "
    "the status it ended in (processed, skipped).",
    ["status"],
    # Seconds when healthy; minutes through retries; hours to days through a backfill or replay.
    buckets=(1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600),
)


def observe_stripe_call(operation: str, result: str, seconds: float) -> None:
    STRIPE_CALLS.labels(operation, result).inc()
    STRIPE_CALL_SECONDS.labels(operation).observe(seconds)


def observe_webhook_lag(status: str, stripe_created: int, finished_at: datetime) -> None:
    WEBHOOK_LAG_SECONDS.labels(status).observe(max(0.0, finished_at.timestamp() - stripe_created))
