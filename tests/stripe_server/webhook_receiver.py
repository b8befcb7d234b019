"""A webhook endpoint for tests: an HTTP server on a thread that records what Stripe posts."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class ReceivedWebhook:
    body: bytes
    headers: dict[str, str]

    @property
    def signature(self) -> str:
        return self.headers["stripe-signature"]


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops connections when the test server delivers many
    # webhooks at once, and the dropped ones only arrive after a one-second SYN retry.
    request_queue_size = 128
    daemon_threads = True


class WebhookReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedWebhook] = []
        self._failures_left = 0
        self._failure_status = 500
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._record(
                    ReceivedWebhook(body, {k.lower(): v for k, v in self.headers.items()})
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test output is not the place for an access log."""

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhooks/stripe"

    def _record(self, webhook: ReceivedWebhook) -> int:
        with self._lock:
            self._received.append(webhook)
            if self._failures_left > 0:
                self._failures_left -= 1
                return self._failure_status
            return 200

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures_left = count
            self._failure_status = status

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)

    def wait_for(
        self, condition: Callable[[list[ReceivedWebhook]], bool], timeout_s: float = 5.0
    ) -> list[ReceivedWebhook]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            received = self.received
            if condition(received):
                return received
            time.sleep(0.01)
        raise AssertionError(f"webhooks not received in {timeout_s}s; got {len(self.received)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
