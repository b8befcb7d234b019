"""Watches the event stream the relay writes, noting when each event arrived.

A stream entry's id starts with the Redis server's clock in milliseconds at the XADD
(https://redis.io/docs/latest/develop/data-types/streams/#entry-ids); Redis runs on this
machine, so that is the moment the event was on the stream, on the benchmark's own clock.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis

from bench.stack import EVENT_STREAM


@dataclass(frozen=True, slots=True)
class StreamEvent:
    at: float  # seconds since the epoch, from the entry id
    type: str
    publish_request_id: str | None


class StreamWatcher:
    def __init__(self, redis_url: str) -> None:
        self._redis = redis.Redis.from_url(redis_url)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._events: list[StreamEvent] = []
        last: Any = self._redis.xrevrange(EVENT_STREAM, count=1)
        self._last_id: bytes = last[0][0] if last else b"0-0"
        self._thread = threading.Thread(target=self._run, name="stream-watcher", daemon=True)

    def __enter__(self) -> StreamWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._redis.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            batches: Any = self._redis.xread({EVENT_STREAM: self._last_id}, count=1000, block=200)
            for _stream, entries in batches or []:
                parsed = []
                for entry_id, fields in entries:
                    self._last_id = entry_id
                    event = json.loads(fields[b"event"])
                    parsed.append(
                        StreamEvent(
                            at=int(entry_id.split(b"-")[0]) / 1000,
                            type=event["type"],
                            publish_request_id=event["data"].get("publish_request_id"),
                        )
                    )
                with self._lock:
                    self._events.extend(parsed)

    def events(self, type_: str | None = None) -> list[StreamEvent]:
        with self._lock:
            return [e for e in self._events if type_ is None or e.type == type_]

    def count(self, type_: str) -> int:
        return len(self.events(type_))

    def wait_count(self, type_: str, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(type_) >= n:
                return True
            time.sleep(0.05)
        return False
