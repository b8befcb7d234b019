"""Schemathesis over `/openapi.json`: every operation, fed what its schema allows and what it
does not, never answers 5xx, and answers only what its schema documents (status, content type,
body shape). The app runs in-process on the test database, the Stripe test server behind it,
with two workspaces stored, so that generated ids sometimes name real rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from campaign_billing.api.app import create_app
from campaign_billing.settings import Settings
from campaign_billing.wiring import build_container
from tests.integration.api.api_harness import TOKEN, World


class _AppOfTheTest:
    """The ASGI app schemathesis calls: the schema is read at collection from an app that
    connects to nothing, then each test points it at that test's app (its database, its
    Stripe test server)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


TARGET = _AppOfTheTest(create_app(build_container(Settings(api_tokens=SecretStr(TOKEN)))))
schema = schemathesis.openapi.from_asgi("/openapi.json", TARGET)


@pytest.fixture(autouse=True)
def _this_tests_app(app: FastAPI, world: World) -> Iterator[None]:
    unconfigured = TARGET.app
    TARGET.app = app
    yield
    TARGET.app = unconfigured


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_5xx_or_outside_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
