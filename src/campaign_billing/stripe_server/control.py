"""The test-only control API under `/_test/...`: JSON in, JSON out, no authentication.

Nothing here exists on Stripe; docs/stripe-test-server.md lists every endpoint.
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field, ValidationError

from campaign_billing.stripe_server.asgi import (
    HttpRequest,
    Receive,
    Send,
    dump_json,
    read_body,
    respond,
)
from campaign_billing.stripe_server.cards import Authentication, decline_by_name
from campaign_billing.stripe_server.errors import StripeApiError, invalid_param, invalid_request
from campaign_billing.stripe_server.event_log import NOT_AN_API_REQUEST
from campaign_billing.stripe_server.faults import FaultPlan
from campaign_billing.stripe_server.ids import new_request_id
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.parts import ServerParts
from campaign_billing.stripe_server.request_log import RequestFilter
from campaign_billing.stripe_server.resources import (
    payment_attempts,
    payment_methods,
    setup_intents,
)
from campaign_billing.stripe_server.resources.checkout_sessions import complete_session
from campaign_billing.stripe_server.resources.webhook_endpoints import register_endpoint
from campaign_billing.stripe_server.routing import bind
from campaign_billing.stripe_server.types import JsonObject
from campaign_billing.stripe_server.webhooks import DeliveryConfig, DeliveryOrder

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class ControlRequest:
    path_params: dict[str, str]
    query: dict[str, str]
    body: JsonObject

    def model(self, model: type[ModelT]) -> ModelT:
        return model.model_validate(self.body)


ControlHandler = Callable[[ServerParts, ControlRequest], Awaitable[JsonObject]]


# --- request bodies ---------------------------------------------------------------------------


class RateLimitBody(BaseModel):
    requests_per_second: float | None = Field(default=None, gt=0)


class CompleteCheckoutBody(BaseModel):
    card: str | None = None
    """A card number, e.g. "4242424242424242"."""
    payment_method: str | None = None
    """A PaymentMethod id or test id, e.g. "pm_card_visa"."""
    exp_month: int | None = None
    exp_year: int | None = None
    email: str | None = None
    name: str | None = None


class AuthenticateBody(BaseModel):
    passes: bool = True


class OutcomeBody(BaseModel):
    outcome: str
    """succeed | authentication_required | generic_decline | insufficient_funds | expired_card |
    incorrect_cvc | processing_error"""


class AutomaticUpdateBody(BaseModel):
    exp_month: int | None = None
    exp_year: int | None = None
    last4: str | None = None


class WebhookEndpointBody(BaseModel):
    url: str
    secret: str | None = None
    enabled_events: list[str] = Field(default_factory=lambda: ["*"])


class ReleaseBody(BaseModel):
    order: DeliveryOrder = "fifo"


class WaitIdleBody(BaseModel):
    timeout_s: float = Field(default=10.0, ge=0)


class AdvanceClockBody(BaseModel):
    seconds: float


class IdempotencyBody(BaseModel):
    ttl_s: float = Field(gt=0)


# --- handlers ---------------------------------------------------------------------------------


async def health(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return {"ok": True}


async def reset(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.reset()
    return {"reset": True}


async def get_faults(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return parts.faults.describe()


async def set_faults(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.faults.apply(request.model(FaultPlan))
    return parts.faults.describe()


async def clear_faults(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.faults.clear()
    return parts.faults.describe()


async def get_rate_limit(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return {"requests_per_second": parts.rate_limiter.requests_per_second}


async def set_rate_limit(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.rate_limiter.reset(request.model(RateLimitBody).requests_per_second)
    return {"requests_per_second": parts.rate_limiter.requests_per_second}


def _request_filter(query: dict[str, str]) -> RequestFilter:
    return RequestFilter(
        since=float(query["since"]) if "since" in query else None,
        until=float(query["until"]) if "until" in query else None,
        method=query.get("method"),
        path_prefix=query.get("path_prefix"),
    )


async def list_requests(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return {"data": parts.request_log.records(_request_filter(request.query))}


async def request_stats(parts: ServerParts, request: ControlRequest) -> JsonObject:
    bucket_s = float(request.query.get("bucket_s", "1"))
    return parts.request_log.stats(_request_filter(request.query), bucket_s)


async def ledger(parts: ServerParts, request: ControlRequest) -> JsonObject:
    status = request.query.get("status")
    rows = []
    for entry in parts.state.ledger:
        intent = parts.state.payment_intents.require(entry.payment_intent_id)
        if status and intent["status"] != status:
            continue
        rows.append(
            {
                "id": intent["id"],
                "idempotency_key": entry.idempotency_key,
                "request_id": entry.request_id,
                "created": intent["created"],
                "created_at": entry.created_at,
                "status": intent["status"],
                "amount": intent["amount"],
                "currency": intent["currency"],
                "customer": intent["customer"],
                "payment_method": intent["payment_method"],
                "metadata": intent["metadata"],
                "last_payment_error": intent["last_payment_error"],
            }
        )
    return {"data": rows, "count": len(rows)}


async def complete_checkout(parts: ServerParts, request: ControlRequest) -> JsonObject:
    body = request.model(CompleteCheckoutBody)
    state = parts.state
    session = state.checkout_sessions.require(request.path_params["session"], "session")
    if body.payment_method:
        payment_method = payment_methods.payment_method_for_use(
            state, body.payment_method, "payment_method"
        )
    else:
        card: JsonObject = {"number": body.card or "4242424242424242"}
        if body.exp_month is not None:
            card["exp_month"] = str(body.exp_month)
        if body.exp_year is not None:
            card["exp_year"] = str(body.exp_year)
        billing = {"name": body.name, "email": body.email}
        payment_method = payment_methods.payment_method_from_card_params(
            state,
            Params(card, "card"),
            Params({key: value for key, value in billing.items() if value}, "billing_details"),
        )
    return complete_session(state, session, payment_method, email=body.email, name=body.name)


async def authenticate_payment_intent(parts: ServerParts, request: ControlRequest) -> JsonObject:
    intent = parts.state.payment_intents.require(request.path_params["intent"], "intent")
    passes = request.model(AuthenticateBody).passes
    return payment_attempts.authenticate(
        parts.state, intent, passes=passes, origin=NOT_AN_API_REQUEST
    )


async def authenticate_setup_intent(parts: ServerParts, request: ControlRequest) -> JsonObject:
    intent = parts.state.setup_intents.require(request.path_params["intent"], "intent")
    passes = request.model(AuthenticateBody).passes
    return setup_intents.authenticate(parts.state, intent, passes=passes, origin=NOT_AN_API_REQUEST)


async def set_card_outcome(parts: ServerParts, request: ControlRequest) -> JsonObject:
    state = parts.state
    payment_method = state.payment_methods.require(
        request.path_params["payment_method"], "payment_method"
    )
    outcome = request.model(OutcomeBody).outcome
    if outcome == "succeed":
        decline, authentication = None, Authentication.NEVER
    elif outcome == "authentication_required":
        decline, authentication = None, Authentication.ALWAYS
    else:
        decline, authentication = decline_by_name(outcome), Authentication.NEVER
    payment_methods.override_outcome(
        state, payment_method, charge_decline=decline, authentication=authentication
    )
    return payment_method


async def automatic_update(parts: ServerParts, request: ControlRequest) -> JsonObject:
    payment_method = parts.state.payment_methods.require(
        request.path_params["payment_method"], "payment_method"
    )
    body = request.model(AutomaticUpdateBody)
    return payment_methods.automatically_update(
        parts.state,
        payment_method,
        exp_month=body.exp_month,
        exp_year=body.exp_year,
        last4=body.last4,
        origin=NOT_AN_API_REQUEST,
    )


async def add_webhook_endpoint(parts: ServerParts, request: ControlRequest) -> JsonObject:
    body = request.model(WebhookEndpointBody)
    return register_endpoint(parts.state, body.url, body.enabled_events, secret=body.secret)


def _webhook_status(parts: ServerParts) -> JsonObject:
    return {
        "config": parts.webhooks.config.model_dump(),
        "paused": parts.webhooks.paused,
        "held": parts.webhooks.held_count,
        "in_flight": parts.webhooks.in_flight_count,
    }


async def webhook_status(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return _webhook_status(parts)


async def configure_webhooks(parts: ServerParts, request: ControlRequest) -> JsonObject:
    changes = DeliveryConfig.model_validate(request.body).model_dump(exclude_unset=True)
    parts.webhooks.config = parts.webhooks.config.model_copy(update=changes)
    return _webhook_status(parts)


async def pause_webhooks(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.webhooks.pause()
    return _webhook_status(parts)


async def resume_webhooks(parts: ServerParts, request: ControlRequest) -> JsonObject:
    released = parts.webhooks.release(request.model(ReleaseBody).order, resume=True)
    return {**_webhook_status(parts), "released": released}


async def flush_webhooks(parts: ServerParts, request: ControlRequest) -> JsonObject:
    released = parts.webhooks.release(request.model(ReleaseBody).order, resume=False)
    return {**_webhook_status(parts), "released": released}


async def webhook_deliveries(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return {"data": parts.webhooks.records()}


async def wait_webhooks_idle(parts: ServerParts, request: ControlRequest) -> JsonObject:
    idle = await parts.webhooks.wait_idle(request.model(WaitIdleBody).timeout_s)
    return {**_webhook_status(parts), "idle": idle}


async def get_clock(parts: ServerParts, request: ControlRequest) -> JsonObject:
    return {"now": parts.clock.now(), "offset_s": parts.clock.offset}


async def advance_clock(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.clock.advance(request.model(AdvanceClockBody).seconds)
    return {"now": parts.clock.now(), "offset_s": parts.clock.offset}


async def configure_idempotency(parts: ServerParts, request: ControlRequest) -> JsonObject:
    parts.idempotency.ttl_s = request.model(IdempotencyBody).ttl_s
    return {"ttl_s": parts.idempotency.ttl_s, "stored_keys": len(parts.idempotency)}


ROUTES: tuple[tuple[str, str, ControlHandler], ...] = (
    ("GET", "/_test/health", health),
    ("POST", "/_test/reset", reset),
    ("GET", "/_test/faults", get_faults),
    ("POST", "/_test/faults", set_faults),
    ("DELETE", "/_test/faults", clear_faults),
    ("GET", "/_test/rate_limit", get_rate_limit),
    ("POST", "/_test/rate_limit", set_rate_limit),
    ("GET", "/_test/requests", list_requests),
    ("GET", "/_test/requests/stats", request_stats),
    ("GET", "/_test/ledger", ledger),
    ("POST", "/_test/checkout/sessions/{session}/complete", complete_checkout),
    ("POST", "/_test/payment_intents/{intent}/authenticate", authenticate_payment_intent),
    ("POST", "/_test/setup_intents/{intent}/authenticate", authenticate_setup_intent),
    ("POST", "/_test/payment_methods/{payment_method}/outcome", set_card_outcome),
    ("POST", "/_test/payment_methods/{payment_method}/automatic_update", automatic_update),
    ("POST", "/_test/webhook_endpoints", add_webhook_endpoint),
    ("GET", "/_test/webhooks", webhook_status),
    ("POST", "/_test/webhooks/config", configure_webhooks),
    ("POST", "/_test/webhooks/pause", pause_webhooks),
    ("POST", "/_test/webhooks/resume", resume_webhooks),
    ("POST", "/_test/webhooks/flush", flush_webhooks),
    ("GET", "/_test/webhooks/deliveries", webhook_deliveries),
    ("POST", "/_test/webhooks/wait_idle", wait_webhooks_idle),
    ("GET", "/_test/clock", get_clock),
    ("POST", "/_test/clock/advance", advance_clock),
    ("POST", "/_test/idempotency", configure_idempotency),
)


class ControlApi:
    def __init__(self, parts: ServerParts) -> None:
        self._parts = parts
        self._routes = [
            (method, tuple(template.strip("/").split("/")), handler)
            for method, template, handler in ROUTES
        ]

    async def serve(self, http: HttpRequest, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        status, payload = await self._answer(http, receive, request_id)
        await respond(send, status, dump_json(payload), [("Request-Id", request_id)])

    async def _answer(
        self, http: HttpRequest, receive: Receive, request_id: str
    ) -> tuple[int, JsonObject]:
        parts = http.path.strip("/").split("/")
        for method, template, handler in self._routes:
            if method != http.method or len(template) != len(parts):
                continue
            path_params = bind(template, parts)
            if path_params is None:
                continue
            try:
                request = ControlRequest(
                    path_params,
                    dict(parse_qsl(http.query_string)),
                    _json_body(await read_body(receive)),
                )
                return 200, await handler(self._parts, request)
            except StripeApiError as error:
                return error.status, error.to_body(request_id)
            except (ValidationError, ValueError) as error:
                return 400, invalid_request(str(error)).to_body(request_id)
        return 404, invalid_param(
            f"Unknown control endpoint {http.method} {http.path}", "path"
        ).to_body(request_id)


def _json_body(raw: bytes) -> JsonObject:
    if not raw.strip():
        return {}
    value: Any = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the request body must be a JSON object")
    return value
