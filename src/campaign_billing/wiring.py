"""Builds the real engine, clients and Celery app from the settings: the one place that wires
adapters together. Nothing here runs at import time; entry points call `build_container`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import stripe
from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from campaign_billing.adapters.database import make_engine, make_session_factory
from campaign_billing.adapters.rate_limit import RedisTokenBucket
from campaign_billing.adapters.stripe_gateway import StripeGateway
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.services.publishing import PublishSettings
from campaign_billing.settings import Settings


def make_stripe_client(settings: Settings) -> stripe.StripeClient:
    """A client of our own, never the global `stripe.api_key`. Its own retries are off: the
    gateway retries, under our idempotency keys and the shared rate limit."""
    return stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses={"api": settings.stripe_api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_seconds),
    )


@dataclass
class Container:
    settings: Settings
    # Overridable pieces (the demo swaps Redis for fakeredis; tests swap the task sender).
    redis_factory: Callable[[], Redis] | None = None
    task_sender: Callable[[str, dict[str, Any], str], None] | None = None
    engine_kwargs: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def engine(self) -> Engine:
        kwargs = {
            "pool_size": self.settings.database_pool_size,
            "max_overflow": self.settings.database_max_overflow,
            **self.engine_kwargs,
        }
        return make_engine(self.settings.database_url, **kwargs)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    @cached_property
    def redis(self) -> Redis:
        if self.redis_factory is not None:
            return self.redis_factory()
        # Timeouts, so a hung Redis fails a probe or a relay round instead of hanging it.
        return Redis.from_url(
            self.settings.redis_url,
            health_check_interval=30,
            socket_timeout=5,
            socket_connect_timeout=5,
        )

    @cached_property
    def stripe_client(self) -> stripe.StripeClient:
        return make_stripe_client(self.settings)

    @cached_property
    def gateway(self) -> StripeGateway:
        from campaign_billing.metrics import observe_stripe_call

        return StripeGateway(
            self.stripe_client,
            RedisTokenBucket(self.redis, self.settings.stripe_rate_limit),
            max_attempts=self.settings.stripe_max_attempts,
            initial_backoff=self.settings.stripe_retry_initial_seconds,
            on_call=observe_stripe_call,
        )

    @cached_property
    def publish_settings(self) -> PublishSettings:
        return PublishSettings(
            success_url=self.settings.checkout_success_url,
            cancel_url=self.settings.checkout_cancel_url,
        )

    def send_task(self, name: str, kwargs: dict[str, Any], queue: str) -> None:
        if self.task_sender is not None:
            self.task_sender(name, kwargs, queue)
            return
        from campaign_billing.workers.celery_app import get_celery

        get_celery().send_task(name, kwargs=kwargs, queue=queue)

    def send_publish(self, publish_request_id: str) -> None:
        self.send_task(
            "campaign_billing.publish", {"publish_request_id": publish_request_id}, "publish"
        )

    def send_stripe_event(self, stripe_event_id: str) -> None:
        self.send_task(
            "campaign_billing.stripe_event", {"stripe_event_id": stripe_event_id}, "webhooks"
        )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


def build_container(settings: Settings | None = None, **overrides: Any) -> Container:
    from campaign_billing.settings import load_settings

    return Container(settings or load_settings(), **overrides)
