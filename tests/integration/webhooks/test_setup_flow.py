"""The "Add a payment method, Continue to Stripe, Save" flow end to end: the setup session, the
cardholder saving a card on the Stripe test server, its webhooks signed and delivered to our
endpoint and processed by a real Celery worker, then a publish that charges the saved card."""

from __future__ import annotations

import pytest

from campaign_billing.adapters.repositories.stripe_events import StripeEventStatus
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    BillingSelection,
    BillingType,
    OwnerType,
)
from campaign_billing.domain.publishing import ChargeStatus, PublishStatus
from campaign_billing.services import publishing
from campaign_billing.services.billing_setup import (
    BillingAccountNotFound,
    BillingAccountWithoutCustomer,
    SetupSession,
    create_setup_session,
)
from campaign_billing.stripe_server import ControlClient
from campaign_billing.wiring import Container
from tests.integration.webhooks.webhook_harness import (
    ServedEndpoint,
    card_rows,
    outbox,
    outbox_types,
    stored_events,
    wait_until,
)
from tests.support.world import World


def _all_events_settled(container: Container, control: ControlClient) -> bool:
    control.wait_for_webhooks()
    events = stored_events(container)
    return bool(events) and all(StripeEventStatus(row.status).is_done for row in events)


def test_saving_a_card_through_checkout_activates_the_account_and_pays_the_next_publish(
    delivering: ServedEndpoint,
    celery_worker: object,
    container: Container,
    control: ControlClient,
    jane_account: BillingAccount,
    world: World,
) -> None:
    session = create_setup_session(
        container.uow,
        container.gateway,
        workspace_id=world.workspace_id,
        account_id=jane_account.id,
        success_url="https://app.example.com/billing/saved",
        cancel_url="https://app.example.com/billing",
    )
    on_stripe = container.stripe_client.v1.checkout.sessions.retrieve(session["session_id"])
    assert (on_stripe.mode, on_stripe.customer, on_stripe.url) == (
        "setup",
        jane_account.stripe_customer_id,
        session["url"],
    )

    control.complete_checkout_session(session["session_id"], card="4242424242424242")
    wait_until(lambda: _all_events_settled(container, control), what="webhooks processed")

    [card] = card_rows(container, jane_account.id)
    saved = container.stripe_client.v1.customers.payment_methods.list(
        jane_account.stripe_customer_id
    ).data[0]
    assert saved.card is not None
    assert (card.stripe_payment_method_id, card.brand, card.last4) == (saved.id, "visa", "4242")
    assert (card.exp_month, card.exp_year) == (saved.card.exp_month, saved.card.exp_year)
    assert (card.status, card.is_default) == ("active", True)
    with container.uow() as uow:
        account = uow.accounts.get(None, jane_account.id)
    assert account is not None
    assert account.status.value == "active"
    # Three events said the same thing (attached, setup_intent.succeeded, session completed);
    # the stream hears it once.
    assert sorted(outbox_types(container)) == [
        "billing_account.activated",
        "payment_method.attached",
    ]
    activated = next(r for r in outbox(container) if r.type == "billing_account.activated")
    assert activated.workspace_id == world.workspace_id
    assert activated.data["billing_account_id"] == jane_account.id

    world.campaign(
        "cmp_open_house",
        "agent_jane",
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    accepted = publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id=world.workspace_id,
        campaign_id="cmp_open_house",
        request_key=None,
    )
    status = publishing.process_publish_request(
        container.uow, container.gateway, container.publish_settings, accepted.request.id
    )

    assert status is PublishStatus.SUCCEEDED
    request = publishing.get_publish_request(container.uow, world.workspace_id, accepted.request.id)
    assert request is not None
    assert request.charge is not None
    assert request.charge.status is ChargeStatus.SUCCEEDED
    assert request.charge.payment_method_id == card.id
    intent = container.stripe_client.v1.payment_intents.retrieve(
        str(request.charge.stripe_payment_intent_id)
    )
    assert (intent.status, intent.payment_method, intent.customer) == (
        "succeeded",
        saved.id,
        jane_account.stripe_customer_id,
    )


