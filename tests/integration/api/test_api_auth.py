"""Every /v1 route needs a bearer token, and a token limited to a workspace sees nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, text

from campaign_billing.api.app import create_app
from campaign_billing.api.auth import Caller, TokenVerifier
from campaign_billing.settings import Settings
from campaign_billing.wiring import build_container

from .api_harness import WS_A_TOKEN, ApiClient, World, campaign_body


def _v1_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every /v1 route the app serves, however its routers nest."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.137 flattened included routers into app.routes
        routes = [(getattr(r, "path", None), getattr(r, "methods", None)) for r in app.routes]
    else:
        routes = [(c.path, c.methods) for c in iter_route_contexts(app.routes)]
    return sorted(
        (method, path)
        for path, methods in routes
        if isinstance(path, str) and path.startswith("/v1/")
        for method in methods or ()
        if method != "HEAD"
    )


# Building the app connects to nothing, so the routes can be listed at collection time.
V1_ROUTES = _v1_routes(create_app(build_container(Settings(api_tokens=SecretStr("unused")))))


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "some_id", path)


def test_the_route_list_is_the_whole_v1_api() -> None:
    assert V1_ROUTES == [
        ("GET", "/v1/billing-accounts/{billing_account_id}"),
        ("GET", "/v1/billing-accounts/{billing_account_id}/statement"),
        ("GET", "/v1/billing-options"),
        ("GET", "/v1/campaigns/{campaign_id}/billing-explanation"),
        ("GET", "/v1/publish-requests/{publish_request_id}"),
        ("POST", "/v1/billing-accounts"),
        ("POST", "/v1/billing-accounts/{billing_account_id}/setup-session"),
        ("POST", "/v1/campaigns/{campaign_id}/publish"),
        ("PUT", "/v1/campaigns/{campaign_id}"),
        ("PUT", "/v1/offices/{office_id}"),
        ("PUT", "/v1/users/{user_id}"),
        ("PUT", "/v1/users/{user_id}/billing-settings"),
        ("PUT", "/v1/workspaces/{workspace_id}"),
    ]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        "Bearer test-token-but-longer",
        "Basic dGVzdC10b2tlbg==",
        "Bearer",
    ],
    ids=["none", "wrong", "prefixed", "basic", "empty"],
)
@pytest.mark.parametrize(("method", "path"), V1_ROUTES)
def test_a_v1_route_refuses_a_request_without_a_valid_token(
    storeless_for: Callable[[str | None], ApiClient],
    method: str,
    path: str,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = storeless_for(None).request(method, _concrete(path), json={}, headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.fixture
def ws_a_only(client_for: Callable[[str | None], ApiClient], world: World) -> ApiClient:
    return client_for(WS_A_TOKEN)


def test_a_limited_token_works_in_its_own_workspace(ws_a_only: ApiClient, world: World) -> None:
    office = ws_a_only.put("/v1/offices/office_a2", json={"workspace_id": "ws_a", "name": "Two"})
    published = ws_a_only.post(f"/v1/campaigns/{world.campaign_a}/publish")

    assert office.status_code == 200
    assert published.status_code == 202
    request_id = published.json()["publish_request_id"]
    assert ws_a_only.get(f"/v1/publish-requests/{request_id}").status_code == 200


def test_a_limited_token_reads_nothing_of_another_workspace(
    api: ApiClient, ws_a_only: ApiClient, world: World
) -> None:
    account_b = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_b}
    ).json()["id"]
    request_b = api.post(f"/v1/campaigns/{world.campaign_b}/publish").json()["publish_request_id"]

    account = ws_a_only.get(f"/v1/billing-accounts/{account_b}")
    request = ws_a_only.get(f"/v1/publish-requests/{request_b}")

    assert account.status_code == request.status_code == 404
    # Word for word what an account that does not exist gets.
    assert account.json() == {
        "error": {"code": "not_found", "message": f"Billing account {account_b} was not found."}
    }
    assert request.json()["error"]["code"] == "not_found"


def test_a_limited_token_changes_nothing_of_another_workspace(
    ws_a_only: ApiClient, world: World, engine: Engine
) -> None:
    publish = ws_a_only.post(f"/v1/campaigns/{world.campaign_b}/publish")
    missing = ws_a_only.post("/v1/campaigns/no_such_campaign/publish")
    settings = ws_a_only.put(
        f"/v1/users/{world.agent_b}/billing-settings", json={"allow_admin_invoicing": True}
    )
    account = ws_a_only.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_b}
    )

    assert publish.status_code == missing.status_code == 404
    assert publish.json()["error"]["code"] == missing.json()["error"]["code"]
    assert publish.json()["error"]["code"] == "campaign_not_found"
    assert settings.status_code == 404
    assert account.status_code == 404
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM publish_requests")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM billing_accounts")).scalar() == 0
        consent = connection.execute(
            text("SELECT allow_admin_invoicing FROM users WHERE id = :id"), {"id": world.agent_b}
        ).scalar()
        assert consent is False


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/workspaces/ws_b", {"name": "Taken Over"}),
        ("/v1/offices/office_b", {"workspace_id": "ws_b", "name": "Taken Over"}),
        (
            "/v1/users/agent_b",
            {
                "workspace_id": "ws_b",
                "name": "Taken Over",
                "email": "x@example.com",
                "role": "agent",
                "office_id": "office_b",
            },
        ),
        ("/v1/campaigns/campaign_b", campaign_body("ws_b", "office_b", "agent_b", amount=1)),
    ],
)
def test_a_limited_token_may_not_upsert_into_another_workspace(
    ws_a_only: ApiClient, world: World, engine: Engine, path: str, body: dict[str, object]
) -> None:
    response = ws_a_only.put(path, json=body)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    with engine.connect() as connection:
        names = connection.execute(
            text(
                "SELECT name FROM workspaces UNION ALL SELECT name FROM offices "
                "UNION ALL SELECT name FROM users"
            )
        ).scalars()
        assert "Taken Over" not in set(names)
        amount = connection.execute(
            text("SELECT amount FROM campaigns WHERE id = 'campaign_b'")
        ).scalar()
        assert amount == 15000


def test_tokens_are_parsed_with_their_workspaces() -> None:
    verifier = TokenVerifier.from_setting(" open , acme=ws_a , two=ws_a|ws_b, padded==, pad==ws_c")

    assert verifier.authenticate("open") == Caller(workspaces=None)
    assert verifier.authenticate("acme") == Caller(workspaces=frozenset({"ws_a"}))
    assert verifier.authenticate("two") == Caller(workspaces=frozenset({"ws_a", "ws_b"}))
    assert verifier.authenticate("padded==") == Caller(workspaces=None)
    assert verifier.authenticate("pad=") == Caller(workspaces=frozenset({"ws_c"}))
    assert verifier.authenticate("acme=ws_a") is None
    assert verifier.authenticate("") is None


def test_no_configured_token_refuses_everyone() -> None:
    verifier = TokenVerifier.from_setting("")

    assert not verifier.configured
    assert verifier.authenticate("") is None


@pytest.mark.parametrize("setting", ["secret-1=ws a", "secret-1=|", "=ws_a", "secret-1=ws_a|"])
def test_a_malformed_token_entry_stops_start_up_without_showing_the_token(setting: str) -> None:
    with pytest.raises(ValueError, match="API_TOKENS entry 1 is malformed") as raised:
        TokenVerifier.from_setting(setting)

    assert "secret-1" not in str(raised.value)


def test_a_grant_never_shows_its_token() -> None:
    verifier = TokenVerifier.from_setting("very-secret=ws_a")

    assert "very-secret" not in repr(verifier._grants)
