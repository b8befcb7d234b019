"""Where the CPU goes: py-spy samples the running service processes (no code change, no restart)
and the collapsed stacks are summed into each process's top functions.

py-spy is a dev tool (`pip install py-spy`); without it the figures are still measured and the
profile says it was skipped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass(frozen=True, slots=True)
class FunctionShare:
    function: str
    self_share: float  # of all samples of the process: time spent in this very function
    total_share: float  # ... in it or anything it called


def available() -> bool:
    return PY_SPY.exists() or shutil.which("py-spy") is not None


def record(pids: dict[str, int], seconds: float, out_dir: Path) -> dict[str, Path]:
    """Samples each process for `seconds` (all at once); returns the raw stack files."""
    exe = str(PY_SPY) if PY_SPY.exists() else "py-spy"
    out_dir.mkdir(parents=True, exist_ok=True)
    running = {}
    for name, pid in pids.items():
        path = out_dir / f"{name}.stacks.txt"
        running[name] = (
            path,
            subprocess.Popen(
                [
                    exe,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(max(1, round(seconds))),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    # Only the thread holding the GIL: threads waiting on a socket (psycopg's
                    # Connection.wait, Redis reads) are otherwise counted as busy.
                    "--gil",
                    # Reads the process's memory without stopping it: the figure is not slowed.
                    "--nonblocking",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        )
    found = {}
    for name, (path, proc) in running.items():
        proc.wait(timeout=seconds + 60)
        if path.exists():
            found[name] = path
    return found


def _function(frame: str) -> str:
    """`name (path/to/module.py:12)` -> `name (module.py)`: lines merged, paths shortened."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{match['func']} ({file})"


def top_functions(lines: Iterable[str], n: int = 10) -> tuple[int, list[FunctionShare]]:
    """From py-spy's raw output (`frame;frame;...;leaf COUNT` per line): the `n` functions with
    the most self time, with their total (inclusive) time; and the number of samples."""
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    samples = 0
    for line in lines:
        line = line.rstrip("\n")
        if not line or " " not in line:
            continue
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";") if f]
        if not frames:
            continue
        samples += count
        self_counts[frames[-1]] += count
        for function in set(frames):
            total_counts[function] += count
    if not samples:
        return 0, []
    return samples, [
        FunctionShare(function, count / samples, total_counts[function] / samples)
        for function, count in self_counts.most_common(n)
    ]


def _package(function: str) -> str:
    """The library a shortened frame belongs to: `execute (sqlalchemy/engine/base.py)` ->
    `sqlalchemy`; a standard-library module -> its name (`logging`, `json`, `threading`)."""
    match = re.search(r"\(([^()]*)\)$", function)
    if match is None:
        return "?"
    file = match[1]
    head = file.split("/", 1)[0]
    return head.removesuffix(".py") or "?"


def by_package(lines: Iterable[str], n: int = 12) -> list[tuple[str, float]]:
    """Self time summed per library: which layer the process spends its CPU in."""
    counts: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not count_text.isdigit() or not stack:
            continue
        leaf = stack.split(";")[-1]
        counts[_package(_function(leaf))] += int(count_text)
        samples += int(count_text)
    return [(name, count / samples) for name, count in counts.most_common(n)] if samples else []


def own_functions(
    lines: Iterable[str], marker: str = "campaign_billing/", n: int = 15
) -> list[tuple[str, float]]:
    """Total (inclusive) time of the service's own functions: which step of a use case the CPU
    goes to (claim, charge, record...), whatever library does the work underneath."""
    totals: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not count_text.isdigit() or not stack:
            continue
        count = int(count_text)
        samples += count
        for function in {_function(f) for f in stack.split(";") if marker in f}:
            totals[function] += count
    return [(f, c / samples) for f, c in totals.most_common(n)] if samples else []


def report(stack_files: dict[str, Path], n: int = 10) -> str:
    """A text report: per process, its `n` top functions by self time, the service's own
    functions by total time, and self time per library."""
    parts = []
    for name, path in sorted(stack_files.items()):
        lines = path.read_text().splitlines()
        samples, top = top_functions(lines, n)
        parts.append(f"## {name}: {samples} samples (100 Hz, the thread holding the GIL)")
        parts.append(f"{'self':>6} {'total':>6}  function")
        for share in top:
            parts.append(
                f"{share.self_share * 100:5.1f}% {share.total_share * 100:5.1f}%  {share.function}"
            )
        parts.append("")
        parts.append("total time in the service's own functions (the steps of a use case):")
        parts.extend(f"{share * 100:5.1f}%  {fn}" for fn, share in own_functions(lines))
        parts.append("")
        parts.append(
            "self time by library: "
            + ", ".join(f"{package} {share * 100:.0f}%" for package, share in by_package(lines))
        )
        parts.append("")
    return "\n".join(parts)
