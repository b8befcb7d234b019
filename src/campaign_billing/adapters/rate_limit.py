"""An account-wide limit on Stripe requests per second, shared by every worker on every host.

Stripe allows about 100 requests/s per live-mode account (25 in test mode) and answers 429 past
it (https://docs.stripe.com/rate-limits). Many workers that each back off on 429 still cause
storms, so every Stripe call first takes a token from one bucket in Redis.

The bucket is a reservation (GCRA-like) in one Lua script, so it is atomic and costs one round
trip: the caller always gets a time to wait (0 when a token is there now) and its token is
reserved; it sleeps that long and goes. Redis's own clock (`TIME`) is the only clock, so hosts
with skewed clocks still share one rate.
"""

from __future__ import annotations

import time
from typing import Protocol

from redis import Redis

_RESERVE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000000)
local wait = 0
if tokens < 1 then
  wait = math.ceil((1 - tokens) * 1000000 / rate)
  if wait > max_wait then
    return -wait
  end
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
"""


class RateLimited(Exception):
    """Raised when a token would not be free within the caller's patience: the bucket is
    overbooked, and the call should be treated like Stripe's own 429 (retried later)."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"Stripe rate limit: next token in {wait_seconds:.2f}s")
        self.wait_seconds = wait_seconds


class RateLimiter(Protocol):
    def acquire(self) -> float:
        """Blocks until the caller may make one request; returns the seconds it waited."""
        ...


class RedisTokenBucket:
    def __init__(
        self,
        redis: Redis,
        rate_per_second: float,
        *,
        key: str = "campaign-billing:stripe-rate",
        burst: float | None = None,
        max_wait_seconds: float = 10.0,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self._redis = redis
        self._rate = rate_per_second
        self._key = key
        # A small burst keeps any one-second window close to the rate (within a few percent).
        self._burst = burst if burst is not None else max(1.0, rate_per_second / 20)
        self._max_wait_us = int(max_wait_seconds * 1_000_000)
        self._script = redis.register_script(_RESERVE)

    def acquire(self) -> float:
        wait_us = int(
            self._script(keys=[self._key], args=[self._rate, self._burst, self._max_wait_us])
        )
        if wait_us < 0:
            raise RateLimited(-wait_us / 1_000_000)
        if wait_us:
            time.sleep(wait_us / 1_000_000)
        return wait_us / 1_000_000


class Unlimited:
    def acquire(self) -> float:
        return 0.0
