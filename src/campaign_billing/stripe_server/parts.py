"""The pieces one test server is made of, built once and shared by its entry points."""

import random
from dataclasses import dataclass

from campaign_billing.stripe_server.clock import Clock
from campaign_billing.stripe_server.connections import ConnectionRegistry
from campaign_billing.stripe_server.faults import FaultInjector
from campaign_billing.stripe_server.idempotency import IdempotencyStore
from campaign_billing.stripe_server.rate_limit import RateLimiter
from campaign_billing.stripe_server.request_log import RequestLog
from campaign_billing.stripe_server.resources.webhook_endpoints import register_endpoint
from campaign_billing.stripe_server.settings import StripeServerSettings
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.webhooks import DeliveryConfig, WebhookDispatcher


@dataclass
class ServerParts:
    settings: StripeServerSettings
    clock: Clock
    state: AccountState
    idempotency: IdempotencyStore
    faults: FaultInjector
    rate_limiter: RateLimiter
    request_log: RequestLog
    webhooks: WebhookDispatcher
    connections: ConnectionRegistry

    @classmethod
    def build(cls, settings: StripeServerSettings) -> "ServerParts":
        rng = random.Random(settings.seed)
        clock = Clock()
        state = AccountState(clock, settings.api_version, settings.max_events)
        parts = cls(
            settings=settings,
            clock=clock,
            state=state,
            idempotency=IdempotencyStore(
                clock, settings.idempotency_ttl_s, settings.idempotency_max_keys
            ),
            faults=FaultInjector(settings.latency_ms, settings.jitter_ms, rng),
            rate_limiter=RateLimiter(settings.rate_limit_rps),
            request_log=RequestLog(settings.request_log_size),
            webhooks=WebhookDispatcher(
                state, default_delivery_config(settings), settings.webhook_concurrency, rng
            ),
            connections=ConnectionRegistry(),
        )
        parts.register_configured_webhooks()
        return parts

    def register_configured_webhooks(self) -> None:
        for target in self.settings.webhook_targets:
            register_endpoint(self.state, target.url, target.enabled_events, secret=target.secret)

    def reset(self) -> None:
        """Forgets everything: objects, events, keys, faults, logs; back to the settings."""
        self.state.clear()
        self.idempotency.clear()
        self.idempotency.ttl_s = self.settings.idempotency_ttl_s
        self.faults.clear()
        self.rate_limiter.reset(self.settings.rate_limit_rps)
        self.request_log.clear()
        self.webhooks.reset(default_delivery_config(self.settings))
        self.clock.reset()
        self.register_configured_webhooks()


def default_delivery_config(settings: StripeServerSettings) -> DeliveryConfig:
    return DeliveryConfig(
        retry_delays_s=list(settings.webhook_retry_delays_s), timeout_s=settings.webhook_timeout_s
    )
