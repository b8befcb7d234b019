"""Probes and metrics for operators: liveness, readiness, Prometheus. No token: they carry no
data, and the orchestrator and Prometheus have none to send."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from campaign_billing.api.dependencies import ContainerDep
from campaign_billing.api.schemas import HealthOut, ReadinessOut
from campaign_billing.observability.database_gauges import DatabaseGauges
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
def metrics(request: Request, container: ContainerDep) -> Response:
    """This process's counters, then the database's counts (publish outcomes by failure code,
    outbox backlog, parked webhook events), which hold every process's work."""
    body = generate_latest(REGISTRY) + _database_gauges(request, container).render()
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _database_gauges(request: Request, container: Container) -> DatabaseGauges:
    # One per app, made on the first scrape (nothing connects before), so its cache is shared.
    gauges: DatabaseGauges | None = getattr(request.app.state, "database_gauges", None)
    if gauges is None:
        gauges = DatabaseGauges(container.engine, container.settings.metrics_db_refresh_seconds)
        request.app.state.database_gauges = gauges
    return gauges


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
