"""The ASGI entry point for `uvicorn campaign_billing.api.asgi:app` (and `campaign-billing
serve`): builds the container from the environment when the server starts the app, not when
this module is imported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from campaign_billing.logging import configure_logging
from campaign_billing.settings import load_settings

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_app: Any = None


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global _app
    if _app is None:
        from campaign_billing.api.app import create_app
        from campaign_billing.wiring import build_container

        settings = load_settings()
        configure_logging(settings.log_level, settings.log_json)
        _app = create_app(build_container(settings))
    await _app(scope, receive, send)
