"""Bad input is a 4xx in the error shape, never a 5xx: hostile strings in every id and body
field, wrong types, oversized and non-JSON bodies."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from .api_harness import ApiClient, World, campaign_body

HOSTILE_STRINGS = {
    "quote": "'",
    "double quote": '"',
    "sql": "x'; DROP TABLE campaigns; --",
    "sql or": "' OR '1'='1",
    "unicode": "Zoë 🏠 東京",
    "right-to-left override": "\u202eevil",
    "nul": "a\x00b",
    "lone surrogate": "\ud800",
    "newline": "a\nb",
    "10 kB": "a" * 10_000,
    "empty": "",
    "blank": "   ",
    "path traversal": "../../etc/passwd",
    "percent escapes": "%00%2F",
}
WRONG_TYPES: dict[str, Any] = {
    "number": 12345,
    "float": 1.5,
    "negative": -1,
    "boolean": True,
    "null": None,
    "list": ["a"],
    "object": {"a": 1},
}
HOSTILE_VALUES: dict[str, Any] = {**HOSTILE_STRINGS, **WRONG_TYPES}


def _world_routes(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route with a JSON body, with a body it accepts."""
    return [
        ("PUT", f"/v1/workspaces/{world.ws_a}", {"name": "Acme"}),
        ("PUT", f"/v1/offices/{world.office_a}", {"workspace_id": world.ws_a, "name": "Downtown"}),
        (
            "PUT",
            f"/v1/users/{world.agent_a}",
            {
                "workspace_id": world.ws_a,
                "name": "Jane Doe",
                "email": "jane@example.com",
                "role": "agent",
                "office_id": world.office_a,
            },
        ),
        ("PUT", f"/v1/users/{world.agent_a}/billing-settings", {"allow_admin_invoicing": True}),
        (
            "PUT",
            f"/v1/campaigns/{world.campaign_a}",
            campaign_body(
                world.ws_a,
                world.office_a,
                world.agent_a,
                billing={
                    "type": "agent",
                    "billing_user_id": world.agent_a,
                    "payment_method_id": "pm_1",
                },
            ),
        ),
        ("POST", "/v1/billing-accounts", {"owner_type": "office", "owner_id": world.office_a}),
    ]


def _fields(body: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in body.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _fields(value, (*prefix, key))


def _with(body: dict[str, Any], field: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = value
    return changed


def _send_json(api: ApiClient, method: str, url: str, body: dict[str, Any]) -> httpx.Response:
    # ASCII-escaped JSON: the only way to send a lone surrogate, as a hostile client would.
    return api.request(
        method, url, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


def _problem(response: httpx.Response) -> str | None:
    """What is wrong with the answer to bad input, or None when it is a proper one."""
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:200]}"
    if response.status_code >= 400:
        error = response.json().get("error", {})
        if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
            return f"{response.status_code} without the error shape: {response.text[:200]}"
        if error["code"] in ("unstorable_value", "conflict"):
            return f"validation let it through to the database ({error['code']})"
    return None


def test_the_valid_bodies_of_this_module_are_accepted(api: ApiClient, world: World) -> None:
    for method, url, body in _world_routes(world):
        response = api.request(method, url, json=body)
        assert response.status_code in (200, 201), (url, response.text)


@pytest.mark.parametrize("route_index", range(6), ids=lambda i: f"route{i}")
def test_hostile_values_in_any_body_field_are_answered_4xx_never_5xx(
    api: ApiClient, world: World, route_index: int
) -> None:
    method, url, body = _world_routes(world)[route_index]
    problems = []
    for field in _fields(body):
        for name, value in HOSTILE_VALUES.items():
            response = _send_json(api, method, url, _with(body, field, value))
            problem = _problem(response)
            hostile_id = field[-1].endswith("_id") and name in HOSTILE_STRINGS
            if problem is None and hostile_id and response.status_code != 422:
                problem = f"an id field accepted it ({response.status_code})"
            if problem:
                problems.append(f"{'.'.join(field)} = {name}: {problem}")

    assert problems == []


def test_hostile_values_in_any_path_id_are_answered_4xx_never_5xx(
    api: ApiClient, world: World
) -> None:
    templates = [
        ("PUT", "/v1/workspaces/{}", {"name": "Acme"}),
        ("PUT", "/v1/offices/{}", {"workspace_id": world.ws_a, "name": "Downtown"}),
        ("PUT", "/v1/users/{}/billing-settings", {"allow_admin_invoicing": True}),
        ("PUT", "/v1/campaigns/{}", campaign_body(world.ws_a, world.office_a, world.agent_a)),
        ("GET", "/v1/billing-accounts/{}", None),
        ("GET", "/v1/publish-requests/{}", None),
        ("POST", "/v1/campaigns/{}/publish", None),
    ]
    problems = []
    for method, template, body in templates:
        for name, value in HOSTILE_STRINGS.items():
            if name in ("lone surrogate", "empty"):
                continue  # cannot be written in a URL; an empty id is another route
            url = template.format(quote(value, safe=""))
            response = api.request(method, url, json=body)
            problem = _problem(response) or (
                None if response.status_code in (404, 422) else f"got {response.status_code}"
            )
            if problem:
                problems.append(f"{method} {template} with {name}: {problem}")
        invalid_utf8 = api.request(method, template.format("%ED%A0%80"), json=body)
        if invalid_utf8.status_code not in (404, 422):
            problems.append(f"{method} {template} with invalid UTF-8: {invalid_utf8.status_code}")

    assert problems == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", -100),
        ("amount", 1.5),
        ("amount", "100"),
        ("amount", True),
        ("amount", 10**30),
        ("currency", "usdd"),
        ("currency", "US"),
        ("currency", "€€€"),
        ("version", "v3"),
        ("version", "V2"),
        ("billing", {"type": "OFFICE"}),
        ("billing", {"type": "agent ", "billing_user_id": "agent_a"}),
        ("billing", {}),
        ("billing", "office"),
        ("billing", None),
    ],
)
def test_a_campaign_with_an_invalid_price_version_or_billing_is_a_validation_error(
    storeless: ApiClient, field: str, value: Any
) -> None:
    body = campaign_body("ws_a", "office_a", "agent_a", **{field: value})

    response = storeless.put("/v1/campaigns/campaign_a", json=body)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"].startswith(field)


