"""Per request: a request id, its log context, one access line, HTTP metrics, and the last
answer to an exception nothing else handled.

A pure ASGI middleware rather than Starlette's `BaseHTTPMiddleware`, so the log context it binds
is the context the routes run in, and the ids routes bind (`bind_route_ids`) are still there
when the access line is written.
"""

from __future__ import annotations

import re
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campaign_billing.api.errors import error_response
from campaign_billing.ids import new_id

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# An id sent by the caller is kept (it ties our lines to theirs) only when it is harmless to log.
_ACCEPTED_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "campaign_billing_http_requests_total",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "campaign_billing_http_request_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(Headers(scope=scope))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Nothing answered this one: a bug. Log it whole, answer in the API's shape.
            log.exception("unhandled_error")
            if response_started:
                raise  # half a response was sent: only the server can end the connection now
            response = error_response(
                500,
                "internal_error",
                f"An unexpected error occurred; quote request id {request_id} to support.",
            )
            await response(scope, receive, send_with_id)
        finally:
            _access_line(scope, status, time.perf_counter() - started)


def _request_id(headers: Headers) -> str:
    sent = headers.get(REQUEST_ID_HEADER)
    if sent is not None and _ACCEPTED_REQUEST_ID.fullmatch(sent):
        return sent
    return new_id("req")


def _route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/campaigns/{campaign_id}/publish`), never the raw
    path: ids belong in their own fields, and an unmatched path is whatever a caller typed."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


def _access_line(scope: Scope, status: int, seconds: float) -> None:
    method = str(scope.get("method", ""))
    if method not in _METHODS:
        method = "other"  # any token is a method to HTTP: keep the metric's labels bounded
    route = _route_template(scope)
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_REQUEST_SECONDS.labels(method, route).observe(seconds)
    log.info(
        "http_request",
        method=method,
        route=route,
        status=status,
        duration_ms=round(seconds * 1000, 2),
    )
