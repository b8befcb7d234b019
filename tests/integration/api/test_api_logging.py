"""One access line per request, with its request id and ids; never a token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from fastapi import FastAPI
from structlog.testing import LogCapture

from campaign_billing.api.dependencies import customer_gateway

from .api_harness import TOKEN, WS_A_TOKEN, ApiClient, RecordingCustomers, World


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Every event logged, with the bound context merged in as in production, and nothing
    redacted: what the code itself hands to the logger."""
    saved = structlog.get_config()
    capture = LogCapture()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture])
    yield capture.entries
    structlog.configure(**saved)


def _access_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == "http_request"]


def test_each_request_logs_one_access_line_with_its_request_id_and_ids(
    api: ApiClient, world: World, logs: list[dict[str, Any]]
) -> None:
    logs.clear()

    response = api.post(f"/v1/campaigns/{world.campaign_a}/publish")

    [line] = _access_lines(logs)
    assert line["method"] == "POST"
    assert line["route"] == "/v1/campaigns/{campaign_id}/publish"
    assert line["status"] == 202
    assert line["duration_ms"] > 0
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["campaign_id"] == world.campaign_a
    # The service's own lines carry the request id too.
    accepted = [entry for entry in logs if entry["event"] == "publish_request_accepted"]
    assert accepted[0]["request_id"] == line["request_id"]


def test_a_callers_request_id_is_kept_when_it_is_safe_and_replaced_when_not(
    api: ApiClient,
) -> None:
    kept = api.get("/healthz", headers={"X-Request-Id": "upstream-42"})
    replaced = api.get("/healthz", headers={"X-Request-Id": "<script>" + "x" * 100})

    assert kept.headers["X-Request-Id"] == "upstream-42"
    assert replaced.headers["X-Request-Id"].startswith("req_")


def test_an_error_response_carries_the_request_id_too(api: ApiClient) -> None:
    response = api.get("/v1/publish-requests/pr_missing")

    assert response.status_code == 404
    assert response.headers["X-Request-Id"].startswith("req_")


def test_no_token_ever_reaches_a_log(
    client_for: Callable[[str | None], ApiClient], world: World, logs: list[dict[str, Any]]
) -> None:
    client_for(TOKEN).post(f"/v1/campaigns/{world.campaign_a}/publish")
    client_for(WS_A_TOKEN).get(f"/v1/billing-accounts/{world.office_b}")
    client_for("guessed-token-123").get("/v1/billing-accounts/ba_1")
    client_for(TOKEN).put(f"/v1/workspaces/{world.ws_a}", json={"name": 7})

    logged = repr(logs)
    assert len(_access_lines(logs)) == 4
    for secret in (TOKEN, WS_A_TOKEN, "guessed-token-123", "Bearer"):
        assert secret not in logged


def test_an_unexpected_error_is_a_500_in_the_error_shape_and_logged_whole(
    app: FastAPI, api: ApiClient, world: World, logs: list[dict[str, Any]]
) -> None:
    broken = RecordingCustomers(failures=[RuntimeError("a bug")])
    app.dependency_overrides[customer_gateway] = lambda: broken

    response = api.post(
        "/v1/billing-accounts", json={"owner_type": "office", "owner_id": world.office_a}
    )

    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": f"An unexpected error occurred; quote request id {request_id} to support.",
    }
    [error] = [entry for entry in logs if entry["event"] == "unhandled_error"]
    assert error["exc_info"] is True
    assert error["request_id"] == request_id
    assert _access_lines(logs)[-1]["status"] == 500
