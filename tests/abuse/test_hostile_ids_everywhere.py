"""Quotes, SQL fragments, unicode and very long strings in every id parameter of every
operation the OpenAPI document lists, path and query alike, found from the document itself so
that a route added later is covered without a change here: always a 4xx in the error shape,
never a 5xx. (tests/integration/api/test_api_validation.py covers body fields and the ids of the
routes it names.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI

from tests.integration.api.api_harness import TOKEN, ApiClient, World

HOSTILE = {
    "quote": "'",
    "sql": "x'; DROP TABLE campaigns; --",
    "sql or": "' OR '1'='1",
    "unicode": "Zoë 🏠 東京",
    "right-to-left override": "\u202eevil",
    "nul": "a\x00b",
    "newline": "a\nb",
    "very long": "a" * 10_000,
    "path traversal": "../../etc/passwd",
    "percent escapes": "%00%2F",
}
VALID = {"month": "2026-12"}


def _id_parameters(app: FastAPI) -> Iterator[tuple[str, str, str, str, list[str]]]:
    """(method, path template, location, name, every path parameter) for each id parameter."""
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            in_path = [p["name"] for p in parameters if p["in"] == "path"]
            for parameter in parameters:
                if parameter["in"] in ("path", "query") and parameter["name"].endswith("id"):
                    yield method.upper(), path, parameter["in"], parameter["name"], in_path


def _request(
    method: str, path: str, location: str, name: str, in_path: list[str], value: str, world: World
) -> tuple[str, dict[str, str]]:
    """The URL with `value` in the parameter under test and real ids everywhere else."""
    real = {"office_id": world.office_a, "actor_id": world.admin_a}
    url = path
    for parameter in in_path:
        filler = value if (location, parameter) == ("path", name) else world.campaign_a
        url = url.replace("{" + parameter + "}", quote(filler, safe=""))
    query = {**VALID, **real}
    if location == "query":
        query[name] = value
    return url, query


def test_every_id_parameter_refuses_hostile_strings_with_a_4xx(
    app: FastAPI, client_for: Callable[[str | None], ApiClient], world: World
) -> None:
    api = client_for(TOKEN)
    parameters = list(_id_parameters(app))
    problems = []
    for method, path, location, name, in_path in parameters:
        for label, value in HOSTILE.items():
            url, query = _request(method, path, location, name, in_path, value, world)
            body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
            response = api.request(method, url, params=query, json=body)
            if not 400 <= response.status_code < 500:
                problems.append(f"{method} {path} {name}={label}: {response.status_code}")
            elif not isinstance(response.json().get("error", {}).get("code"), str):
                problems.append(f"{method} {path} {name}={label}: no error shape")

    assert len(parameters) >= 10  # the document was read: every route with an id
    assert problems == []
