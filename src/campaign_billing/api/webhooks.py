"""`POST /webhooks/stripe`: verify, store once, hand off, answer.

Kept cheap on purpose (BASELINES.md): a plain Starlette endpoint, no pydantic, and no
`stripe.Webhook.construct_event` (370-450 µs a call, for Stripe objects we would not use) but
`stripe.WebhookSignature.verify_header` once per configured secret (10-25 µs each) and one
`json.loads`. The only I/O is one INSERT, in a worker thread; no Stripe call and no processing
happen here (Stripe expects a 2xx quickly, https://docs.stripe.com/webhooks#acknowledge-events-immediately).

What is refused, with a 4xx and nothing stored (docs/webhooks.md):
- a body over `WEBHOOK_MAX_BODY_BYTES` (413), judged on `Content-Length` and on the bytes read;
- a missing or wrong `Stripe-Signature` for every secret of `STRIPE_WEBHOOK_SECRETS` (400;
  several secrets so one can be rotated without losing events);
- a signature older than `WEBHOOK_TOLERANCE_SECONDS` (400; Stripe's libraries default to 300 s,
  https://docs.stripe.com/webhooks#verify-events, against replays);
- a body that is not UTF-8 JSON, or not a Stripe event (400).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

import stripe
import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from campaign_billing.api.errors import error_response
from campaign_billing.services.stripe_events import (
    MalformedEvent,
    event_fields,
    record_received_event,
)
from campaign_billing.wiring import Container

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "stripe-signature"
_RECEIVED = b'{"received":true,"duplicate":false}'
_DUPLICATE = b'{"received":true,"duplicate":true}'


class Rejected(Exception):
    """Raised while reading a delivery that must be refused; carries the answer."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


def make_webhook_endpoint(container: Container) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint for `POST /webhooks/stripe`, configured once from the container's settings
    (secrets, body limit, tolerance)."""
    settings = container.settings
    secrets = tuple(settings.webhook_secrets)
    max_bytes = settings.webhook_max_body_bytes
    tolerance = settings.webhook_tolerance_seconds
    if not secrets:
        log.error("stripe_webhook_secrets_missing", detail="every webhook will be refused (503)")

    def store(payload: dict[str, object]) -> bool:
        return record_received_event(container.uow, container.send_stripe_event, payload)

    async def stripe_webhook(request: Request) -> Response:
        if not secrets:
            # Our configuration, not the sender, is at fault; Stripe retries a 5xx for days.
            return error_response(
                503,
                "webhook_secrets_missing",
                "STRIPE_WEBHOOK_SECRETS is empty, so no webhook can be verified.",
            )
        try:
            body = await read_body(request, max_bytes)
            text = verify(body, request.headers.get(SIGNATURE_HEADER), secrets, tolerance)
            payload = parse(text)
        except Rejected as rejected:
            log.warning("stripe_webhook_rejected", code=rejected.code)
            return error_response(rejected.status_code, rejected.code, rejected.message)
        created = await run_in_threadpool(store, payload)
        return Response(
            _RECEIVED if created else _DUPLICATE, status_code=200, media_type="application/json"
        )

    return stripe_webhook


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body (the signature covers it byte for byte), refused past `max_bytes` without
    reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> Rejected:
    return Rejected(
        413,
        "payload_too_large",
        f"The webhook body is larger than {max_bytes} bytes (WEBHOOK_MAX_BODY_BYTES).",
    )


def verify(body: bytes, header: str | None, secrets: Sequence[str], tolerance: int) -> str:
    """The body as text once its signature matches one of `secrets` within `tolerance`."""
    if not header:
        raise Rejected(400, "signature_missing", "The Stripe-Signature header is missing.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body_malformed", "The webhook body is not UTF-8.") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
        except stripe.SignatureVerificationError:
            continue
        return text
    # Only on the way out: tell an old (replayed or delayed) delivery from a forged one.
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, None)
        except stripe.SignatureVerificationError:
            continue
        raise Rejected(
            400,
            "signature_expired",
            f"The Stripe-Signature timestamp is more than {tolerance} seconds old.",
        )
    raise Rejected(
        400,
        "signature_invalid",
        "The Stripe-Signature does not match the body for any configured webhook secret.",
    )


def parse(text: str) -> dict[str, object]:
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's
        raise Rejected(400, "body_malformed", "The webhook body is not valid JSON.") from None
    try:
        event_fields(payload)
    except MalformedEvent as error:
        raise Rejected(400, "event_malformed", f"Not a Stripe event: {error}.") from None
    assert isinstance(payload, dict)  # event_fields checked it
    return payload
