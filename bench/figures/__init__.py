"""One module per figure of the benchmark suite, each measured with its baseline in the same run.
`Context` is what they share: the running stack, the platform's data, the mode's sizes."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procstat
from bench.config import Mode
from bench.platform import Platform
from bench.results import Figure
from bench.stack import Stack


@dataclass
class Context:
    mode: Mode
    stack: Stack
    platform: Platform
    work_dir: Path
    figures: list[Figure] = field(default_factory=list)
    # Per-figure measurements behind the figures (time series, per-layout rows): saved in the
    # results JSON under "series" for the plots.
    series: dict[str, Any] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    _serial: Iterator[int] = field(default_factory=itertools.count)

    def campaign_ids(self, prefix: str, n: int) -> list[str]:
        batch = next(self._serial)
        return [f"c_{prefix}_{batch}_{i}" for i in range(n)]

    def add(self, figure: Figure) -> Figure:
        # The machine is shared: say how busy it was when the figure was taken.
        figure.details.setdefault("loadavg_1m", round(procstat.loadavg()[0], 2))
        self.figures.append(figure)
        print(f"  {figure.name}: {figure.value:.1f} {figure.unit}", flush=True)
        return figure


@dataclass
class CpuMeter:
    """CPU seconds the kernel charged to groups of processes between `start` and `stop`, and
    how busy the whole machine was meanwhile. A group is re-listed at `stop` (a pool may have
    opened connections, i.e. PostgreSQL backends, during the run); a process born meanwhile
    counts whole, one gone meanwhile loses its last interval."""

    groups: dict[str, Callable[[], list[int]]]
    before: dict[int, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    machine_busy: float = 0.0  # of all cores, 0-1
    _machine: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        self.before = {
            pid: procstat.cpu_seconds([pid]) for pids in self.groups.values() for pid in pids()
        }
        self._machine = procstat.machine_ticks()
        self.wall = time.monotonic()

    def stop(self) -> None:
        self.wall = time.monotonic() - self.wall
        busy, total = procstat.machine_ticks()
        self.machine_busy = (busy - self._machine[0]) / max(1.0, total - self._machine[1])
        for name, pids in self.groups.items():
            used = 0.0
            for pid in pids():
                stat = procstat.read_stat(pid)
                if stat is not None:
                    used += stat.cpu_seconds - self.before.get(pid, 0.0)
            self.used[name] = used

    def cores(self, name: str) -> float:
        return self.used[name] / self.wall if self.wall else 0.0


@contextmanager
def phase(title: str) -> Iterator[None]:
    started = time.monotonic()
    load = procstat.loadavg()[0]
    print(f"- {title} (load {load:.1f})", flush=True)
    yield
    print(f"  ... {time.monotonic() - started:.0f}s", flush=True)
