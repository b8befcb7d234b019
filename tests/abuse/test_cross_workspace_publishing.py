"""An actor of workspace A never charges anything of workspace B: a campaign of A that names
B's agent, B's card or B's people is stored (upstream apps may sync anything) but publishing
it ends in a failure that says why, with no Stripe call on B's customer. Run through the real
pipeline: the HTTP accept with A's limited token, then the worker's use case against the
Stripe test server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from campaign_billing.domain.model import BillingAccount, OwnerType
from campaign_billing.services.publishing import process_publish_request
from campaign_billing.stripe_server import StripeTestServer
from campaign_billing.wiring import Container
from tests.integration.api.api_harness import TOKEN, WS_A_TOKEN, ApiClient, World
from tests.support.world import World as StripeWorld


@pytest.fixture
def accounts(container: Container, world: World) -> dict[str, BillingAccount]:
    """Both agents can pay: an active account with a Visa on the Stripe test server, and
    consent to be billed by admins."""
    opened = {}
    for workspace, agent in ((world.ws_a, world.agent_a), (world.ws_b, world.agent_b)):
        stripe_world = StripeWorld(container, container.stripe_client, workspace_id=workspace)
        opened[agent] = stripe_world.account(OwnerType.AGENT, agent)
        with container.uow() as uow:
            uow.directory.set_admin_invoicing(workspace, agent, True)
            uow.commit()
    return opened


def _campaign_of_a(world: World, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "workspace_id": world.ws_a,
        "office_id": world.office_a,
        "created_by": world.admin_a,
        "version": "v2",
        "amount": 25_000,
        "currency": "usd",
        "billing": {"type": "agent", "billing_user_id": world.agent_a},
    }
    body.update(changes)
    return body


def _b_agent(world: World, _: dict[str, BillingAccount]) -> dict[str, Any]:
    return _campaign_of_a(world, billing={"type": "agent", "billing_user_id": world.agent_b})


def _b_card_by_our_id(world: World, accounts: dict[str, BillingAccount]) -> dict[str, Any]:
    card = accounts[world.agent_b].payment_methods[0].id
    return _campaign_of_a(
        world,
        billing={"type": "agent", "billing_user_id": world.agent_a, "payment_method_id": card},
    )


def _b_card_by_stripe_id(world: World, accounts: dict[str, BillingAccount]) -> dict[str, Any]:
    card = accounts[world.agent_b].payment_methods[0].stripe_payment_method_id
    return _campaign_of_a(
        world,
        billing={"type": "agent", "billing_user_id": world.agent_a, "payment_method_id": card},
    )


def _b_agent_creates_it(world: World, _: dict[str, BillingAccount]) -> dict[str, Any]:
    return _campaign_of_a(
        world,
        created_by=world.agent_b,
        billing={"type": "agent", "billing_user_id": world.agent_b},
    )


CASES: dict[str, tuple[Callable[[World, dict[str, BillingAccount]], dict[str, Any]], str]] = {
    "bills B's agent": (_b_agent, "billing_user_invalid"),
    "bills B's card by our id": (_b_card_by_our_id, "payment_method_not_on_account"),
    "bills B's card by Stripe's id": (_b_card_by_stripe_id, "payment_method_not_on_account"),
    "is created by B's agent for B's agent": (_b_agent_creates_it, "billing_user_invalid"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_campaign_of_workspace_a_never_charges_workspace_b(
    case: str,
    client_for: Callable[[str | None], ApiClient],
    container: Container,
    world: World,
    accounts: dict[str, BillingAccount],
    stripe_server: StripeTestServer,
) -> None:
    build, code = CASES[case]
    stored = client_for(TOKEN).put("/v1/campaigns/campaign_a9", json=build(world, accounts))
    assert stored.status_code == 200, stored.text

    accepted = client_for(WS_A_TOKEN).post("/v1/campaigns/campaign_a9/publish")
    assert accepted.status_code == 202, accepted.text
    request_id = accepted.json()["publish_request_id"]
    status = process_publish_request(
        container.uow, container.gateway, container.publish_settings, request_id
    )

    outcome = client_for(WS_A_TOKEN).get(f"/v1/publish-requests/{request_id}").json()
    assert status is not None
    assert (status.value, outcome["failure"]["code"]) == ("failed", code)
    assert outcome["charge"] is None
    customer_b = accounts[world.agent_b].stripe_customer_id
    assert [i for i in stripe_server.control.ledger() if i["customer"] == customer_b] == []


def test_the_same_campaign_billed_inside_workspace_a_is_charged_there(
    client_for: Callable[[str | None], ApiClient],
    container: Container,
    world: World,
    accounts: dict[str, BillingAccount],
    stripe_server: StripeTestServer,
) -> None:
    """The control case: the setup above can charge, so the refusals are the rules'."""
    client_for(TOKEN).put("/v1/campaigns/campaign_a9", json=_campaign_of_a(world))
    request_id = (
        client_for(WS_A_TOKEN)
        .post("/v1/campaigns/campaign_a9/publish")
        .json()["publish_request_id"]
    )

    status = process_publish_request(
        container.uow, container.gateway, container.publish_settings, request_id
    )

    assert status is not None
    assert status.value == "succeeded"
    [intent] = stripe_server.control.ledger()
    assert intent["customer"] == accounts[world.agent_a].stripe_customer_id
