"""Running the test server: in a background thread for tests, or blocking for the CLI."""

import logging
import socket
import threading
import time
from dataclasses import replace
from types import TracebackType

import uvicorn

from campaign_billing.stripe_server.app import StripeTestApp, create_app
from campaign_billing.stripe_server.connections import tracking_protocol
from campaign_billing.stripe_server.control_client import ControlClient
from campaign_billing.stripe_server.settings import StripeServerSettings, WebhookTarget

# Clients keep connections open between calls (stripe-python's requests session does); a short
# server keep-alive closes them while a client may be about to reuse one, which the client sees
# as a spurious network error.
_KEEP_ALIVE_S = 120
_STARTUP_TIMEOUT_S = 10.0


def _uvicorn_config(
    app: StripeTestApp, log_level: str | None, *, configure_logging: bool = False
) -> uvicorn.Config:
    """`configure_logging=False` leaves the embedding process's logging alone (tests)."""
    return uvicorn.Config(
        app,
        http=tracking_protocol(app.parts.connections),
        lifespan="on",
        log_config=uvicorn.config.LOGGING_CONFIG if configure_logging else None,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=_KEEP_ALIVE_S,
        timeout_graceful_shutdown=3,
        backlog=4096,
    )


def _bound_socket(host: str, port: int) -> socket.socket:
    # asyncio disables Nagle's algorithm only on sockets whose proto is IPPROTO_TCP
    # (asyncio.base_events._set_nodelay); without it, uvicorn's separate writes of headers and
    # body meet the client's delayed ACK and every answer waits about 40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class StripeTestServer:
    """The test server on a background thread, listening on `base_url`.

    `port=0` picks a free port. Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0.0,
        *,
        jitter_ms: float = 0.0,
        settings: StripeServerSettings | None = None,
        log_level: str | None = "warning",
    ) -> None:
        base = settings or StripeServerSettings()
        self.settings = replace(
            base,
            latency_ms=latency_ms or base.latency_ms,
            jitter_ms=jitter_ms or base.jitter_ms,
        )
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        self.app = create_app(self.settings)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._control: ControlClient | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the Stripe test server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """e.g. "http://127.0.0.1:54321": give it to stripe-python as `base_addresses["api"]`."""
        return f"http://{self.host}:{self.port}"

    @property
    def control(self) -> ControlClient:
        if self._control is None:
            self._control = ControlClient(self.base_url)
        return self._control

    def start(self) -> "StripeTestServer":
        sock = _bound_socket(self.host, self._requested_port)
        self._port = sock.getsockname()[1]
        server = uvicorn.Server(_uvicorn_config(self.app, self._log_level))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="stripe-test-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError("the Stripe test server did not start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> "StripeTestServer":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str,
    port: int,
    latency_ms: float = 0,
    jitter_ms: float = 0,
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    settings: StripeServerSettings | None = None,
) -> None:
    """Runs the test server until interrupted (the `campaign-billing stripe-server` command).

    Without `settings`, reads `StripeServerSettings.from_env()`. `webhook_url` and
    `webhook_secret` register an endpoint at start-up, e.g. the service's `/webhooks/stripe`
    with a secret it is configured with.
    """
    base = settings or StripeServerSettings.from_env()
    targets = base.webhook_targets
    if webhook_url:
        if not webhook_secret:
            raise ValueError("webhook_url needs webhook_secret")
        targets = (*targets, WebhookTarget(webhook_url, webhook_secret))
    effective = replace(
        base,
        latency_ms=latency_ms or base.latency_ms,
        jitter_ms=jitter_ms or base.jitter_ms,
        webhook_targets=targets,
    )
    app = create_app(effective)
    server = uvicorn.Server(_uvicorn_config(app, "info", configure_logging=True))
    sock = _bound_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    # uvicorn does not announce the address of sockets handed to it.
    logging.getLogger("uvicorn.error").info(
        "Stripe test server on http://%s:%d (control API under /_test)", bound_host, bound_port
    )
    server.run(sockets=[sock])
