"""Open-loop HTTP load from Python: request i is due at `start + i / rate`, whatever the answers
before it did, so a slow service meets the same offered load (no coordinated omission) and each
latency counts from when the request was due."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class Sample:
    due: float  # epoch seconds
    done: float
    status: int  # 0: no answer (network error)
    body: bytes


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    content: bytes = b""


def open_loop(
    base_url: str,
    requests: Sequence[Request] | Callable[[int], Request],
    rate: float,
    count: int,
    *,
    headers: dict[str, str] | None = None,
    senders: int = 32,
    hold: Callable[[], bool] | None = None,
    seconds: float | None = None,
) -> list[Sample]:
    """Sends `count` requests, request i due at start + i / rate, through `senders` keep-alive
    connections. A request whose senders are all busy goes late, and its latency still counts
    from when it was due. While `hold()` is true (a backlog deep enough) no request leaves; none
    leaves either once `seconds` have passed (the requests left are not sent)."""
    return asyncio.run(_open_loop(base_url, requests, rate, count, headers, senders, hold, seconds))


async def _open_loop(
    base_url: str,
    requests: Sequence[Request] | Callable[[int], Request],
    rate: float,
    count: int,
    headers: dict[str, str] | None,
    senders: int,
    hold: Callable[[], bool] | None,
    seconds: float | None,
) -> list[Sample]:
    # One connection per sender: httpx's own pool, given thousands of waiting requests, spends
    # its time (quadratically) choosing among them instead of sending.
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    samples: list[Sample | None] = [None] * count
    start = time.time() + 0.2
    until = start + seconds if seconds is not None else float("inf")
    next_index = 0
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=60, limits=limits
    ) as client:

        async def sender() -> None:
            nonlocal next_index
            while next_index < count:
                i = next_index
                next_index += 1
                due = start + i / rate
                pause = due - time.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                while hold is not None and hold() and time.time() < until:
                    await asyncio.sleep(0.05)
                if time.time() >= until:
                    return
                request = requests(i) if callable(requests) else requests[i]
                try:
                    response = await client.request(
                        request.method,
                        request.path,
                        headers=request.headers,
                        content=request.content,
                    )
                    samples[i] = Sample(due, time.time(), response.status_code, response.content)
                except httpx.HTTPError:
                    samples[i] = Sample(due, time.time(), 0, b"")

        await asyncio.gather(*(sender() for _ in range(senders)))
    return [s for s in samples if s is not None]


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0-100) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]