def test_detaching_the_last_card_leaves_the_account_unable_to_pay_and_says_so(
    delivering: ServedEndpoint,
    celery_worker: object,
    container: Container,
    control: ControlClient,
    jane_account: BillingAccount,
    world: World,
) -> None:
    session = create_setup_session(
        container.uow,
        container.gateway,
        workspace_id=world.workspace_id,
        account_id=jane_account.id,
        success_url="https://app.example.com/billing/saved",
        cancel_url="https://app.example.com/billing",
    )
    control.complete_checkout_session(session["session_id"])
    wait_until(lambda: _all_events_settled(container, control), what="the card saved")
    [card] = card_rows(container, jane_account.id)

    container.stripe_client.v1.payment_methods.detach(card.stripe_payment_method_id)
    wait_until(
        lambda: (
            _all_events_settled(container, control)
            and card_rows(container, jane_account.id)[0].status == "detached"
        ),
        what="the card detached",
    )

    [detached] = card_rows(container, jane_account.id)
    assert (detached.id, detached.status, detached.is_default) == (card.id, "detached", False)
    assert outbox_types(container).count("payment_method.detached") == 1
    with container.uow() as uow:
        account = uow.accounts.get(None, jane_account.id)
    assert account is not None
    assert account.status.value == "active"

    world.campaign(
        "cmp_after_detach",
        "agent_jane",
        billing=BillingSelection(BillingType.AGENT, billing_user_id="agent_jane"),
    )
    accepted = publishing.accept_publish(
        container.uow,
        container.send_publish,
        workspace_id=world.workspace_id,
        campaign_id="cmp_after_detach",
        request_key=None,
    )
    status = publishing.process_publish_request(
        container.uow, container.gateway, container.publish_settings, accepted.request.id
    )
    assert status is PublishStatus.FAILED
    request = publishing.get_publish_request(container.uow, world.workspace_id, accepted.request.id)
    assert request is not None
    assert request.failure is not None
    assert request.failure["code"] == "payment_method_missing"


def test_a_setup_session_is_refused_for_an_account_without_a_customer(
    container: Container, world: World
) -> None:
    with container.uow() as uow:
        uow.accounts.add(
            BillingAccount(
                "ba_no_customer",
                world.workspace_id,
                OwnerType.AGENT,
                "agent_jane",
                AccountStatus.PENDING_SETUP,
                None,
            )
        )
        uow.commit()

    with pytest.raises(BillingAccountWithoutCustomer, match="no Stripe customer yet"):
        _ask(container, world.workspace_id, "ba_no_customer")


@pytest.mark.parametrize(
    ("workspace_id", "account_id"),
    [("ws_1", "ba_missing"), ("ws_other", "ba_no_customer")],
    ids=["unknown_account", "another_workspace"],
)
def test_a_setup_session_is_refused_for_an_account_the_caller_cannot_see(
    container: Container, world: World, workspace_id: str, account_id: str
) -> None:
    with container.uow() as uow:
        uow.accounts.add(
            BillingAccount(
                "ba_no_customer",
                world.workspace_id,
                OwnerType.AGENT,
                "agent_jane",
                AccountStatus.PENDING_SETUP,
                "cus_somebody",
            )
        )
        uow.commit()

    with pytest.raises(BillingAccountNotFound):
        _ask(container, workspace_id, account_id)


def test_asking_twice_for_a_setup_session_gives_the_same_session(
    container: Container, jane_account: BillingAccount, world: World
) -> None:
    first = _ask(container, world.workspace_id, jane_account.id)
    again = _ask(container, world.workspace_id, jane_account.id)

    assert again == first


def _ask(container: Container, workspace_id: str, account_id: str) -> SetupSession:
    return create_setup_session(
        container.uow,
        container.gateway,
        workspace_id=workspace_id,
        account_id=account_id,
        success_url="https://app.example.com/ok",
        cancel_url="https://app.example.com/no",
    )
