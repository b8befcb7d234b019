"""What `/proc` says about processes: CPU time, resident memory, descendants.

CPU time comes from `/proc/PID/stat` (utime + stime, fields 14 and 15, in clock ticks; proc(5)),
so a figure counts what the kernel charged to the service's own processes, whatever else the
shared machine runs meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcStat:
    pid: int
    ppid: int
    cpu_seconds: float


def parse_stat(pid: int, text: str) -> ProcStat:
    """Parses one `/proc/PID/stat` line. The command name (field 2) may hold spaces and
    parentheses, so the fields are counted from its last `)`."""
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field N is rest[N - 3].
    ppid = int(rest[1])
    utime, stime = int(rest[11]), int(rest[12])
    return ProcStat(pid=pid, ppid=ppid, cpu_seconds=(utime + stime) / TICKS_PER_SECOND)


def read_stat(pid: int) -> ProcStat | None:
    try:
        return parse_stat(pid, (PROC / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def all_stats() -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def tree(root: int, stats: Mapping[int, ProcStat] | None = None) -> list[int]:
    """`root` and every live descendant (a prefork worker's children, a shell's child)."""
    stats = all_stats() if stats is None else stats
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0.0
    for pid in pids:
        stat = read_stat(pid)
        if stat is not None:
            total += stat.cpu_seconds
    return total


def tree_cpu_seconds(root: int) -> float:
    stats = all_stats()
    return sum(stats[pid].cpu_seconds for pid in tree(root, stats))


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) of one process, in MiB; 0 when it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def machine_ticks() -> tuple[float, float]:
    """(busy, total) clock ticks of all cores since boot, from the `cpu` line of /proc/stat:
    busy is everything but idle and iowait."""
    fields = [float(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - fields[3] - fields[4], total


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()
