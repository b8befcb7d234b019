"""What routes receive through FastAPI's `Depends`: the container, the authenticated caller,
the payment provider, and the route's ids bound to the request's log context.

The app factory puts the container and the token verifier on `app.state`; nothing here is
built at import time. Tests replace `customer_gateway` with `app.dependency_overrides`.
"""

from __future__ import annotations

import re
from typing import Annotated, cast

import structlog
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from campaign_billing.api.auth import ID_PATTERN, Caller, TokenVerifier
from campaign_billing.api.errors import ApiError
from campaign_billing.services.accounts import CustomerGateway
from campaign_billing.wiring import Container

# The prefix of the authenticated JSON API. Each resource module's router carries it itself
# (rather than `include_router(prefix=...)`), so a route's own path is its full path template,
# which is what the access line and the metrics name.
V1 = "/v1"

_ID = re.compile(ID_PATTERN)
_MAX_ID_LENGTH = 64

# Documents the scheme in OpenAPI and reads the header; `require_caller` decides.
_bearer = HTTPBearer(
    auto_error=False,
    description="A token from API_TOKENS, sent as `Authorization: Bearer <token>`.",
)


def get_container(request: Request) -> Container:
    return cast(Container, request.app.state.container)


def get_token_verifier(request: Request) -> TokenVerifier:
    return cast(TokenVerifier, request.app.state.token_verifier)


async def require_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of a `/v1` route; answers 401 for a missing or unknown token."""
    caller = (
        get_token_verifier(request).authenticate(credentials.credentials)
        if credentials is not None
        else None
    )
    if caller is None:
        raise ApiError(
            401,
            "unauthorized",
            "Send a valid API token as `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


async def bind_route_ids(request: Request) -> None:
    """Binds the route's ids (`campaign_id`, ...) to the log context, for every line this
    request logs, the access line included. Async on purpose: it then runs in the request's own
    context, which a sync dependency (run in a worker thread) would not change. Ids that fail
    validation are left out: they are the request's garbage, not its ids."""
    ids = {
        name: value
        for name, value in request.path_params.items()
        if isinstance(value, str) and len(value) <= _MAX_ID_LENGTH and _ID.fullmatch(value)
    }
    if ids:
        structlog.contextvars.bind_contextvars(**ids)


async def customer_gateway(
    container: Annotated[Container, Depends(get_container)],
) -> CustomerGateway:
    return container.gateway


PathId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=_MAX_ID_LENGTH,
        pattern=ID_PATTERN,
        description=f"1-{_MAX_ID_LENGTH} characters matching `{ID_PATTERN}`.",
    ),
]
ContainerDep = Annotated[Container, Depends(get_container)]
CallerDep = Annotated[Caller, Depends(require_caller)]
CustomerGatewayDep = Annotated[CustomerGateway, Depends(customer_gateway)]
