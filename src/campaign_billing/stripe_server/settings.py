"""Configuration of one test server, from code or from the environment."""

import os
from collections.abc import Mapping
from dataclasses import dataclass

# The API version stripe-python 16.1.0 pins (stripe._api_version); events carry it.
DEFAULT_API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook endpoint registered at start-up, with a known signing secret, so a service can
    be configured with that secret before the server runs."""

    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class StripeServerSettings:
    latency_ms: float = 0.0
    """Added to every API request before it is handled (the run-wide fault plan)."""
    jitter_ms: float = 0.0
    """A uniform random extra delay in [0, jitter_ms] on top of latency_ms."""
    idempotency_ttl_s: float = 24 * 3600
    """Stripe prunes idempotency keys once they are at least 24 hours old
    (https://docs.stripe.com/api/idempotent_requests)."""
    idempotency_max_keys: int = 200_000
    """Oldest keys are dropped past this many, so a long benchmark (stripe-python puts a key on
    every POST) does not grow without bound."""
    max_events: int = 200_000
    """Events kept, newest first (Stripe keeps 30 days of them)."""
    rate_limit_rps: float | None = None
    """Answer 429 `rate_limit` past this many API requests in any one second; None: no limit."""
    api_version: str = DEFAULT_API_VERSION
    webhook_targets: tuple[WebhookTarget, ...] = ()
    webhook_retry_delays_s: tuple[float, ...] = (1.0, 4.0, 16.0)
    """Delays before each retry of a failed delivery. Stripe retries for up to three days in live
    mode and three times over a few hours in a sandbox (https://docs.stripe.com/webhooks#retries);
    the test server keeps the shape and shrinks the clock."""
    webhook_timeout_s: float = 10.0
    webhook_concurrency: int = 16
    request_log_size: int = 200_000
    seed: int | None = None
    """Seeds the random choices (jitter, fault shares, shuffled deliveries) for repeatable runs."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "StripeServerSettings":
        """Reads `STRIPE_TEST_SERVER_*` variables. `STRIPE_TEST_SERVER_WEBHOOK_URL` registers an
        endpoint at start-up, signed with `STRIPE_TEST_SERVER_WEBHOOK_SECRET` or else the first of
        the service's `STRIPE_WEBHOOK_SECRETS`."""
        env = os.environ if environ is None else environ
        targets: tuple[WebhookTarget, ...] = ()
        url = env.get("STRIPE_TEST_SERVER_WEBHOOK_URL")
        if url:
            service_secrets = [s for s in env.get("STRIPE_WEBHOOK_SECRETS", "").split(",") if s]
            secret = env.get("STRIPE_TEST_SERVER_WEBHOOK_SECRET") or (
                service_secrets[0] if service_secrets else ""
            )
            if not secret:
                raise ValueError(
                    "STRIPE_TEST_SERVER_WEBHOOK_URL needs STRIPE_TEST_SERVER_WEBHOOK_SECRET "
                    "or STRIPE_WEBHOOK_SECRETS"
                )
            targets = (WebhookTarget(url, secret),)
        rate_limit = env.get("STRIPE_TEST_SERVER_RATE_LIMIT")
        return cls(
            latency_ms=float(env.get("STRIPE_TEST_SERVER_LATENCY_MS", "0")),
            jitter_ms=float(env.get("STRIPE_TEST_SERVER_JITTER_MS", "0")),
            rate_limit_rps=float(rate_limit) if rate_limit else None,
            webhook_targets=targets,
        )
