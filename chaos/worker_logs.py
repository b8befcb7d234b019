"""What the workers' own log lines tell about the kills: which killed worker died holding a
charge Stripe had already answered (the line `stripe_charge_answered` written, its
`publish_request_finished` never), and how often a later worker resumed a charge attempt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _entries(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def kill_figures(log_files: list[Path], killed: set[Path]) -> dict[str, int]:
    """`log_files`: every worker incarnation's log; `killed`: those of incarnations SIGKILLed."""
    died_after_answer = 0
    died_during_call = 0
    resumed = 0
    for path in log_files:
        answered: set[str] = set()
        recorded: set[str] = set()
        finished: set[str] = set()
        for entry in _entries(path):
            request_id = str(entry.get("publish_request_id"))
            match entry.get("event"):
                case "charge_attempt_recorded":
                    recorded.add(request_id)
                case "stripe_charge_answered":
                    answered.add(request_id)
                case "publish_request_finished":
                    finished.add(request_id)
                case "charge_attempt_resumed":
                    recorded.add(request_id)
                    resumed += 1
        if path in killed:
            died_after_answer += len(answered - finished)
            died_during_call += len(recorded - answered - finished)
    return {
        "killed_holding_an_answered_charge": died_after_answer,
        "killed_during_a_stripe_call": died_during_call,
        "charge_attempts_resumed": resumed,
    }
