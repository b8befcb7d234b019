"""The server's notion of "now", which tests may move forward."""

import time


class Clock:
    """Wall-clock time plus an offset that control calls can advance.

    Advancing the clock is how a test expires idempotency keys (24 h by default) or Checkout
    Sessions without waiting for them.
    """

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def timestamp(self) -> int:
        """Unix seconds, the unit of every Stripe `created` field."""
        return int(self.now())

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset

    def reset(self) -> None:
        self._offset = 0.0
