"""`failure_latency_p99`: from a publish request being accepted to its `campaign.publish_failed`
on the event stream, for resolution failures (an admin's campaign billed to an agent who never
allowed it: delegation_not_allowed, found before any Stripe call), at 50 requests/s.

Requests are sent open loop (each due at its time, whatever the ones before it did). The latency
runs from the request's `created_at` (the API's clock as it accepted it) to the stream entry's
own timestamp (the XADD, on Redis's clock); both clocks are this machine's. The latency from the
moment the request was due, which adds the HTTP answer, is in the details. The same failing
campaigns are published again and again: a failed request is terminal, so each publish is a new
request.
"""

from __future__ import annotations

import json
from datetime import datetime

from bench.figures import Context, phase
from bench.load import Request, open_loop, percentile
from bench.platform import auth_headers
from bench.processes import wait_until
from bench.results import Figure
from bench.stack import REDIS_URL, WorkerLayout
from bench.stream import StreamWatcher

RATE = 50.0
CAMPAIGNS = 250


def run(ctx: Context, layout: WorkerLayout) -> None:
    stack = ctx.stack
    campaigns = ctx.campaign_ids("failing", CAMPAIGNS)
    ctx.platform.campaigns(campaigns, failing=True)
    stack.start_workers(layout)
    count = ctx.mode.failure_requests
    with (
        phase(f"failure_latency_p99 ({count} publishes at {RATE:.0f}/s, {layout.label})"),
        StreamWatcher(REDIS_URL) as stream,
    ):
        samples = open_loop(
            stack.api_url,
            lambda i: Request("POST", f"/v1/campaigns/{campaigns[i % CAMPAIGNS]}/publish", {}),
            RATE,
            count,
            headers=auth_headers(),
        )
        accepted = {json.loads(s.body)["publish_request_id"]: s for s in samples if s.status == 202}
        wait_until(
            lambda: stream.count("campaign.publish_failed") >= len(accepted),
            60,
            "every failure on the stream",
        )
        failed = {e.publish_request_id: e for e in stream.events("campaign.publish_failed")}
    # From acceptance (the request's created_at, the API's clock when it recorded it; the
    # same machine's clock as the stream's) to the failure on the stream.
    latencies = [
        (failed[rid].at - _created_at(sample.body)) * 1000
        for rid, sample in accepted.items()
        if rid in failed
    ]
    from_due = [
        (failed[rid].at - sample.due) * 1000 for rid, sample in accepted.items() if rid in failed
    ]
    http_ms = [(s.done - s.due) * 1000 for s in samples]
    worker_ms, relay_ms = _breakdown(ctx, list(accepted))
    p99 = percentile(latencies, 99)
    ctx.series["failure_latency_ms"] = sorted(round(x, 1) for x in latencies)
    ctx.add(
        Figure(
            "failure_latency_p99",
            p99,
            "ms",
            target="p99 < 100 ms",
            met=p99 < 100,
            details={
                "requests": count,
                "accepted": len(accepted),
                "not_accepted": count - len(accepted),
                "measured": len(latencies),
                "p50_ms": round(percentile(latencies, 50), 1),
                "p90_ms": round(percentile(latencies, 90), 1),
                "max_ms": round(max(latencies, default=0), 1),
                "from_request_due_p99_ms": round(percentile(from_due, 99), 1),
                # Where the time goes: accepted -> failure recorded by the worker (its outbox
                # row's occurred_at), then recorded -> relayed (relayed_at).
                "worker_p50_ms": round(percentile(worker_ms, 50), 1),
                "worker_p99_ms": round(percentile(worker_ms, 99), 1),
                "relay_p50_ms": round(percentile(relay_ms, 50), 1),
                "relay_p99_ms": round(percentile(relay_ms, 99), 1),
                "http_answer_p50_ms": round(percentile(http_ms, 50), 1),
                "http_answer_p99_ms": round(percentile(http_ms, 99), 1),
                "workers": layout.label,
            },
        )
    )


def _created_at(body: bytes) -> float:
    created = json.loads(body)["publish_request"]["created_at"]
    return datetime.fromisoformat(created).timestamp()


def _breakdown(ctx: Context, request_ids: list[str]) -> tuple[list[float], list[float]]:
    rows = ctx.stack.query(
        "SELECT extract(epoch FROM o.occurred_at - r.created_at) * 1000, "
        "extract(epoch FROM o.relayed_at - o.occurred_at) * 1000 "
        "FROM publish_requests r JOIN outbox o "
        "ON o.type = 'campaign.publish_failed' AND o.data->>'publish_request_id' = r.id "
        "WHERE r.id = ANY(:ids)",
        ids=request_ids,
    )
    return [float(str(r[0])) for r in rows], [float(str(r[1])) for r in rows]
