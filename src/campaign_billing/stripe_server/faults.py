"""Injected latency and failures, for a whole run or for the next N matching calls.

The faults are the ones a client of Stripe must survive: slow answers, 500s (which Stripe asks
clients to retry with the same idempotency key), 429s, connections reset before an answer, and
the worst case, a request that is carried out and whose answer is lost ("commit then drop": the
PaymentIntent exists, the client sees a network error).

500, 429 and resets happen before the request is carried out, so nothing is stored under its
idempotency key and a retry executes it afresh.
"""

import random
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, Field, model_validator

from campaign_billing.stripe_server.types import JsonObject


class Fault(Enum):
    NONE = "none"
    SERVER_ERROR = "server_error"
    RATE_LIMITED = "rate_limited"
    RESET = "reset"
    COMMIT_THEN_DROP = "commit_then_drop"


class FaultPlan(BaseModel):
    """What to do to requests; unset latency falls back to the run-wide plan's."""

    latency_ms: float | None = Field(default=None, ge=0)
    jitter_ms: float | None = Field(default=None, ge=0)
    error_500_share: float = Field(default=0.0, ge=0, le=1)
    error_429_share: float = Field(default=0.0, ge=0, le=1)
    retry_after_s: float = Field(default=1.0, ge=0)
    reset_share: float = Field(default=0.0, ge=0, le=1)
    commit_then_drop_share: float = Field(default=0.0, ge=0, le=1)
    calls: int | None = Field(default=None, ge=1)
    """None: for the whole run (replaces the run-wide plan); N: for the next N matching calls."""
    method: str | None = None
    path_prefix: str | None = None

    @model_validator(mode="after")
    def _shares_fit(self) -> "FaultPlan":
        if (
            self.error_500_share
            + self.error_429_share
            + self.reset_share
            + self.commit_then_drop_share
            > 1
        ):
            raise ValueError("the fault shares add up to more than 1")
        return self

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


@dataclass(frozen=True)
class Decision:
    delay_s: float
    fault: Fault
    retry_after_s: float


@dataclass
class _Queued:
    plan: FaultPlan
    remaining: int


class FaultInjector:
    def __init__(self, latency_ms: float, jitter_ms: float, rng: random.Random) -> None:
        self._defaults = FaultPlan(latency_ms=latency_ms, jitter_ms=jitter_ms)
        self._rng = rng
        self.run_plan = self._defaults
        self._queue: list[_Queued] = []

    def apply(self, plan: FaultPlan) -> None:
        if plan.calls is None:
            changes = plan.model_dump(exclude_unset=True)
            self.run_plan = self.run_plan.model_copy(update=changes)
        else:
            self._queue.append(_Queued(plan, plan.calls))

    def clear(self) -> None:
        self.run_plan = self._defaults
        self._queue.clear()

    def decide(self, method: str, path: str) -> Decision:
        plan = self._take_queued(method, path)
        if plan is None:
            plan = self.run_plan if self.run_plan.matches(method, path) else self._defaults
        latency = (
            plan.latency_ms if plan.latency_ms is not None else self.run_plan.latency_ms or 0.0
        )
        jitter = plan.jitter_ms if plan.jitter_ms is not None else self.run_plan.jitter_ms or 0.0
        delay_s = (latency + (self._rng.uniform(0, jitter) if jitter else 0.0)) / 1000
        return Decision(delay_s, self._roll(plan), plan.retry_after_s)

    def _take_queued(self, method: str, path: str) -> FaultPlan | None:
        for queued in self._queue:
            if queued.plan.matches(method, path):
                queued.remaining -= 1
                if queued.remaining == 0:
                    self._queue.remove(queued)
                return queued.plan
        return None

    def _roll(self, plan: FaultPlan) -> Fault:
        shares = (
            (plan.error_500_share, Fault.SERVER_ERROR),
            (plan.error_429_share, Fault.RATE_LIMITED),
            (plan.reset_share, Fault.RESET),
            (plan.commit_then_drop_share, Fault.COMMIT_THEN_DROP),
        )
        if not any(share for share, _ in shares):
            return Fault.NONE
        roll = self._rng.random()
        for share, fault in shares:
            if roll < share:
                return fault
            roll -= share
        return Fault.NONE

    def describe(self) -> JsonObject:
        return {
            "run": self.run_plan.model_dump(),
            "queued": [
                {**queued.plan.model_dump(), "remaining": queued.remaining}
                for queued in self._queue
            ],
        }
