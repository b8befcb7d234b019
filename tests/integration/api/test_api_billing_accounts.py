"""Opening billing accounts (with a Stripe customer gateway of our own) and reading them."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine, text

from campaign_billing.adapters.stripe_gateway import TransientStripeError
from campaign_billing.domain.model import OwnerType
from campaign_billing.wiring import Container

from .api_harness import ApiClient, RecordingCustomers, World, save_card


def test_opening_an_agent_account_creates_it_pending_with_its_stripe_customer(
    api: ApiClient, world: World, customers: RecordingCustomers
) -> None:
    response = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_a}
    )

    assert response.status_code == 201
    account = response.json()
    assert account["status"] == "pending_setup"
    assert account["owner_type"] == "agent"
    assert account["owner_id"] == world.agent_a
    assert account["workspace_id"] == world.ws_a
    assert account["payment_methods"] == []
    assert customers.calls == [
        {
            "name": "Jane Doe",
            "email": f"{world.agent_a}@example.com",
            "metadata": {
                "billing_account_id": account["id"],
                "workspace_id": world.ws_a,
                "owner_type": "agent",
                "owner_id": world.agent_a,
            },
            "idempotency_key": f"billing_account:{account['id']}:customer",
        }
    ]
    assert account["stripe_customer_id"].startswith("cus_")


def test_opening_an_office_account_names_the_office_at_stripe(
    api: ApiClient, world: World, customers: RecordingCustomers
) -> None:
    response = api.post(
        "/v1/billing-accounts", json={"owner_type": "office", "owner_id": world.office_a}
    )

    assert response.status_code == 201
    assert response.json()["owner_type"] == "office"
    assert customers.calls[0]["name"] == "Downtown ws_a"
    assert customers.calls[0]["email"] is None


def test_asking_again_for_the_same_owner_returns_the_existing_account_without_stripe(
    api: ApiClient, world: World, customers: RecordingCustomers
) -> None:
    body = {"owner_type": "agent", "owner_id": world.agent_a}
    first = api.post("/v1/billing-accounts", json=body)

    again = api.post("/v1/billing-accounts", json=body)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(customers.calls) == 1


def test_a_stripe_outage_keeps_the_account_and_a_retry_completes_it_under_the_same_key(
    api: ApiClient, world: World, customers: RecordingCustomers, engine: Engine
) -> None:
    customers.failures.append(
        TransientStripeError(ConnectionError("connection reset"), executed_maybe=True)
    )
    body = {"owner_type": "agent", "owner_id": world.agent_a}

    outage = api.post("/v1/billing-accounts", json=body)
    with engine.connect() as connection:
        kept = connection.execute(
            text("SELECT id, status, stripe_customer_id FROM billing_accounts")
        ).one()
    retry = api.post("/v1/billing-accounts", json=body)

    assert outage.status_code == 503
    assert outage.json()["error"]["code"] == "payment_provider_unavailable"
    assert outage.headers["Retry-After"] == "5"
    assert (kept.status, kept.stripe_customer_id) == ("pending_setup", None)
    assert retry.status_code == 200
    assert retry.json()["id"] == kept.id
    assert retry.json()["stripe_customer_id"].startswith("cus_")
    keys = {call["idempotency_key"] for call in customers.calls}
    assert keys == {f"billing_account:{kept.id}:customer"}
    assert len(customers.calls) == 2


def test_the_real_gateway_answers_503_when_stripe_cannot_be_reached(
    app: FastAPI, api: ApiClient, world: World
) -> None:
    # The container's Stripe base points at a closed port, with one attempt per call.
    app.dependency_overrides.clear()

    response = api.post(
        "/v1/billing-accounts", json={"owner_type": "office", "owner_id": world.office_a}
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payment_provider_unavailable"


def test_an_admin_cannot_own_an_agent_billing_account(api: ApiClient, world: World) -> None:
    response = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.admin_a}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "owner_not_agent"
    assert "Ann Admin" in error["message"]


def test_an_unknown_owner_is_not_found(api: ApiClient, world: World) -> None:
    response = api.post("/v1/billing-accounts", json={"owner_type": "office", "owner_id": "nope"})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "owner_not_found"


def test_an_owner_outside_the_workspace_the_body_names_is_not_found(
    api: ApiClient, world: World, customers: RecordingCustomers
) -> None:
    response = api.post(
        "/v1/billing-accounts",
        json={"owner_type": "agent", "owner_id": world.agent_b, "workspace_id": world.ws_a},
    )

    assert response.status_code == 404
    assert customers.calls == []


def test_reading_an_account_shows_its_payment_methods(
    api: ApiClient, world: World, container: Container
) -> None:
    opened = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_a}
    ).json()
    save_card(container, opened["id"])

    response = api.get(f"/v1/billing-accounts/{opened['id']}")

    assert response.status_code == 200
    assert response.json() == {
        "id": opened["id"],
        "workspace_id": world.ws_a,
        "owner_type": OwnerType.AGENT.value,
        "owner_id": world.agent_a,
        "status": "pending_setup",
        "stripe_customer_id": opened["stripe_customer_id"],
        "payment_methods": [
            {
                "id": "pm_row_1",
                "stripe_payment_method_id": "pm_card_visa",
                "brand": "visa",
                "last4": "4242",
                "exp_month": 12,
                "exp_year": 2034,
                "status": "active",
                "is_default": True,
            }
        ],
    }


def test_an_unknown_account_is_not_found(api: ApiClient) -> None:
    response = api.get("/v1/billing-accounts/ba_missing")

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Billing account ba_missing was not found.",
    }
