"""The ASGI application: `/v1` is the Stripe API, `/_test` the control API, `/checkout/pay` the
hosted Checkout page."""

import logging

from campaign_billing.stripe_server import checkout_page
from campaign_billing.stripe_server.api import ApiPipeline
from campaign_billing.stripe_server.asgi import (
    HttpRequest,
    Receive,
    Scope,
    Send,
    dump_json,
    respond,
)
from campaign_billing.stripe_server.checkout_page import CheckoutPage
from campaign_billing.stripe_server.control import ControlApi
from campaign_billing.stripe_server.errors import invalid_request
from campaign_billing.stripe_server.ids import new_request_id
from campaign_billing.stripe_server.parts import ServerParts
from campaign_billing.stripe_server.resources import API_ROUTES
from campaign_billing.stripe_server.routing import Router
from campaign_billing.stripe_server.settings import StripeServerSettings

logger = logging.getLogger(__name__)


class StripeTestApp:
    def __init__(self, settings: StripeServerSettings) -> None:
        self.parts = ServerParts.build(settings)
        self._api = ApiPipeline(
            state=self.parts.state,
            router=Router(API_ROUTES),
            idempotency=self.parts.idempotency,
            faults=self.parts.faults,
            rate_limiter=self.parts.rate_limiter,
            request_log=self.parts.request_log,
            connections=self.parts.connections,
        )
        self._control = ControlApi(self.parts)
        self._checkout = CheckoutPage(self.parts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        http = HttpRequest.from_scope(scope)
        if http.path.startswith("/v1/"):
            await self._api.serve(http, receive, send)
        elif http.path.startswith("/_test/"):
            await self._control.serve(http, receive, send)
        elif checkout_page.handles(http.path):
            await self._checkout.serve(http, receive, send)
        else:
            request_id = new_request_id()
            error = invalid_request(
                f"Unrecognized request URL ({http.method}: {http.path}).", status=404
            )
            await respond(
                send, 404, dump_json(error.to_body(request_id)), [("Request-Id", request_id)]
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.parts.webhooks.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(settings: StripeServerSettings | None = None) -> StripeTestApp:
    """The test server as an ASGI app. Serve it through `StripeTestServer` or `serve()` so that
    injected connection resets can cut connections (see connections.py)."""
    return StripeTestApp(settings or StripeServerSettings())
