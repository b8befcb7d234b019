"""Refuses request bodies of the JSON API that are too large (413) or not JSON (415), before
anything reads them.

Only under `/v1`: the Stripe webhook route has its own limit and reads its raw body itself.
The size is enforced twice: on the declared `Content-Length`, and on the bytes actually
received, for a chunked body that declares none.
"""

from __future__ import annotations

from email.message import Message as MimeMessage

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from campaign_billing.api.dependencies import V1
from campaign_billing.api.errors import error_response

# The largest valid body (a campaign) is well under 2 kB; 64 KiB leaves room for the fields
# upstream apps add, which are ignored.
MAX_BODY_BYTES = 64 * 1024
GUARDED_PREFIX = V1 + "/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(HTTPException):
    """Raised while a body is being read, once it has grown past the limit. An HTTPException so
    FastAPI lets it through its own body reading to the error handlers (api/errors.py)."""

    def __init__(self) -> None:
        super().__init__(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or not str(scope["path"]).startswith(GUARDED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _content_length(headers)
        has_body = (declared or 0) > 0 or "transfer-encoding" in headers
        if declared is not None and declared > self.max_bytes:
            await error_response(413, "payload_too_large", BodyTooLarge().detail)(
                scope, receive, send
            )
            return
        if has_body and not _is_json(headers.get("content-type")):
            await error_response(
                415,
                "unsupported_media_type",
                "Send the body as JSON, with `Content-Type: application/json`.",
            )(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        return limited_receive


def _content_length(headers: Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def _is_json(content_type: str | None) -> bool:
    """`application/json`, or any `application/*+json`, with any parameters (charset)."""
    if not content_type:
        return False
    mime = MimeMessage()
    mime["content-type"] = content_type
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
