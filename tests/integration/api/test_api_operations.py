"""Probes, metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from campaign_billing.api.app import create_app
from campaign_billing.settings import Settings
from campaign_billing.wiring import build_container

from .api_harness import ApiClient, World

Probe = Callable[..., ApiClient]


@pytest.fixture
def probe_client(api_settings: Settings, portal: BlockingPortal) -> Iterator[Probe]:
    """A token-less client of an app built on the test settings with `changes` made to them
    and `overrides` given to the container (e.g. an unreachable Redis)."""
    made: list[tuple[ApiClient, Any]] = []

    def make(changes: dict[str, Any] | None = None, **overrides: Any) -> ApiClient:
        settings = api_settings.model_copy(update=changes or {})
        container = build_container(settings, **overrides)
        client = ApiClient(portal, create_app(container), token=None)
        made.append((client, container))
        return client

    yield make
    for client, container in made:
        client.close()
        container.close()


def _unreachable_redis() -> Redis:
    # No retries: redis-py's default backoff would only make the test slow.
    return Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))


def test_creating_the_app_connects_to_nothing() -> None:
    settings = Settings(
        api_tokens="t",  # type: ignore[arg-type]
        database_url="postgresql+psycopg://nobody@192.0.2.1:5432/nowhere",
        redis_url="redis://192.0.2.1:6379/0",
    )
    container = build_container(settings)

    create_app(container)

    built = {"engine", "redis", "stripe_client", "gateway"} & set(vars(container))
    assert built == set()


def test_healthz_answers_while_the_process_is_up(probe_client: Probe) -> None:
    response = probe_client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_postgresql_and_redis_answer(probe_client: Probe) -> None:
    response = probe_client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_names_redis_when_redis_does_not_answer(probe_client: Probe) -> None:
    response = probe_client(redis_factory=_unreachable_redis).get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "redis": "failed"}
    assert body["error"] == {"code": "not_ready", "message": "Unreachable: redis."}


def test_readyz_names_the_database_when_postgresql_does_not_answer(
    probe_client: Probe, api_settings: Settings
) -> None:
    missing_database = api_settings.database_url.rsplit("/", 1)[0] + "/no_such_database"

    response = probe_client({"database_url": missing_database}).get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "failed", "redis": "ok"}


def test_a_v1_request_while_the_database_is_down_is_503_not_a_crash(
    probe_client: Probe, api_settings: Settings
) -> None:
    missing_database = api_settings.database_url.rsplit("/", 1)[0] + "/no_such_database"
    client = probe_client({"database_url": missing_database})

    response = client.get(
        "/v1/billing-accounts/ba_1", headers={"Authorization": "Bearer test-token"}
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "5"


def test_metrics_are_prometheus_text_with_the_http_requests_counted(
    api: ApiClient, world: World
) -> None:
    api.get("/v1/billing-accounts/ba_missing")

    response = api.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'campaign_billing_http_requests_total{method="GET",'
        'route="/v1/billing-accounts/{billing_account_id}",status="404"}'
    ) in response.text


def test_the_openapi_document_describes_every_route_with_its_schemas(api: ApiClient) -> None:
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]

    # At least these (routes mounted from outside the package, the webhook, may add theirs).
    assert set(paths) >= {
        "/v1/workspaces/{workspace_id}",
        "/v1/offices/{office_id}",
        "/v1/users/{user_id}",
        "/v1/users/{user_id}/billing-settings",
        "/v1/campaigns/{campaign_id}",
        "/v1/campaigns/{campaign_id}/publish",
        "/v1/billing-accounts",
        "/v1/billing-accounts/{billing_account_id}",
        "/v1/publish-requests/{publish_request_id}",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    error_ref = "#/components/schemas/ErrorResponse"
    for path, operations in paths.items():
        if path.startswith("/webhooks/"):
            continue
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if method in ("put", "post") and path != "/v1/campaigns/{campaign_id}/publish":
                assert "requestBody" in operation, where
            success = operation["responses"].get("200") or operation["responses"].get("201")
            assert success is not None, where
            if path.startswith("/v1/"):
                assert operation["security"] == [{"HTTPBearer": []}], where
                for status in ("401", "413", "415", "422"):
                    schema = operation["responses"][status]["content"]["application/json"]
                    assert schema["schema"]["$ref"] == error_ref, (where, status)
    publish = paths["/v1/campaigns/{campaign_id}/publish"]["post"]["responses"]
    assert {"200", "202", "404", "409"} <= set(publish)
    assert "64 KiB" in spec["info"]["description"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
