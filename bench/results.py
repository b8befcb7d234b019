"""A run's figures: the table printed, `bench/results/latest.json`, and the history of full runs
(`bench/results/full-*.json`) that the plots are drawn from."""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "value": _round(self.value),
            "unit": self.unit,
            "baseline": _round(self.baseline) if self.baseline is not None else None,
            "baseline_name": self.baseline_name,
            "ratio": round(self.ratio, 3) if self.ratio is not None else None,
            "target": self.target,
            "met": self.met,
            "details": self.details,
        }


def ratio(value: float, baseline: float | None) -> float | None:
    return value / baseline if baseline else None


def _round(value: float) -> float:
    return round(value, 2) if abs(value) < 100 else round(value, 1)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in (
        "campaign-billing",
        "celery",
        "kombu",
        "redis",
        "SQLAlchemy",
        "psycopg",
        "fastapi",
        "starlette",
        "uvicorn",
        "stripe",
        "httpx",
    ):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "absent"
    for name, argv in {
        "postgresql": ["psql", "--version"],
        "redis-server": ["redis-server", "--version"],
        "wrk": ["wrk", "-v"],
        "git": ["git", "rev-parse", "--short", "HEAD"],
    }.items():
        found[name] = _first_line(argv)
    return found


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def machine(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    import os

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }


def write(
    figures: list[Figure],
    *,
    mode: str,
    started: datetime,
    machine_info: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    document = {
        "figures": {f.name: f.as_json() for f in figures},
        "machine": machine_info,
        "versions": versions(),
        "mode": mode,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        **extra,
    }
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(document, indent=2) + "\n"
    (RESULTS / "latest.json").write_text(text)
    if mode == "full":
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        (RESULTS / f"full-{stamp}.json").write_text(text)
    return document


def history() -> list[dict[str, Any]]:
    """Every full run kept in bench/results/, oldest first."""
    return [json.loads(p.read_text()) for p in sorted(RESULTS.glob("full-*.json"))]


def table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "baseline", "ratio", "target", "met")]
    for f in figures:
        rows.append(
            (
                f.name,
                f"{_round(f.value)} {f.unit}",
                f"{_round(f.baseline)} ({f.baseline_name})" if f.baseline is not None else "-",
                f"{f.ratio:.2f}" if f.ratio is not None else "-",
                f.target or "reported",
                {True: "yes", False: "NO", None: "-"}[f.met],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
