"""Answers a request again, once, when its database connection was cut under it.

PostgreSQL ends a connection in the middle of a transaction on a failover, a restart, an
`idle_in_transaction_session_timeout` or an operator's `pg_terminate_backend`. The pool's
pre-ping only catches connections that died while idle in the pool; a request holding one at
that moment got a 503 although the database is up and a second try succeeds at once. A 5xx
is for our bugs and for a dependency that is really down (api/errors.py), so such a request is
run again, whole, on a fresh connection.

That is safe because its transaction was rolled back with the connection, and because every
route is idempotent anyway (upserts, `Idempotency-Key`, "open again answers the same account",
webhooks stored once by event id): even a COMMIT whose answer was lost is harmless to repeat.
Only a lost *connection* is retried (SQLAlchemy's `connection_invalidated`); a database that
refuses connections still answers 503 at once. The request body is replayed from what the
first run read, so nothing is buffered beyond what the app reads itself.
"""

from __future__ import annotations

from collections import deque

import structlog
from fastapi import FastAPI, Request
from sqlalchemy.exc import OperationalError
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

_LOST = "campaign_billing.connection_lost"


class RetryOnLostConnection:
    def __init__(self, app: ASGIApp, retries: int = 1) -> None:
        self.app = app
        self.retries = retries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        for attempt in range(self.retries + 1):
            if await self._answered(scope, receive, send, received, attempt < self.retries):
                return
            log.warning("request_retried_after_lost_connection", attempt=attempt + 1)

    async def _answered(
        self, scope: Scope, receive: Receive, send: Send, received: list[Message], may_retry: bool
    ) -> bool:
        """Runs the app once; False when its answer was a lost connection, held back to retry."""
        replay = deque(received)
        scope[_LOST] = False
        discarded = False

        async def receive_again() -> Message:
            if replay:
                return replay.popleft()
            message = await receive()
            received.append(message)
            return message

        async def send_unless_retried(message: Message) -> None:
            nonlocal discarded
            if message["type"] == "http.response.start" and scope[_LOST] and may_retry:
                discarded = True
            if not discarded:
                await send(message)

        await self.app(scope, receive_again, send_unless_retried)
        return not discarded


def install_lost_connection_retry(app: FastAPI) -> None:
    """Marks an answer to a lost connection for `RetryOnLostConnection`, around the 503 that
    api/errors.py renders for every OperationalError. Call after `install_error_handlers`."""
    unavailable = app.exception_handlers[OperationalError]

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OperationalError) and exc.connection_invalidated:
            request.scope[_LOST] = True
        response: Response = await unavailable(request, exc)  # type: ignore[misc]
        return response

    app.add_exception_handler(OperationalError, handle)
    app.add_middleware(RetryOnLostConnection)
