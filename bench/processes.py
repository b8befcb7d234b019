"""A small runner of named subprocesses: each in a session of its own (so it and its children
stop together), its output in a log file, its CPU time and memory read from `/proc`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procstat

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def pids(self) -> list[int]:
        return procstat.tree(self.pid)

    def cpu_seconds(self) -> float:
        return procstat.tree_cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.popen.poll() is None


class ProcessGroup:
    def __init__(self, log_dir: Path, base_env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.base_env = dict(base_env)
        self.procs: dict[str, Proc] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Proc:
        if name in self.procs and self.procs[name].alive():
            raise RuntimeError(f"{name} is already running")
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env={**self.base_env, **(env or {})},
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def campaign_billing(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Proc:
        return self.spawn(name, [str(BIN / "campaign-billing"), *args], env)

    def running(self, prefix: str = "") -> list[Proc]:
        return [p for n, p in self.procs.items() if n.startswith(prefix) and p.alive()]

    def stop(self, name: str, timeout: float = 20.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        _terminate([proc], timeout)

    def stop_all(self, timeout: float = 20.0) -> None:
        procs = list(self.procs.values())
        self.procs.clear()
        _terminate(procs, timeout)

    def check_alive(self) -> None:
        for proc in self.procs.values():
            if not proc.alive():
                tail = proc.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{tail}")


def _terminate(procs: Sequence[Proc], timeout: float) -> None:
    """SIGTERM to each process group we started, then SIGKILL to what is left after `timeout`
    (a Celery worker finishes its running tasks first: warm shutdown)."""
    for proc in procs:
        if proc.alive():
            _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.popen.wait(timeout=10)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
