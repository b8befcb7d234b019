"""A request whose database connection is cut under it (pg_terminate_backend, a failover) is
answered by a second run on a fresh connection, not with a 503."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from sqlalchemy import Connection, Engine, text

from .api_harness import ApiClient, World


def _backends_waiting_on(blocker: Connection) -> list[int]:
    pid = blocker.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return list(
        blocker.execute(
            text("SELECT pid FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
            {"pid": pid},
        ).scalars()
    )


def _cut_the_connection_of_a_request_waiting_on(blocker: Connection, engine: Engine) -> int:
    deadline = time.monotonic() + 20
    while not (waiting := _backends_waiting_on(blocker)):
        assert time.monotonic() < deadline, "the request never reached the database"
        time.sleep(0.02)
    with engine.connect() as admin:
        for pid in waiting:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return len(waiting)


def test_an_upsert_whose_connection_is_terminated_mid_request_is_answered_once_done(
    api: ApiClient, world: World, engine: Engine
) -> None:
    answers: list[httpx.Response] = []
    with engine.connect() as blocker:
        blocker.begin()
        # Hold the workspace's row: the request's UPDATE waits behind this lock, connected.
        blocker.execute(text("SELECT id FROM workspaces WHERE id = :id FOR UPDATE"), {"id": "ws_a"})
        request = threading.Thread(
            target=lambda: answers.append(
                api.put(f"/v1/workspaces/{world.ws_a}", json={"name": "Renamed Realty"})
            )
        )
        request.start()
        cut = _cut_the_connection_of_a_request_waiting_on(blocker, engine)
        blocker.rollback()
    request.join(timeout=30)

    assert cut == 1
    [answer] = answers
    assert answer.status_code == 200, answer.text
    with engine.connect() as connection:
        name = connection.execute(text("SELECT name FROM workspaces WHERE id = 'ws_a'")).scalar()
    assert name == "Renamed Realty"


def test_a_publish_whose_connection_is_terminated_is_accepted_once(
    api: ApiClient, world: World, engine: Engine, sent_tasks: list[Any]
) -> None:
    answers: list[httpx.Response] = []
    with engine.connect() as blocker:
        blocker.begin()
        # An uncommitted open request of the campaign: the request's INSERT waits on the
        # one-open-request-per-campaign index, connected, until this transaction ends.
        blocker.execute(
            text(
                "INSERT INTO publish_requests (id, workspace_id, campaign_id, request_key, "
                "status, created_at, updated_at) "
                "VALUES ('pr_blocker', :ws, :campaign, 'blocker', 'queued', now(), now())"
            ),
            {"ws": world.ws_a, "campaign": world.campaign_a},
        )
        request = threading.Thread(
            target=lambda: answers.append(
                api.post(
                    f"/v1/campaigns/{world.campaign_a}/publish",
                    headers={"Idempotency-Key": "cut-once"},
                )
            )
        )
        request.start()
        _cut_the_connection_of_a_request_waiting_on(blocker, engine)
        blocker.rollback()
    request.join(timeout=30)

    [answer] = answers
    assert answer.status_code == 202, answer.text
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM publish_requests")).scalar()
    assert stored == 1
    assert len(sent_tasks) == 1
