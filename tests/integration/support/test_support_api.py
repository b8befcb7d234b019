"""The support reads over HTTP: the answers' shape, the token's workspace scope, 404s and 422s."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from campaign_billing.domain.model import BillingSelection, BillingType, OwnerType
from campaign_billing.wiring import Container
from tests.integration.api.api_harness import ApiClient
from tests.integration.support.conftest import OTHER_WS_TOKEN
from tests.integration.support.situations import office_account, publish
from tests.support.world import World


def test_billing_options_answer_the_picker_with_offered_and_left_out_payers(
    api: ApiClient, world: World
) -> None:
    response = api.get(
        "/v1/billing-options", params={"actor_id": "admin_sam", "office_id": "off_1"}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["actor"] == {"id": "admin_sam", "name": "Sam Lee", "role": "admin"}
    (office,) = body["options"]
    assert (office["owner_type"], office["owner_id"], office["owner_name"]) == (
        "office",
        "off_1",
        "Downtown",
    )
    assert office["payment_methods"][0]["is_default"] is True
    assert office["payment_methods"][0]["label"].startswith("Visa ending 4242")
    (jane,) = body["unavailable"]
    assert jane["owner_id"] == "agent_jane"
    assert jane["code"] == "delegation_not_allowed"
    assert jane["remediation"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"actor_id": "admin_sam", "office_id": "off_9"}, "Office off_9 was not found."),
        ({"actor_id": "nobody", "office_id": "off_1"}, "User nobody was not found."),
    ],
)
def test_billing_options_for_an_unknown_actor_or_office_are_not_found(
    api: ApiClient, world: World, params: dict[str, str], message: str
) -> None:
    response = api.get("/v1/billing-options", params=params)
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": message}


def test_billing_options_need_both_ids(api: ApiClient, world: World) -> None:
    response = api.get("/v1/billing-options", params={"actor_id": "admin_sam"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_the_explanation_answers_with_payer_steps_and_outcome(
    api: ApiClient, container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane")
    request = publish(container, "cmp_1")

    response = api.get("/v1/campaigns/cmp_1/billing-explanation")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["campaign_id"] == "cmp_1"
    assert body["payer"]["billing_account_id"] == office_account(container).id
    assert [step["check"] for step in body["steps"]][:2] == ["campaign_version", "office"]
    assert body["outcome"]["status"] == "charged"
    assert body["outcome"]["charge"]["publish_request_id"] == request.id


def test_the_explanation_of_an_unknown_campaign_is_campaign_not_found(
    api: ApiClient, world: World
) -> None:
    response = api.get("/v1/campaigns/cmp_nope/billing-explanation")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "campaign_not_found"


def test_the_statement_answers_lines_totals_and_excluded(
    api: ApiClient, container: Container, world: World
) -> None:
    world.user("agent_jane", "Jane Doe", consent=True)
    world.account(OwnerType.AGENT, "agent_jane")
    world.campaign("cmp_office", "agent_jane", amount=1_000)
    world.campaign(
        "cmp_jane",
        "admin_sam",
        amount=2_000,
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    charged = publish(container, "cmp_office")
    publish(container, "cmp_jane")
    assert charged.charge is not None
    assert charged.charge.succeeded_at is not None
    month = charged.charge.succeeded_at.strftime("%Y-%m")

    response = api.get(
        f"/v1/billing-accounts/{office_account(container).id}/statement", params={"month": month}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["month"] == month
    assert [line["campaign_id"] for line in body["lines"]] == ["cmp_office"]
    assert body["total"] == {"usd": 1_000}
    assert [(e["campaign_id"], e["agent_name"]) for e in body["excluded"]] == [
        ("cmp_jane", "Jane Doe")
    ]


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "May 2026", "", "0000-01"])
def test_a_statement_month_that_is_not_yyyy_mm_is_a_422(
    api: ApiClient, container: Container, world: World, month: str
) -> None:
    response = api.get(
        f"/v1/billing-accounts/{office_account(container).id}/statement", params={"month": month}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_token_of_another_workspace_sees_none_of_the_support_reads(
    client_for: Callable[[str], ApiClient], container: Container, world: World
) -> None:
    world.campaign("cmp_1", "agent_jane")
    other = client_for(OTHER_WS_TOKEN)
    account_id = office_account(container).id

    answers = [
        other.get("/v1/billing-options", params={"actor_id": "admin_sam", "office_id": "off_1"}),
        other.get("/v1/campaigns/cmp_1/billing-explanation"),
        other.get(f"/v1/billing-accounts/{account_id}/statement", params={"month": "2026-05"}),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert [answer.json()["error"]["code"] for answer in answers] == [
        "not_found",
        "campaign_not_found",
        "not_found",
    ]
