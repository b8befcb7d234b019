"""Probes and metrics for operators: liveness, readiness, Prometheus. No token: they carry no
data, and the orchestrator and Prometheus have none to send."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from campaign_billing.api.dependencies import ContainerDep
from campaign_billing.api.schemas import HealthOut, ReadinessOut
from campaign_billing.wiring import Container

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: PostgreSQL and Redis answer",
    responses={503: {"model": ReadinessOut, "description": "Names the dependency that failed."}},
)
def readyz(container: ContainerDep) -> JSONResponse:
    checks = {
        "database": _check("database", lambda: _select_one(container)),
        "redis": _check("redis", lambda: container.redis.ping()),
    }
    failed = [name for name, result in checks.items() if result == "failed"]
    if not failed:
        ready = ReadinessOut(status="ready", checks=checks)
        return JSONResponse(ready.model_dump(mode="json", exclude_none=True))
    body = ReadinessOut.model_validate(
        {
            "status": "unavailable",
            "checks": checks,
            "error": {"code": "not_ready", "message": f"Unreachable: {', '.join(failed)}."},
        }
    )
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The metrics."}},
)
def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _select_one(container: Container) -> None:
    with container.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _check(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as error:  # any failure means "not ready"; the log says which
        log.warning("readiness_check_failed", check=name, error=type(error).__name__)
        return "failed"
    return "ok"
