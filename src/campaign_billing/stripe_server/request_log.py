"""A log of every API request the server saw, so a test can measure the rate it sent.

Arrival times are real wall-clock seconds (not the test clock), taken before any injected
latency, which is when Stripe's rate limiter would count the request.
"""

import math
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass

from campaign_billing.stripe_server.types import JsonObject


@dataclass
class RequestRecord:
    request_id: str
    method: str
    path: str
    arrived_at: float
    idempotency_key: str | None
    finished_at: float | None = None
    status: int | None = None
    outcome: str = "in_flight"
    """ok | replayed | error | rate_limited | injected_500 | injected_429 | reset |
    dropped_after_commit | unauthorized"""

    def finish(self, outcome: str, status: int | None) -> None:
        self.finished_at = time.time()
        self.outcome = outcome
        self.status = status


@dataclass(frozen=True)
class RequestFilter:
    since: float | None = None
    until: float | None = None
    method: str | None = None
    path_prefix: str | None = None

    def accepts(self, record: RequestRecord) -> bool:
        return (
            (self.since is None or record.arrived_at >= self.since)
            and (self.until is None or record.arrived_at < self.until)
            and (self.method is None or record.method == self.method.upper())
            and (self.path_prefix is None or record.path.startswith(self.path_prefix))
        )


class RequestLog:
    def __init__(self, max_records: int) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=max_records)

    def start(
        self, request_id: str, method: str, path: str, idempotency_key: str | None
    ) -> RequestRecord:
        record = RequestRecord(request_id, method, path, time.time(), idempotency_key)
        self._records.append(record)
        return record

    def records(self, selection: RequestFilter) -> list[JsonObject]:
        return [asdict(record) for record in self._records if selection.accepts(record)]

    def stats(self, selection: RequestFilter, bucket_s: float) -> JsonObject:
        """Counts per time bucket of arrival, and the peak and mean rate they imply."""
        chosen = [record for record in self._records if selection.accepts(record)]
        if not chosen:
            return {
                "total": 0,
                "bucket_s": bucket_s,
                "buckets": [],
                "peak_rps": 0.0,
                "mean_rps": 0.0,
                "by_outcome": {},
                "by_status": {},
            }
        start = selection.since if selection.since is not None else chosen[0].arrived_at
        end = max(record.arrived_at for record in chosen)
        counts: Counter[int] = Counter(
            math.floor((record.arrived_at - start) / bucket_s) for record in chosen
        )
        last = max(counts)
        buckets = [
            {"start": start + index * bucket_s, "count": counts.get(index, 0)}
            for index in range(last + 1)
        ]
        span = max(end - start, bucket_s)
        return {
            "total": len(chosen),
            "bucket_s": bucket_s,
            "buckets": buckets,
            "peak_rps": max(counts.values()) / bucket_s,
            "mean_rps": len(chosen) / span,
            "by_outcome": dict(Counter(record.outcome for record in chosen)),
            "by_status": {
                str(status): count
                for status, count in Counter(record.status for record in chosen).items()
            },
        }

    def clear(self) -> None:
        self._records.clear()
