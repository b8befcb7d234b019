"""Publishing a campaign over HTTP: accepted once, answered again, never charged twice."""

from __future__ import annotations

from datetime import UTC, datetime

from campaign_billing.domain.model import Money
from campaign_billing.domain.publishing import (
    Charge,
    ChargeStatus,
    PublishStatus,
    charge_idempotency_key,
)
from campaign_billing.wiring import Container

from .api_harness import ApiClient, World, save_card
from .conftest import SentTask


def test_publishing_accepts_a_request_and_sends_its_task_after_the_commit(
    api: ApiClient, world: World, sent_tasks: list[SentTask]
) -> None:
    response = api.post(f"/v1/campaigns/{world.campaign_a}/publish")

    assert response.status_code == 202
    body = response.json()
    request_id = body["publish_request_id"]
    assert body["status"] == "queued"
    assert body["created"] is True
    assert body["campaign_id"] == world.campaign_a
    assert response.headers["Location"] == f"/v1/publish-requests/{request_id}"
    assert sent_tasks == [
        ("campaign_billing.publish", {"publish_request_id": request_id}, "publish")
    ]


def test_the_same_idempotency_key_answers_200_with_the_same_request(
    api: ApiClient, world: World, sent_tasks: list[SentTask]
) -> None:
    url = f"/v1/campaigns/{world.campaign_a}/publish"
    first = api.post(url, headers={"Idempotency-Key": "order-7"})

    again = api.post(url, headers={"Idempotency-Key": "order-7"})

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["publish_request_id"] == first.json()["publish_request_id"]
    assert again.json()["created"] is False
    assert len(sent_tasks) == 1


def test_publishing_while_a_request_is_open_answers_that_request(
    api: ApiClient, world: World, sent_tasks: list[SentTask]
) -> None:
    url = f"/v1/campaigns/{world.campaign_a}/publish"
    first = api.post(url)

    second = api.post(url, headers={"Idempotency-Key": "another-key"})

    assert second.status_code == 200
    assert second.json()["publish_request_id"] == first.json()["publish_request_id"]
    assert len(sent_tasks) == 1


def test_an_idempotency_key_of_another_campaign_is_refused(api: ApiClient, world: World) -> None:
    api.put(
        "/v1/campaigns/campaign_a2",
        json={
            "workspace_id": world.ws_a,
            "office_id": world.office_a,
            "created_by": world.agent_a,
            "version": "v2",
            "amount": 100,
            "currency": "usd",
            "billing": {"type": "office"},
        },
    )
    api.post(f"/v1/campaigns/{world.campaign_a}/publish", headers={"Idempotency-Key": "k-1"})

    response = api.post("/v1/campaigns/campaign_a2/publish", headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_an_unknown_campaign_is_campaign_not_found_with_its_remediation(
    api: ApiClient, world: World, sent_tasks: list[SentTask]
) -> None:
    response = api.post("/v1/campaigns/campaign_missing/publish")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "campaign_not_found"
    assert "campaign_missing" in error["message"]
    assert error["remediation"]
    assert error["retryable"] is False
    assert sent_tasks == []


def test_a_published_campaign_answers_the_request_that_published_it(
    api: ApiClient, world: World, container: Container, sent_tasks: list[SentTask]
) -> None:
    request_id = api.post(f"/v1/campaigns/{world.campaign_a}/publish").json()["publish_request_id"]
    with container.uow() as uow:
        uow.publishing.transition(
            request_id, from_=[PublishStatus.QUEUED], to=PublishStatus.SUCCEEDED
        )
        uow.directory.mark_published(world.campaign_a, request_id, datetime.now(UTC))
        uow.commit()

    response = api.post(f"/v1/campaigns/{world.campaign_a}/publish")

    assert response.status_code == 200
    assert response.json()["publish_request_id"] == request_id
    assert response.json()["status"] == "succeeded"
    assert len(sent_tasks) == 1


def test_publishing_again_while_a_charge_is_unreconciled_is_refused(
    api: ApiClient, world: World, container: Container
) -> None:
    account_id = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_a}
    ).json()["id"]
    save_card(container, account_id)
    request_id = api.post(f"/v1/campaigns/{world.campaign_a}/publish").json()["publish_request_id"]
    _fail_with_an_unknown_charge(container, world, request_id, account_id)

    response = api.post(f"/v1/campaigns/{world.campaign_a}/publish")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "charge_unreconciled"


def test_a_publish_request_reads_as_api_md_describes_it(
    api: ApiClient, world: World, container: Container
) -> None:
    account_id = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_a}
    ).json()["id"]
    save_card(container, account_id)
    request_id = api.post(f"/v1/campaigns/{world.campaign_a}/publish").json()["publish_request_id"]
    _fail_with_an_unknown_charge(container, world, request_id, account_id)

    response = api.get(f"/v1/publish-requests/{request_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == request_id
    assert body["campaign_id"] == world.campaign_a
    assert body["status"] == "failed"
    assert body["failure"]["code"] == "payment_provider_unavailable"
    assert body["failure"]["retryable"] is True
    assert body["created_at"] <= body["updated_at"]  # the view's extra fields pass through
    assert body["charge"] == {
        "amount": 15000,
        "currency": "usd",
        "billing_account_id": account_id,
        "stripe_payment_intent_id": None,
        "status": "unknown",
    }


def test_an_unknown_publish_request_is_not_found(api: ApiClient) -> None:
    response = api.get("/v1/publish-requests/pr_missing")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def _fail_with_an_unknown_charge(
    container: Container, world: World, request_id: str, account_id: str
) -> None:
    """What a worker leaves when Stripe never answered: the request failed, its charge unknown."""
    with container.uow() as uow:
        uow.publishing.add_charge(
            Charge(
                id="chg_1",
                publish_request_id=request_id,
                campaign_id=world.campaign_a,
                billing_account_id=account_id,
                payment_method_id="pm_row_1",
                price=Money(15000, "usd"),
                idempotency_key=charge_idempotency_key(request_id),
                status=ChargeStatus.UNKNOWN,
                stripe_payment_intent_id=None,
            ),
            world.ws_a,
        )
        uow.publishing.transition(
            request_id,
            from_=[PublishStatus.QUEUED],
            to=PublishStatus.FAILED,
            failure={
                "code": "payment_provider_unavailable",
                "message": "Stripe could not be reached.",
                "remediation": "Publish again in a few minutes.",
                "retryable": True,
            },
        )
        uow.commit()
