"""The "Add a payment method, Continue to Stripe, Save" step: a Checkout Session in setup mode
for a billing account's Stripe customer.

Nothing is stored here. The card arrives by webhook once the cardholder saves it
(`checkout.session.completed`, `setup_intent.succeeded`, `payment_method.attached`), and
services/payment_method_sync.py stores it, makes it the default if there was none and turns
the account `active`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Protocol, TypedDict

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import BillingAccount

UowFactory = Callable[[], UnitOfWork]


class SetupSessionGateway(Protocol):
    """The part of Stripe this needs (`StripeGateway` is one)."""

    def create_setup_session(
        self,
        *,
        customer_id: str,
        metadata: Mapping[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> tuple[str, str]: ...


class SetupSession(TypedDict):
    """The answer of `POST /v1/billing-accounts/{id}/setup-session` (API.md)."""

    url: str
    session_id: str


class BillingAccountNotFound(Exception):
    """Raised when the billing account asked for does not exist in the caller's workspace."""

    code = "billing_account_not_found"

    def __init__(self, account_id: str) -> None:
        super().__init__(f"Billing account {account_id} was not found.")


class BillingAccountWithoutCustomer(Exception):
    """Raised when the billing account has no Stripe customer yet (opening it could not reach
    Stripe): a card cannot be saved before there is a customer to save it on."""

    code = "billing_account_without_customer"

    def __init__(self, account_id: str) -> None:
        super().__init__(
            f"Billing account {account_id} has no Stripe customer yet, so no card can be saved "
            "on it. Create the billing account again (POST /v1/billing-accounts with the same "
            "owner): that completes it; then ask for the setup session again."
        )


def setup_session_idempotency_key(
    account: BillingAccount, success_url: str, cancel_url: str
) -> str:
    """Derived from the account, the return URLs and the cards stored on it, so that a repeated
    click (or a retried request) gets the same session while a later "add another card", once
    the previous card is stored, gets a new one. Stripe replays a key's first answer for 24
    hours (https://docs.stripe.com/api/idempotent_requests), about a session's lifetime."""
    digest = hashlib.sha256(
        "\n".join((success_url, cancel_url, str(len(account.payment_methods)))).encode()
    ).hexdigest()[:24]
    return f"billing_account:{account.id}:setup_session:{digest}"


def create_setup_session(
    uow_factory: UowFactory,
    gateway: SetupSessionGateway,
    *,
    workspace_id: str,
    account_id: str,
    success_url: str,
    cancel_url: str,
) -> SetupSession:
    """Opens a setup-mode Checkout Session on the account's customer. Raises
    `BillingAccountNotFound`, `BillingAccountWithoutCustomer`, and whatever the gateway raises
    when Stripe is unreachable or refuses."""
    with uow_factory() as uow:
        account = uow.accounts.get(workspace_id, account_id)
    if account is None:
        raise BillingAccountNotFound(account_id)
    if account.stripe_customer_id is None:
        raise BillingAccountWithoutCustomer(account_id)
    session_id, url = gateway.create_setup_session(
        customer_id=account.stripe_customer_id,
        # The webhook finds the account by its customer; the metadata is for people reading
        # Stripe's dashboard, and the fallback when a session names no customer.
        metadata={"billing_account_id": account.id, "workspace_id": account.workspace_id},
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=setup_session_idempotency_key(account, success_url, cancel_url),
    )
    return SetupSession(url=url, session_id=session_id)
