"""Idempotent requests, as Stripe keeps them (https://docs.stripe.com/api/idempotent_requests).

The first response to a POST with a given `Idempotency-Key` is stored (status and body, errors
included once the endpoint began executing) and replayed for a retry with the same key and the
same parameters, with `Idempotent-Replayed: true`. The same key with other parameters, or on
another endpoint, is a 400 `idempotency_error`. Keys are pruned once older than the TTL (24 h),
after which the key starts a new request.
"""

import json
from dataclasses import dataclass

from campaign_billing.stripe_server.clock import Clock
from campaign_billing.stripe_server.errors import idempotency_error
from campaign_billing.stripe_server.types import JsonObject


@dataclass(frozen=True)
class StoredResponse:
    method: str
    path: str
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    stored_at: float


def fingerprint(params: JsonObject) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class IdempotencyStore:
    def __init__(self, clock: Clock, ttl_s: float, max_keys: int) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self._max_keys = max_keys
        # Keyed by (API key, idempotency key): keys are scoped to an account. Insertion order is
        # storage order, so pruning pops from the front.
        self._stored: dict[tuple[str, str], StoredResponse] = {}

    def find(
        self, scope: str, key: str, method: str, path: str, params_fingerprint: str
    ) -> StoredResponse | None:
        """The stored response to replay, None for a new request; raises on misuse of a key."""
        self._prune()
        stored = self._stored.get((scope, key))
        if stored is None:
            return None
        if (stored.method, stored.path) != (method, path):
            raise idempotency_error(
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{stored.method} {stored.path}' vs '{method} {path}'). Try "
                f"using a key other than '{key}' if you meant to execute a different request."
            )
        if stored.fingerprint != params_fingerprint:
            raise idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        return stored

    def save(self, scope: str, key: str, response: StoredResponse) -> None:
        self._stored[(scope, key)] = response
        while len(self._stored) > self._max_keys:
            del self._stored[next(iter(self._stored))]

    def _prune(self) -> None:
        horizon = self._clock.now() - self.ttl_s
        while self._stored:
            oldest_key = next(iter(self._stored))
            if self._stored[oldest_key].stored_at > horizon:
                break
            del self._stored[oldest_key]

    def __len__(self) -> int:
        return len(self._stored)

    def clear(self) -> None:
        self._stored.clear()
