"""How big and how rough one chaos run is: `FULL` for `make chaos`, `SHORT` for CI."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    publishes: int
    """New campaigns published; repeats of earlier ones come on top (`repeat_share`)."""
    publish_rate: float
    """Publish calls per second the traffic aims at (the service may answer slower)."""
    workers: int = 3
    worker_concurrency: int = 8
    kill_every_seconds: float = 3.0
    """A worker is SIGKILLed this often, every other time inside the window between Stripe's
    answer and the commit (faults.py)."""
    redis_restarts: int = 1
    redis_down_seconds: float = 2.0
    pg_connection_kills: int = 1
    stripe_latency_ms: float = 100.0
    stripe_jitter_ms: float = 200.0
    stripe_500_share: float = 0.05
    stripe_429_share: float = 0.05
    stripe_drop_after_commit_share: float = 0.02
    webhook_duplicates: int = 2
    """Each webhook is delivered 1 + this many times."""
    webhook_flush_every_seconds: float = 1.5
    """Deliveries are held and released shuffled this often."""
    repeat_share: float = 0.1
    card_changes_every_seconds: float = 0.4
    offices_per_workspace: int = 2
    workspaces: int = 2
    churn_agents_per_office: int = 2
    settle_timeout_seconds: float = 300.0
    sweep_stale_after_seconds: float = 3.0
    database: str = "campaign_billing_chaos"
    drop_database_after: bool = False
    seed: int = 20261204

    def with_overrides(self, **changes: object) -> ChaosConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


FULL = ChaosConfig(publishes=1000, publish_rate=12.0)

SHORT = ChaosConfig(
    publishes=120,
    publish_rate=10.0,
    workers=2,
    kill_every_seconds=3.0,
    # The run's own Redis (services.py) is restarted in CI too: it is nobody else's.
    redis_restarts=1,
    redis_down_seconds=1.0,
    offices_per_workspace=1,
    churn_agents_per_office=2,
    card_changes_every_seconds=0.5,
    settle_timeout_seconds=70.0,
    drop_database_after=True,
)
