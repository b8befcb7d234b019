"""docker-compose.yml and the Dockerfile, checked with what runs here (no Docker engine does):
Docker Compose's own loader validates the file, every command a service or a healthcheck runs
is a real command of this project, and the image never runs as root."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from campaign_billing.cli.main import app as cli_app
from tests.integration.ops.compose_file import (
    COMPOSE_FILE,
    DOCKERFILE,
    OPERATIONS_GUIDE,
    OWN_IMAGE_PREFIX,
    compose_model,
    final_stage_user,
    run_compose,
)

SERVICES = {"postgres", "redis", "migrate", "api", "worker", "relay", "flower", "stripe"}
# Long-running services whose health another service, or an operator, waits on.
PROBED = {"postgres", "redis", "api", "worker", "flower", "stripe"}
# The Python interpreter runs the HTTP probes (the slim image has no curl).
BIN = Path(sys.executable).parent
KNOWN_BINARIES = {"python", "pg_isready", "redis-cli", "redis-server"}


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return compose_model()


def _services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = model["services"]
    return services


def _own(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _services(model).items()
        if str(service.get("image", "")).startswith(OWN_IMAGE_PREFIX)
    }


def check_cli(args: Sequence[str]) -> None:
    """`campaign-billing ARGS --help` exits 0 only when the command exists and takes every
    option given (Typer answers 2 for an unknown command or option)."""
    result = CliRunner().invoke(cli_app, [*args, "--help"])
    assert result.exit_code == 0, f"campaign-billing {shlex.join(args)}: {result.output}"


def check_celery(argv: Sequence[str]) -> None:
    """`celery ARGS --help` exits 0 only when the app loads and every command and option
    exists (celery's plugin commands, Flower's included, are only known to its own CLI)."""
    result = subprocess.run(
        [str(BIN / "celery"), *argv, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"celery {shlex.join(argv)}: {result.stderr}"


def check_command(argv: Sequence[str]) -> None:
    program, *args = argv
    if program == "campaign-billing":
        check_cli(args)
    elif program == "celery":
        check_celery(args)
    else:
        assert program in KNOWN_BINARIES, f"unknown program {program!r} in {argv}"


def _healthcheck_argv(service: dict[str, Any]) -> list[str]:
    kind, *rest = service["healthcheck"]["test"]
    if kind == "CMD-SHELL":
        # `$$` is Compose's escape for a `$` the container's shell expands.
        line = rest[0].replace("$$", "$").split(">")[0]
        return shlex.split(line)
    assert kind == "CMD", service["healthcheck"]
    return list(rest)


def test_docker_compose_validates_the_file() -> None:
    result = run_compose("config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_a_broken_file(tmp_path: Path) -> None:
    # The validation above means something: the same loader rejects a wrong condition.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace("service_completed_successfully", "service_finished")
    )
    result = run_compose("config", "--quiet", compose_file=broken)
    assert result.returncode != 0
    assert "condition" in result.stderr


def test_the_stack_has_every_service_of_the_product(model: dict[str, Any]) -> None:
    assert set(_services(model)) == SERVICES


def test_every_long_running_service_has_a_healthcheck(model: dict[str, Any]) -> None:
    services = _services(model)
    for name in PROBED:
        assert services[name].get("healthcheck", {}).get("test"), name


def test_services_start_only_once_what_they_need_is_ready(model: dict[str, Any]) -> None:
    services = _services(model)

    def conditions(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert conditions("migrate") == {"postgres": "service_healthy"}
    for name in ("api", "worker", "relay"):
        assert conditions(name) == {
            "migrate": "service_completed_successfully",
            "redis": "service_healthy",
        }, name
    assert conditions("flower") == {"redis": "service_healthy"}


def test_workers_can_be_scaled_and_serve_their_metrics_inside_the_network(
    model: dict[str, Any],
) -> None:
    worker = _services(model)["worker"]
    # A fixed container name or a published host port would make `--scale worker=N` fail.
    assert "container_name" not in worker
    assert not worker.get("ports")
    assert worker["environment"]["WORKER_METRICS_PORT"] == "9100"
    assert worker["environment"]["WORKER_METRICS_HOST"] == "0.0.0.0"  # noqa: S104
    assert "9100" in worker["expose"]


def test_every_service_runs_a_command_of_this_project(model: dict[str, Any]) -> None:
    own = _own(model)
    assert set(own) == SERVICES - {"postgres", "redis"}
    for service in own.values():
        check_command(service["command"])


def test_every_healthcheck_runs_a_command_that_exists(model: dict[str, Any]) -> None:
    for service in _services(model).values():
        if "healthcheck" in service:
            check_command(_healthcheck_argv(service))


def test_a_wrong_subcommand_or_option_is_caught(model: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="--hots"):
        check_cli(["serve", "--hots", "127.0.0.1"])
    with pytest.raises(AssertionError, match="upgrad"):
        check_cli(["db", "upgrad"])
    with pytest.raises(AssertionError, match="flowers"):
        check_celery(["-A", "campaign_billing.workers.celery_app", "flowers"])


def test_the_image_never_runs_as_root(model: dict[str, Any]) -> None:
    user = final_stage_user(DOCKERFILE.read_text())
    assert user is not None, "the last stage has no USER: the image would run as root"
    uid = user.split(":")[0]
    # Numeric, so that an orchestrator can check "not root" without the image's /etc/passwd.
    assert uid.isdigit(), user
    assert int(uid) != 0, user
    for name, service in _own(model).items():
        assert service.get("user") in (None, user), name


def test_final_stage_user_reads_the_last_stage_only() -> None:
    assert final_stage_user("FROM a\nUSER 1000\nFROM b\nRUN true\n") is None
    assert final_stage_user("FROM a\nRUN x \\\n  && y\nUSER 10001:10001\n") == "10001:10001"


def test_the_operations_guide_runs_every_service_without_docker(model: dict[str, Any]) -> None:
    guide = OPERATIONS_GUIDE.read_text()
    for name, service in _own(model).items():
        command = shlex.join(service["command"])
        assert command in guide, f"{name}: `{command}` is not in docs/operations.md"
