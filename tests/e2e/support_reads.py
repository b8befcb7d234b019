"""The support reads as a support agent calls them over HTTP, for the end-to-end tests."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Api
from tests.e2e.platform import OFFICE


def _get(api: Api, path: str, **params: str) -> dict[str, Any]:
    response = api.http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def billing_options(api: Api, actor_id: str, office_id: str = OFFICE) -> dict[str, Any]:
    return _get(api, "/v1/billing-options", actor_id=actor_id, office_id=office_id)


def explanation(api: Api, campaign_id: str) -> dict[str, Any]:
    return _get(api, f"/v1/campaigns/{campaign_id}/billing-explanation")


def statement(api: Api, billing_account_id: str, month: str) -> dict[str, Any]:
    return _get(api, f"/v1/billing-accounts/{billing_account_id}/statement", month=month)


def offered(options: dict[str, Any]) -> list[str]:
    """The owner ids the picker offers, in its order."""
    return [option["owner_id"] for option in options["options"]]


def left_out(options: dict[str, Any], owner_id: str) -> dict[str, Any]:
    """The payer the picker leaves out, with its code and message."""
    found: list[dict[str, Any]] = [
        item for item in options["unavailable"] if item["owner_id"] == owner_id
    ]
    assert len(found) == 1, options
    return found[0]


def charge_month(api: Api, campaign_id: str) -> str:
    """The UTC month (YYYY-MM) a published campaign's charge is dated in, as the explanation
    records it (never the test's clock: a run may cross midnight at the end of a month)."""
    charged_at = explanation(api, campaign_id)["outcome"]["charge"]["charged_at"]
    assert isinstance(charged_at, str)
    return charged_at[:7]
