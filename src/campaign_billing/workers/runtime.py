"""The container a worker process uses: built from the environment on first use (never at
import), or installed by whoever runs workers in-process (tests, the demo)."""

from __future__ import annotations

import threading

from campaign_billing.wiring import Container, build_container

_container: Container | None = None
_lock = threading.Lock()


def get_container() -> Container:
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = build_container()
    return _container


def set_container(container: Container | None) -> None:
    global _container
    _container = container
