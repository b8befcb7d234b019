"""Runs `wrk` (C, one event loop per thread) with `bench/requests.lua`: it costs the shared
machine far less CPU per request than a Python client would, which matters on two cores."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("requests.lua")
MARK = "BENCH_JSON "
THREAD_DONE = "BENCH_THREAD_DONE"


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    status_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "requests": self.requests,
            "duration_s": round(self.duration_s, 3),
            "rate": round(self.rate, 1),
            "errors": self.errors,
            "status_errors": self.status_errors,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "p999_ms": self.p999_ms,
            "mean_ms": self.mean_ms,
            "max_ms": self.max_ms,
        }


def request_line(method: str, path: str, signature: str = "", body: str = "") -> str:
    if "\t" in body or "\n" in body:
        raise ValueError("bodies must be one line without tabs (compact JSON)")
    return f"{method}\t{path}\t{signature}\t{body}\n"


def write_requests(path: Path, lines: Iterable[str]) -> int:
    count = 0
    with path.open("w") as out:
        for line in lines:
            out.write(line)
            count += 1
    return count


def parse_output(stdout: str) -> WrkResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout[-2000:]}")
    data = json.loads(line[len(MARK) :])
    errors = sum(data[k] for k in ("errors_connect", "errors_read", "errors_write"))
    # The span from the first request sent to the last answer: wrk's own duration is the whole
    # -d even when every thread ran out of requests and stopped early.
    span_us = data["span_us"] or data["duration_us"]
    return WrkResult(
        requests=int(data["answered"]),
        duration_s=span_us / 1e6,
        errors=errors + int(data["errors_timeout"]),
        status_errors=int(data["failed"]),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        p999_ms=data["p999_us"] / 1000,
        mean_ms=round(data["mean_us"] / 1000, 3),
        max_ms=data["max_us"] / 1000,
    )


def run(
    url: str,
    requests_file: Path,
    *,
    threads: int,
    connections: int,
    duration_s: float,
    mean_delay_ms: float = 0.0,
    headers: dict[str, str] | None = None,
    cycle: bool = False,
) -> WrkResult:
    """Sends each request of `requests_file` once (or, with `cycle`, over and over until
    `duration_s` is over)."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
    ]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv += [
        url,
        "--",
        str(requests_file),
        str(threads),
        str(mean_delay_ms),
        "1" if cycle else "0",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stderr is not None
    timer = threading.Timer(duration_s + 120, proc.kill)
    timer.start()
    lines, done = [], 0
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(THREAD_DONE):
                done += 1
                if done == threads:
                    # Every thread sent and saw answered all it had: wrk would sleep out -d.
                    proc.send_signal(signal.SIGINT)
        stderr = proc.stderr.read()
        code = proc.wait()
    finally:
        timer.cancel()
    if code != 0:
        raise RuntimeError(f"wrk failed ({code}): {stderr[-2000:]}")
    return parse_output("".join(lines))
