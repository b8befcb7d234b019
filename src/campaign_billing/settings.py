"""Every setting of the service, read from the environment in this one place (API.md)."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Settings(BaseSettings):
    """Defaults work on a development machine with PostgreSQL and Redis on localhost.

    Secrets are `SecretStr` so that a settings object printed or logged shows `**********`.
    """

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    # Connections kept open per process, and extra ones opened under a burst. A worker of 64
    # threads holds one only for its short transactions (never across a Stripe call);
    # bench/ measured constant connection churn at 10 (docs/workers.md).
    database_pool_size: int = Field(default=20, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    redis_url: str = "redis://127.0.0.1:6379/0"
    # The Celery broker defaults to REDIS_URL; set it to an amqp:// URL to run on RabbitMQ.
    broker_url: str | None = None
    stripe_api_key: SecretStr = SecretStr("sk_test_campaign_billing")
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_secrets: SecretStr = SecretStr("")
    api_tokens: SecretStr = SecretStr("")
    stripe_rate_limit: float = Field(default=25.0, gt=0)
    # Tries of one Stripe call (same idempotency key) before payment_provider_unavailable.
    stripe_max_attempts: int = Field(default=4, ge=1, le=10)
    # First backoff between tries; doubles with jitter up to 4 s.
    stripe_retry_initial_seconds: float = Field(default=0.25, ge=0)
    stripe_timeout_seconds: float = Field(default=20.0, gt=0)
    webhook_max_body_bytes: int = Field(default=256 * 1024, gt=0)
    webhook_tolerance_seconds: int = Field(default=300, gt=0)
    # The sweep resends a request still queued or processing after this long (its message was
    # lost, or its worker died); longer than any healthy publish takes.
    sweep_stale_after_seconds: float = Field(default=60.0, gt=0)
    # Where Stripe Checkout sends the cardholder back (setup and payment links).
    checkout_success_url: str = "https://app.example.com/billing/done"
    checkout_cancel_url: str = "https://app.example.com/billing/cancelled"
    event_stream: str = "campaign-billing.events"
    # A worker serves its own Prometheus metrics (Stripe calls, charge latency, webhook lag) on
    # this port; 0 turns the server off (docs/operations.md "Metrics").
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # The API's /metrics counts rows (publish outcomes, outbox backlog, parked webhook events)
    # at most this often, whatever the number of scrapers; 0 counts on every scrape.
    metrics_db_refresh_seconds: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"
    log_json: bool | None = None

    @field_validator("database_url")
    @classmethod
    def _psycopg3(cls, value: str) -> str:
        # API.md: PostgreSQL goes through psycopg 3; plain postgresql:// would pick psycopg2.
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @cached_property
    def webhook_secrets(self) -> list[str]:
        return _split(self.stripe_webhook_secrets.get_secret_value())

    @cached_property
    def celery_broker_url(self) -> str:
        return self.broker_url or self.redis_url


def load_settings() -> Settings:
    return Settings()
