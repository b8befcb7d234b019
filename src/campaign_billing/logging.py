"""structlog configuration: JSON lines for machines, readable lines on a terminal.

Every entry point calls `configure_logging` once. Ids are bound with
`structlog.contextvars.bind_contextvars` (per request, per task) so each line carries them.
Secrets are dropped by `redact_secrets` before rendering, whatever a caller passes.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are never logged, and value shapes that look like a secret wherever they are.
_SECRET_KEYS = re.compile(
    r"(authorization|token|secret|api_key|password|signature|card|number|cvc)", re.IGNORECASE
)
_SECRET_VALUES = re.compile(
    r"(sk_(test|live)_[A-Za-z0-9]+|rk_(test|live)_[A-Za-z0-9]+|whsec_[A-Za-z0-9]+|"
    r"Bearer\s+\S+|t=\d+,v1=[0-9a-f]+|\b\d{13,19}\b)"
)
_ALLOWED_KEYS = frozenset({"idempotency_key", "stripe_request_id", "last4"})


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUES.sub("[redacted]", value)
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key not in _ALLOWED_KEYS and _SECRET_KEYS.search(key):
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    """JSON unless `json` is False, or None and standard error is a terminal."""
    render_json = json if json is not None else not sys.stderr.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if render_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(_level(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Libraries (celery, uvicorn, alembic) log through the standard library: route them through
    # the same processors, so their lines are JSON too and pass the same redaction.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    # Python warnings (Celery's running-as-root warning among them) become log lines too.
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_level(level))


def _level(name: str) -> int:
    return logging.getLevelNamesMapping().get(name.upper(), logging.INFO)
