"""Measures the Stripe test server's throughput with no added latency.

Runs the server on its own in a subprocess (as `campaign-billing stripe-server` would) and drives
it from this process with many concurrent keep-alive connections, each sending requests shaped
like stripe-python's, one after another. Prints requests per second per scenario.

    .venv/bin/python -m tests.stripe_server.throughput [--connections 64] [--seconds 5]
        [--latency-ms 300]
"""

import argparse
import asyncio
import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

API_KEY = "sk_test_throughput"


@dataclass(frozen=True)
class Result:
    scenario: str
    connections: int
    seconds: float
    completed: int
    failed: int

    @property
    def requests_per_second(self) -> float:
        return self.completed / self.seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server_process(port: int, latency_ms: float = 0.0) -> Iterator[str]:
    """The server as its own process, so the load generator does not share its GIL."""
    command = [sys.executable, "-m", "campaign_billing.stripe_server", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--latency-ms", str(latency_ms)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{base_url}/_test/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the Stripe test server did not start") from None
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _request(method: str, path: str, body: str = "", idempotency_key: str | None = None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {API_KEY}",
        "Stripe-Version: 2026-10-28.endive",
    ]
    if idempotency_key:
        lines.append(f"Idempotency-Key: {idempotency_key}")
    if method == "POST":
        lines.append("Content-Type: application/x-www-form-urlencoded")
        lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _connection(
    port: int, make_request: Callable[[], bytes], stop_at: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.monotonic() < stop_at:
            writer.write(make_request())
            status = await _read_response(reader)
            counts[0 if status < 400 else 1] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _drive(
    port: int, make_request: Callable[[], bytes], connections: int, seconds: float
) -> tuple[int, int, float]:
    counts = [0, 0]
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(
        *(_connection(port, make_request, stop_at, counts) for _ in range(connections))
    )
    return counts[0], counts[1], time.monotonic() - started


def _setup(base_url: str) -> tuple[str, str]:
    """A customer with a saved card, to charge off-session."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        customer = client.post("/v1/customers", data={"email": "bench@example.com"}).json()["id"]
        card = client.post(
            "/v1/payment_methods/pm_card_visa/attach", data={"customer": customer}
        ).json()["id"]
    return customer, card


def scenarios(base_url: str) -> dict[str, Callable[[], bytes]]:
    customer, card = _setup(base_url)
    charge_body = urlencode(
        {
            "amount": "4900",
            "currency": "usd",
            "customer": customer,
            "payment_method": card,
            "confirm": "true",
            "off_session": "true",
            "metadata[campaign_id]": "c_1",
            "metadata[publish_request_id]": "pr_1",
            "metadata[billing_account_id]": "ba_1",
        }
    )
    return {
        "GET /v1/customers/{id}": lambda: _request("GET", f"/v1/customers/{customer}"),
        "POST /v1/payment_intents (confirm, off_session)": lambda: _request(
            "POST", "/v1/payment_intents", charge_body, idempotency_key=str(uuid.uuid4())
        ),
    }


def measure(connections: int = 64, seconds: float = 5.0, latency_ms: float = 0.0) -> list[Result]:
    port = _free_port()
    results = []
    with server_process(port, latency_ms) as base_url:
        for name, make_request in scenarios(base_url).items():
            completed, failed, elapsed = asyncio.run(
                _drive(port, make_request, connections, seconds)
            )
            results.append(Result(name, connections, elapsed, completed, failed))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    for result in measure(args.connections, args.seconds, args.latency_ms):
        print(
            f"{result.scenario}: {result.requests_per_second:,.0f} requests/s "
            f"({result.completed} ok, {result.failed} failed, {result.connections} connections, "
            f"{result.seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
