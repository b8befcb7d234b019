"""A worker's own Prometheus endpoint: `http://HOST:WORKER_METRICS_PORT/metrics`.

The counts that only the process doing the work can see (each Stripe call and its retries,
charge latency, webhook lag) live in that process's memory, so each worker serves them itself
and Prometheus scrapes every worker (docs/operations.md "Metrics"). Started once per worker at
Celery's `worker_init`, in the worker's main process: with the threads pool (the shipped one)
every task runs there. A prefork pool's child processes would keep counts this server cannot
see, so that case is logged.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import start_http_server

from campaign_billing.settings import Settings

log = structlog.get_logger(__name__)

_lock = threading.Lock()
_server: WSGIServer | None = None


def start(settings: Settings, pool: str = "threads") -> int | None:
    """Serves the process's metrics unless `WORKER_METRICS_PORT` is 0 or a server already
    runs; returns the port listened on (None: not serving)."""
    global _server
    port = settings.worker_metrics_port
    if port == 0:
        return None
    with _lock:
        if _server is not None:
            return int(_server.server_port)
        try:
            _server, _thread = start_http_server(port, addr=settings.worker_metrics_host)
        except OSError as error:
            # Two workers on one host need two ports; the worker itself still runs.
            log.error(
                "worker_metrics_unavailable",
                host=settings.worker_metrics_host,
                port=port,
                error=str(error),
            )
            return None
    if "prefork" in pool:
        log.warning(
            "worker_metrics_partial",
            detail="tasks run in prefork child processes, whose counts this server cannot see; "
            "run the threads pool (the default) to export them",
        )
    log.info("worker_metrics_listening", host=settings.worker_metrics_host, port=port)
    return port


def stop() -> None:
    global _server
    with _lock:
        if _server is not None:
            _server.shutdown()
            _server.server_close()
            _server = None
