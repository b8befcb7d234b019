"""The upstream app's side of the run: an HTTP client of the API that counts every answer.

A request that gets a 5xx or no answer (connection reset, timeout) is counted and sent again,
the same request with the same Idempotency-Key, as a well-behaved upstream app would; the
count of 5xx is the run's figure, the retries are what keeps the run going if there are any.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Answers:
    """Every status the API answered, and the 5xx with what they said."""

    statuses: Counter[int] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)
    server_errors: list[dict[str, Any]] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 400:
                self.error_codes[f"{response.status_code} {_code(response)}"] += 1
            if response.status_code >= 500:
                self.server_errors.append(
                    {
                        "at": time.time(),
                        "method": method,
                        "path": path,
                        "status": response.status_code,
                        "body": response.text[:300],
                    }
                )

    def record_transport(self, error: Exception) -> None:
        with self.lock:
            self.transport_errors[type(error).__name__] += 1

    @property
    def server_error_count(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


class ApiClient:
    def __init__(self, base_url: str, token: str, answers: Answers | None = None) -> None:
        self.answers = answers or Answers()
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        tries: int = 8,
    ) -> httpx.Response:
        """The answer to the request, sent again on a 5xx or a transport error."""
        for attempt in range(1, tries + 1):
            try:
                response = self.http.request(method, path, json=json, headers=headers)
            except httpx.TransportError as error:
                self.answers.record_transport(error)
                if attempt == tries:
                    raise
            else:
                self.answers.record(method, path, response)
                if response.status_code < 500 or attempt == tries:
                    return response
            time.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.call(method, path, json=json)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return body
