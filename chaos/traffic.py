"""The publishing load: each planned campaign synced (`PUT`) and published (`POST .../publish`
with an Idempotency-Key) at a steady rate from a few threads, plus repeats of earlier campaigns,
with the same key (must answer the same request) or a new one (must answer the earlier result,
or make a new request only after a failure)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chaos.client import ApiClient
from chaos.population import CampaignPlan


@dataclass(frozen=True, slots=True)
class PublishAnswer:
    campaign_id: str
    key: str
    status_code: int
    publish_request_id: str | None
    error_code: str | None


@dataclass
class Traffic:
    api: ApiClient
    plans: list[CampaignPlan]
    rate: float
    repeat_share: float
    seed: int
    threads: int = 8
    answers: list[PublishAnswer] = field(default_factory=list)
    first_request: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def progress(self) -> float:
        """The share of planned campaigns published so far."""
        return self.sent / max(1, len(self.plans))

    def run(self) -> None:
        rng = random.Random(self.seed)
        calls: list[tuple[CampaignPlan, str, bool]] = []
        for index, plan in enumerate(self.plans):
            calls.append((plan, f"chaos:{plan.campaign_id}:1", True))
            if index and rng.random() < self.repeat_share:
                earlier = self.plans[rng.randrange(0, index)]
                same_key = rng.random() < 0.5
                key = f"chaos:{earlier.campaign_id}:{1 if same_key else f'again{index}'}"
                calls.append((earlier, key, False))
        self.started_at = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            futures = []
            for number, call in enumerate(calls):
                # A steady schedule, not a burst: call n goes at start + n / rate.
                delay = self.started_at + number / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(self._publish, *call))
        self.finished_at = time.monotonic()
        # A call that could not be made at all (not even after retries) is a finding too.
        self.errors = [repr(f.exception())[:300] for f in futures if f.exception() is not None]

    def _publish(self, plan: CampaignPlan, key: str, first: bool) -> None:
        if first:
            self.api.ok("PUT", f"/v1/campaigns/{plan.campaign_id}", plan.body)
        response = self.api.call(
            "POST", f"/v1/campaigns/{plan.campaign_id}/publish", headers={"Idempotency-Key": key}
        )
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        answer = PublishAnswer(
            campaign_id=plan.campaign_id,
            key=key,
            status_code=response.status_code,
            publish_request_id=body.get("publish_request_id"),
            error_code=(body.get("error") or {}).get("code"),
        )
        with self._lock:
            self.answers.append(answer)
            if first:
                self.sent += 1
                if answer.publish_request_id:
                    self.first_request[key] = answer.publish_request_id

    def accepted_request_ids(self) -> set[str]:
        return {a.publish_request_id for a in self.answers if a.publish_request_id}

    def same_key_other_request(self) -> int:
        """Repeats with a first call's key that were answered with another request."""
        return sum(
            1
            for a in self.answers
            if a.publish_request_id
            and a.key in self.first_request
            and self.first_request[a.key] != a.publish_request_id
        )

    def answer_statuses(self) -> Counter[str]:
        return Counter(
            f"{a.status_code}{' ' + a.error_code if a.error_code else ''}" for a in self.answers
        )