def test_a_validation_error_names_each_field_and_never_echoes_the_input(
    storeless: ApiClient,
) -> None:
    secret_looking = "x" * 5000
    body = campaign_body("ws_a", "office_a", secret_looking, amount=0, version="v9")

    response = storeless.put("/v1/campaigns/campaign_a", json=body)

    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert message.startswith("The request is invalid: ")
    for field in ("created_by", "amount", "version"):
        assert f"{field}: " in message
    assert secret_looking not in response.text


def test_an_idempotency_key_that_is_not_visible_ascii_is_refused(storeless: ApiClient) -> None:
    problems = []
    for key in [b"a" * 10_000, "Zoë".encode(), b"two words", b"x'; DROP TABLE campaigns; --"]:
        response = storeless.post(
            "/v1/campaigns/campaign_a/publish", headers={"Idempotency-Key": key}
        )
        if response.status_code != 422 or _problem(response):
            problems.append(f"{key[:20]!r}: {response.status_code}")

    assert problems == []


def test_a_body_that_is_not_json_is_unsupported_media_type(storeless: ApiClient) -> None:
    response = storeless.put(
        "/v1/workspaces/ws_a", content=b"name=Acme", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_body_without_a_content_type_is_unsupported_media_type(storeless: ApiClient) -> None:
    response = storeless.put("/v1/workspaces/ws_a", content=b'{"name": "Acme"}')

    assert response.status_code == 415


def test_a_json_body_with_a_charset_is_accepted(api: ApiClient, world: World) -> None:
    response = api.put(
        f"/v1/workspaces/{world.ws_a}",
        content=b'{"name": "Acme"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "content",
    [b'{"name": ', b"[]", b'"just a string"', b"\xff\xfe", b"[" * 50_000, b"null"],
    ids=["truncated", "array", "string", "not utf-8", "deeply nested", "null"],
)
def test_a_malformed_json_body_is_a_4xx(storeless: ApiClient, content: bytes) -> None:
    response = storeless.put(
        "/v1/workspaces/ws_a",
        content=content,
        headers={"Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500
    assert _problem(response) is None


def test_a_body_larger_than_64_kib_is_refused(storeless: ApiClient) -> None:
    response = storeless.put("/v1/workspaces/ws_a", json={"name": "a" * 70_000})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_that_grows_past_64_kib_is_refused(storeless: ApiClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    response = storeless.put(
        "/v1/workspaces/ws_a",
        content=_AsyncChunks(list(chunks())),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


class _AsyncChunks:
    """A body without a Content-Length: httpx sends it chunked."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> Any:
        for chunk in self._chunks:
            yield chunk
