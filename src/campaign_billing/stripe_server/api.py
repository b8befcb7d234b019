"""The `/v1` API pipeline: authentication, rate limit, injected faults, idempotency, the handler.

Every answer carries a `Request-Id` header, as Stripe's do (https://docs.stripe.com/api/request_ids).
"""

import asyncio
import base64
import binascii
import logging
import math
from dataclasses import dataclass, replace
from typing import Literal

from campaign_billing.stripe_server.asgi import (
    HttpRequest,
    Receive,
    Send,
    dump_json,
    read_body,
    respond,
    wait_for_disconnect,
)
from campaign_billing.stripe_server.connections import ConnectionRegistry
from campaign_billing.stripe_server.errors import (
    StripeApiError,
    api_error,
    authentication_failed,
    invalid_request,
    rate_limited,
)
from campaign_billing.stripe_server.event_log import Origin
from campaign_billing.stripe_server.expansion import expand
from campaign_billing.stripe_server.faults import Fault, FaultInjector
from campaign_billing.stripe_server.forms import decode_form
from campaign_billing.stripe_server.idempotency import IdempotencyStore, StoredResponse, fingerprint
from campaign_billing.stripe_server.ids import new_request_id
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.rate_limit import RateLimiter
from campaign_billing.stripe_server.request_log import RequestLog, RequestRecord
from campaign_billing.stripe_server.routing import ApiRequest, Match, Router
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject

logger = logging.getLogger(__name__)

_RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. Learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: bytes
    outcome: str
    headers: tuple[tuple[str, str], ...] = ()
    cut: Literal["reset", "drop"] | None = None


class ApiPipeline:
    def __init__(
        self,
        *,
        state: AccountState,
        router: Router,
        idempotency: IdempotencyStore,
        faults: FaultInjector,
        rate_limiter: RateLimiter,
        request_log: RequestLog,
        connections: ConnectionRegistry,
    ) -> None:
        self._state = state
        self._router = router
        self._idempotency = idempotency
        self._faults = faults
        self._rate_limiter = rate_limiter
        self._request_log = request_log
        self._connections = connections

    async def serve(self, http: HttpRequest, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        idempotency_key = http.headers.get("idempotency-key") if http.method == "POST" else None
        record = self._request_log.start(request_id, http.method, http.path, idempotency_key)
        response = await self._answer(http, receive, request_id, idempotency_key)
        if response.cut is not None and await self._cut(http, receive, response, record):
            return
        headers = [
            ("Request-Id", request_id),
            (
                "Stripe-Version",
                http.headers.get("stripe-version", self._state.event_log.api_version),
            ),
            *response.headers,
        ]
        if idempotency_key:
            headers.append(("Idempotency-Key", idempotency_key))
        await respond(send, response.status, response.body, headers)
        record.finish(response.outcome, response.status)

    async def _cut(
        self, http: HttpRequest, receive: Receive, response: ApiResponse, record: RequestRecord
    ) -> bool:
        if not self._connections.cut(http.client, reset=response.cut == "reset"):
            logger.warning(
                "cannot cut the connection of %s (not served through StripeTestServer/serve); "
                "answering instead",
                http.client,
            )
            return False
        record.finish(response.outcome, None)
        await wait_for_disconnect(receive)
        return True

    async def _answer(
        self, http: HttpRequest, receive: Receive, request_id: str, idempotency_key: str | None
    ) -> ApiResponse:
        try:
            api_key = _authenticate(http.headers)
        except StripeApiError as error:
            return _error_response(error, request_id, "unauthorized")
        if not self._rate_limiter.admit():
            limited = rate_limited(
                _RATE_LIMIT_MESSAGE, {"Stripe-Rate-Limited-Reason": "global-rate"}
            )
            return _error_response(limited, request_id, "rate_limited")
        decision = self._faults.decide(http.method, http.path)
        body = await read_body(receive)
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.fault is Fault.RESET:
            return ApiResponse(500, b"", "reset", cut="reset")
        if decision.fault is Fault.SERVER_ERROR:
            failure = api_error("An unknown error occurred. (Injected by the Stripe test server.)")
            return _error_response(failure, request_id, "injected_500")
        if decision.fault is Fault.RATE_LIMITED:
            limited = rate_limited(
                _RATE_LIMIT_MESSAGE,
                {
                    "Retry-After": str(math.ceil(decision.retry_after_s)),
                    "Stripe-Rate-Limited-Reason": "global-rate",
                },
            )
            return _error_response(limited, request_id, "injected_429")
        response = self._execute(http, body, api_key, request_id, idempotency_key)
        if decision.fault is Fault.COMMIT_THEN_DROP:
            return replace(response, cut="drop", outcome="dropped_after_commit")
        return response

    def _execute(
        self,
        http: HttpRequest,
        body: bytes,
        api_key: str,
        request_id: str,
        idempotency_key: str | None,
    ) -> ApiResponse:
        try:
            raw = body.decode() if http.method == "POST" else http.query_string
            params = decode_form(raw)
            match = self._router.match(http.method, http.path)
            if match is None:
                raise invalid_request(
                    f"Unrecognized request URL ({http.method}: {http.path}). Please see "
                    "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    status=404,
                    replayable=False,
                )
            stored = None
            params_fingerprint = fingerprint(params)
            if idempotency_key:
                stored = self._idempotency.find(
                    api_key, idempotency_key, http.method, http.path, params_fingerprint
                )
        except StripeApiError as error:
            return _error_response(error, request_id, "error")
        if stored is not None:
            return ApiResponse(
                stored.status,
                stored.body,
                "replayed",
                (("Idempotent-Replayed", "true"), ("Original-Request", stored.request_id)),
            )
        response, replayable = self._run_handler(http, match, params, request_id, idempotency_key)
        if idempotency_key and replayable:
            self._idempotency.save(
                api_key,
                idempotency_key,
                StoredResponse(
                    http.method,
                    http.path,
                    params_fingerprint,
                    response.status,
                    response.body,
                    request_id,
                    self._state.clock.now(),
                ),
            )
        return response

    def _run_handler(
        self,
        http: HttpRequest,
        match: Match,
        params: JsonObject,
        request_id: str,
        idempotency_key: str | None,
    ) -> tuple[ApiResponse, bool]:
        request = ApiRequest(
            method=http.method,
            path=http.path,
            path_params=match.path_params,
            params=Params(params),
            origin=Origin(request_id, idempotency_key),
            base_url=http.base_url,
        )
        try:
            request.params.reject_unknown(match.route.accepts)
            result = match.route.handler(self._state, request)
            result = expand(self._state, result, request.params.texts("expand") or [])
        except StripeApiError as error:
            return _error_response(error, request_id, "error"), error.replayable
        except Exception:
            logger.exception("Stripe test server bug handling %s %s", http.method, http.path)
            failure = api_error("The Stripe test server failed on this request (see its log).")
            return _error_response(failure, request_id, "error"), False
        return ApiResponse(200, dump_json(result), "ok"), True


def _error_response(error: StripeApiError, request_id: str, outcome: str) -> ApiResponse:
    return ApiResponse(
        error.status, dump_json(error.to_body(request_id)), outcome, tuple(error.headers.items())
    )


def _authenticate(headers: dict[str, str]) -> str:
    """The secret key from `Authorization: Bearer sk_test_...` (or HTTP Basic, as curl sends it)
    (https://docs.stripe.com/api/authentication)."""
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise authentication_failed(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY')."
        )
    if not key.startswith(("sk_test_", "rk_test_")):
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
        raise authentication_failed(f"Invalid API Key provided: {masked}")
    return key
