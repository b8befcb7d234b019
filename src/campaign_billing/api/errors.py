"""Every error the HTTP API answers, in one shape: `{"error": {"code", "message", ...}}`.

Routes raise; the handlers installed here turn each exception into its answer, so a route never
builds an error body itself and every error, including FastAPI's and Starlette's own (validation,
unknown route, wrong method), has the same shape. A 5xx is reserved for our bugs and for a
dependency (PostgreSQL, Redis, Stripe) being unreachable.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from campaign_billing.adapters.repositories.directory import WorkspaceMismatch
from campaign_billing.adapters.stripe_gateway import StripeRejected, TransientStripeError
from campaign_billing.domain.errors import BillingFailure, CampaignNotFound
from campaign_billing.services.accounts import OwnerNotAgent, OwnerNotFound
from campaign_billing.services.billing_setup import (
    BillingAccountNotFound,
    BillingAccountWithoutCustomer,
)
from campaign_billing.services.directory import UnknownParent
from campaign_billing.services.publishing import ChargeUnreconciled, RequestKeyReused

log = structlog.get_logger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]

# How many validation problems one message lists, and how long each may be: the input can be
# 10 kB of anything, and the answer must stay readable (and never echo it whole).
_MAX_PROBLEMS = 5
_MAX_PROBLEM_CHARS = 200

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ErrorJSONResponse(JSONResponse):
    """Escapes everything outside ASCII: an error message may quote input, and a lone surrogate
    in it must not turn a 4xx into a crash while encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class ApiError(Exception):
    """Raised by a route to answer with an error: a status, a stable code and a message a person
    can act on."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def not_found(kind: str, row_id: str) -> ApiError:
    """The same answer whether the row does not exist or belongs to a workspace the caller may
    not see: existence is not revealed."""
    return ApiError(404, "not_found", f"{kind} {row_id} was not found.")


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ErrorJSONResponse:
    return ErrorJSONResponse(
        {"error": {"code": code, "message": message, **extra}},
        status_code=status_code,
        headers=dict(headers or {}),
    )


def install_error_handlers(app: FastAPI) -> None:
    handlers: Sequence[tuple[type[Exception], Handler]] = (
        (ApiError, _api_error),
        (BillingFailure, _billing_failure),
        (RequestValidationError, _validation_error),
        (StarletteHTTPException, _http_exception),
        (UnknownParent, _coded(422)),
        (OwnerNotFound, _coded(404)),
        (OwnerNotAgent, _coded(422)),
        (BillingAccountNotFound, _coded(404)),
        (BillingAccountWithoutCustomer, _coded(409)),
        (WorkspaceMismatch, _answer(409, "workspace_mismatch")),
        (RequestKeyReused, _coded(409)),
        (ChargeUnreconciled, _coded(409)),
        (IntegrityError, _integrity_error),
        (DataError, _data_error),
        (OperationalError, _unavailable("the database")),
        (RedisConnectionError, _unavailable("Redis")),
        (RedisTimeoutError, _unavailable("Redis")),
        (TransientStripeError, _stripe_unavailable),
        (StripeRejected, _stripe_rejected),
    )
    for exception_class, handler in handlers:
        app.add_exception_handler(exception_class, handler)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


async def _billing_failure(_request: Request, exc: Exception) -> Response:
    """A failure of the contract renders as the publish request would carry it: code, message,
    remediation, retryable (SPEC.md)."""
    assert isinstance(exc, BillingFailure)
    status = 404 if isinstance(exc, CampaignNotFound) else 422
    return ErrorJSONResponse({"error": exc.to_dict()}, status_code=status)


def _coded(status_code: int) -> Handler:
    """For exceptions that carry their own `code` and whose text is the message."""

    async def handle(_request: Request, exc: Exception) -> Response:
        return error_response(status_code, str(getattr(exc, "code", "error")), str(exc))

    return handle


def _answer(status_code: int, code: str) -> Handler:
    async def handle(_request: Request, exc: Exception) -> Response:
        return error_response(status_code, code, str(exc))

    return handle


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    shown = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:_MAX_PROBLEMS])
    if len(problems) > _MAX_PROBLEMS:
        shown += f"; and {len(problems) - _MAX_PROBLEMS} more"
    return error_response(
        422,
        "validation_error",
        f"The request is invalid: {shown}.",
        details=problems[: _MAX_PROBLEMS * 4],
    )


def _problem(error: Mapping[str, Any]) -> dict[str, str]:
    """One validation problem as `{field, message, type}`, without the offending input."""
    location = [str(part) for part in error.get("loc", ())]
    source, path = (location[0], ".".join(location[1:])) if location else ("request", "")
    # Body fields are named as in the JSON (`billing.type`); others by where they are sent
    # (`path campaign_id`, `header Idempotency-Key`).
    field = (path or "request body") if source == "body" else f"{source} {path}".strip()
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "")
        field, message = "request body", f"is not valid JSON ({reason})"
    return {
        "field": field[:_MAX_PROBLEM_CHARS],
        "message": message[:_MAX_PROBLEM_CHARS],
        "type": str(error.get("type", "invalid")),
    }


async def _http_exception(_request: Request, exc: Exception) -> Response:
    """Starlette's own answers (no such route, wrong method, and our body guard's 413)."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404:
        message = "No such resource: check the method and the path (see /openapi.json)."
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> Response:
    # The services check what they can foresee and answer 422 with a reason; reaching this
    # means the input collided with stored data in a way they did not name.
    log.warning("integrity_error", path=request.url.path, constraint=_constraint(exc))
    return error_response(
        409, "conflict", "The request conflicts with data already stored; nothing was changed."
    )


async def _data_error(request: Request, exc: Exception) -> Response:
    log.warning("data_error", path=request.url.path, error=type(getattr(exc, "orig", exc)).__name__)
    # Validation should have refused the value first: a code of its own makes that visible.
    return error_response(422, "unstorable_value", "A value cannot be stored as it is.")


def _constraint(exc: Exception) -> str | None:
    diagnostics = getattr(getattr(exc, "orig", None), "diag", None)
    return getattr(diagnostics, "constraint_name", None)


def _unavailable(dependency: str) -> Handler:
    async def handle(_request: Request, exc: Exception) -> Response:
        log.error("dependency_unavailable", dependency=dependency, error=type(exc).__name__)
        return error_response(
            503,
            "service_unavailable",
            f"{dependency.capitalize()} cannot be reached right now; retry the same request.",
            headers={"Retry-After": "5"},
        )

    return handle


async def _stripe_unavailable(_request: Request, exc: Exception) -> Response:
    log.error("stripe_unavailable", error=str(exc)[:300])
    return error_response(
        503,
        "payment_provider_unavailable",
        "Stripe could not be reached; nothing is lost: retry the same request to complete it.",
        headers={"Retry-After": "5"},
        retryable=True,
    )


async def _stripe_rejected(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StripeRejected)
    log.error("stripe_rejected", stripe_code=exc.code, stripe_request_id=exc.request_id)
    return error_response(
        502,
        "payment_provider_rejected",
        "Stripe rejected the request; operators must check the Stripe configuration "
        f"(Stripe request {exc.request_id or 'unknown'}).",
        retryable=False,
    )
