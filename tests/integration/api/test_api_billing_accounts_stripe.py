"""Opening billing accounts against the project's Stripe test server, through the real gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from campaign_billing.api.app import create_app
from campaign_billing.settings import Settings
from campaign_billing.stripe_server import StripeTestServer
from campaign_billing.wiring import Container

from .api_harness import ApiClient, World


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[StripeTestServer]:
    with StripeTestServer() as server:
        yield server


@pytest.fixture
def api_settings(api_settings: Settings, stripe_server: StripeTestServer) -> Settings:
    stripe_server.control.reset()
    return api_settings.model_copy(update={"stripe_api_base": stripe_server.base_url})


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)  # the real gateway: no override


def test_opening_an_account_creates_its_customer_under_the_accounts_key(
    api: ApiClient, world: World, container: Container, stripe_server: StripeTestServer
) -> None:
    response = api.post(
        "/v1/billing-accounts", json={"owner_type": "agent", "owner_id": world.agent_a}
    )

    assert response.status_code == 201, response.text
    account = response.json()
    customer = container.stripe_client.v1.customers.retrieve(account["stripe_customer_id"])
    assert customer.name == "Jane Doe"
    assert customer.email == f"{world.agent_a}@example.com"
    assert customer.metadata["billing_account_id"] == account["id"]
    sent = stripe_server.control.requests(method="POST", path_prefix="/v1/customers")
    assert [r["idempotency_key"] for r in sent] == [f"billing_account:{account['id']}:customer"]


def test_a_customer_whose_answer_was_lost_is_found_again_by_the_retry(
    api: ApiClient, world: World, container: Container, stripe_server: StripeTestServer
) -> None:
    # Stripe creates the customer, and the answer never arrives.
    stripe_server.control.set_faults(
        commit_then_drop_share=1.0, calls=1, path_prefix="/v1/customers"
    )
    body = {"owner_type": "office", "owner_id": world.office_a}

    lost = api.post("/v1/billing-accounts", json=body)
    retry = api.post("/v1/billing-accounts", json=body)

    assert lost.status_code == 503
    assert retry.status_code == 200, retry.text
    customers = container.stripe_client.v1.customers.list().data
    assert [c.id for c in customers] == [retry.json()["stripe_customer_id"]]
    sent = stripe_server.control.requests(method="POST", path_prefix="/v1/customers")
    assert [r["outcome"] for r in sent] == ["dropped_after_commit", "replayed"]
    assert {r["idempotency_key"] for r in sent} == {
        f"billing_account:{retry.json()['id']}:customer"
    }
