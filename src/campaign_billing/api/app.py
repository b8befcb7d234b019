"""The HTTP API's app factory. Builds nothing that connects: the container's engine, Redis and
Stripe clients are created on first use, by the first request that needs them."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from campaign_billing.api import billing_accounts, health, publishing, support, upserts
from campaign_billing.api.auth import TokenVerifier
from campaign_billing.api.body_guard import MAX_BODY_BYTES, BodyGuardMiddleware
from campaign_billing.api.dependencies import bind_route_ids, require_caller
from campaign_billing.api.errors import install_error_handlers
from campaign_billing.api.lost_connection import install_lost_connection_retry
from campaign_billing.api.request_context import RequestContextMiddleware
from campaign_billing.api.schemas import error_responses
from campaign_billing.api.webhooks import make_webhook_endpoint
from campaign_billing.wiring import Container

log = structlog.get_logger(__name__)

DESCRIPTION = f"""
Publishes real-estate marketing campaigns and charges them to the right payer through Stripe.

Every `/v1` route needs `Authorization: Bearer <token>` (a token of `API_TOKENS`). Bodies are
JSON (`Content-Type: application/json`, else 415) of at most {MAX_BODY_BYTES // 1024} KiB (else
413); unknown fields are ignored. Every error is `{{"error": {{"code", "message"}}}}`; billing
failures add `remediation` and `retryable`. Each response carries an `X-Request-Id`.
"""


def create_app(container: Container) -> FastAPI:
    """The API for this container. Raises ValueError when `API_TOKENS` is malformed."""
    verifier = TokenVerifier.from_setting(container.settings.api_tokens.get_secret_value())
    if not verifier.configured:
        log.warning("api_tokens_missing", detail="every /v1 request will be refused (401)")

    app = FastAPI(
        title="campaign-billing",
        version="1",
        description=DESCRIPTION,
        generate_unique_id_function=_operation_id,
    )
    app.state.container = container
    app.state.token_verifier = verifier
    install_error_handlers(app)
    # Innermost: a request whose database connection was cut is answered by a second run.
    install_lost_connection_retry(app)
    # Added last runs first: the request context wraps everything, the body guard included.
    app.add_middleware(BodyGuardMiddleware)
    app.add_middleware(RequestContextMiddleware)

    v1 = APIRouter(
        # On the router, not on each route, so that no /v1 route can be added without a token.
        dependencies=[Depends(require_caller), Depends(bind_route_ids)],
        responses=error_responses(400, 401, 413, 415, 422, 503),
    )
    for module in (upserts, billing_accounts, publishing, support):
        v1.include_router(module.router)
    app.include_router(v1)
    app.include_router(health.router)
    _mount_extra_routes(app, container)
    return app


def _mount_extra_routes(app: FastAPI, container: Container) -> None:
    """Where routes written outside this package are mounted, e.g. `POST /webhooks/stripe`
    (campaign_billing/api/webhooks.py). They are outside `/v1`, so they get neither the bearer
    token check nor the JSON body guard: a webhook authenticates by its signature and reads its
    raw body itself. They do get the request id, the access line and the error handlers.
    Give their routes full paths (`APIRouter(prefix="/webhooks")`, not
    `include_router(prefix=...)`), so the access line names the full path template."""
    # A plain Starlette endpoint: no pydantic, verified and stored in a few hundred
    # microseconds (docs/webhooks.md).
    app.add_route(
        "/webhooks/stripe",
        make_webhook_endpoint(container),
        methods=["POST"],
        include_in_schema=True,
    )


def _operation_id(route: APIRoute) -> str:
    # The endpoint's name (`publish_campaign`) reads better in generated clients than
    # FastAPI's default of name, path and method run together.
    return route.name
