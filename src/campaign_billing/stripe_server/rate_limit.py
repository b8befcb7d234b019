"""An optional account-wide request rate limit, like Stripe's global rate limiter.

https://docs.stripe.com/rate-limits: too many requests per second get `429 Too Many Requests`
with error code `rate_limit` and a `Stripe-Rate-Limited-Reason` header (`global-rate` here).
The limit is a sliding one-second window over admitted requests.
"""

import time
from collections import deque


class RateLimiter:
    def __init__(self, requests_per_second: float | None) -> None:
        self._admitted: deque[float] = deque()
        self.requests_per_second = requests_per_second

    def admit(self) -> bool:
        if self.requests_per_second is None:
            return True
        now = time.monotonic()
        while self._admitted and self._admitted[0] <= now - 1.0:
            self._admitted.popleft()
        if len(self._admitted) >= self.requests_per_second:
            return False
        self._admitted.append(now)
        return True

    def reset(self, requests_per_second: float | None) -> None:
        self.requests_per_second = requests_per_second
        self._admitted.clear()
