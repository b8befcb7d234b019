"""Opening and reading billing accounts.

Opening one is two writes around a Stripe call, in this order, so that a crash or a Stripe
outage at any point leaves something the same request can finish:

1. the account row, `pending_setup` and without a customer, committed;
2. the Stripe customer, created under the key `billing_account:{id}:customer`, derived from the
   row, so every retry of this account reuses it and Stripe answers with the same customer
   (https://docs.stripe.com/api/idempotent_requests);
3. the customer's id saved on the row.

Asking again for the same owner finds the row of step 1 and completes whatever step is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import AccountStatus, BillingAccount, OwnerType
from campaign_billing.ids import new_id

UowFactory = Callable[[], UnitOfWork]


class CustomerGateway(Protocol):
    """The part of the payment provider that opening an account needs (`StripeGateway` is one)."""

    def create_customer(
        self, *, name: str, email: str | None, metadata: Mapping[str, str], idempotency_key: str
    ) -> str: ...


class OwnerNotFound(Exception):
    """Raised when the office or agent asked to own a billing account is not known in the
    workspace."""

    code = "owner_not_found"

    def __init__(self, owner_type: OwnerType, owner_id: str) -> None:
        kind = "Office" if owner_type is OwnerType.OFFICE else "User"
        super().__init__(
            f"{kind} {owner_id} was not found, so no billing account can be opened for it."
        )


class OwnerNotAgent(Exception):
    """Raised when an agent billing account is asked for a user who is an admin: only agents pay
    for campaigns themselves (an admin's campaigns are billed to an office or to an agent)."""

    code = "owner_not_agent"

    def __init__(self, user_name: str, user_id: str) -> None:
        super().__init__(
            f"User {user_name} ({user_id}) is an admin, not an agent: agent billing accounts "
            'belong to agents. Open an office billing account instead (owner_type "office").'
        )


@dataclass(frozen=True, slots=True)
class OpenedAccount:
    account: BillingAccount
    # False when the owner already had an account (a retried or repeated request).
    created: bool


@dataclass(frozen=True, slots=True)
class _Owner:
    """What Stripe is told about the payer, so the customer is recognisable in its dashboard."""

    name: str
    email: str | None


def customer_idempotency_key(billing_account_id: str) -> str:
    return f"billing_account:{billing_account_id}:customer"


def open_billing_account(
    uow_factory: UowFactory,
    customers: CustomerGateway,
    *,
    workspace_id: str,
    owner_type: OwnerType,
    owner_id: str,
) -> OpenedAccount:
    """Opens the owner's billing account (status `pending_setup`) with its Stripe customer, or
    returns the one the owner has, completing a customer that a failed attempt left missing.

    Raises `OwnerNotFound`, `OwnerNotAgent`, and whatever the gateway raises (Stripe
    unreachable or refusing): the account is then kept without a customer, and the same request
    made again completes it under the same idempotency key.
    """
    account, owner, created = _find_or_add(uow_factory, workspace_id, owner_type, owner_id)
    if account.stripe_customer_id is None:
        customer_id = customers.create_customer(
            name=owner.name,
            email=owner.email,
            metadata={
                "billing_account_id": account.id,
                "workspace_id": account.workspace_id,
                "owner_type": account.owner_type.value,
                "owner_id": account.owner_id,
            },
            idempotency_key=customer_idempotency_key(account.id),
        )
        with uow_factory() as uow:
            uow.accounts.set_customer(account.id, customer_id)
            uow.commit()
        account = replace(account, stripe_customer_id=customer_id)
    return OpenedAccount(account, created)


def get_billing_account(
    uow_factory: UowFactory, workspace_id: str, billing_account_id: str
) -> BillingAccount | None:
    with uow_factory() as uow:
        return uow.accounts.get(workspace_id, billing_account_id)


def _find_or_add(
    uow_factory: UowFactory, workspace_id: str, owner_type: OwnerType, owner_id: str
) -> tuple[BillingAccount, _Owner, bool]:
    # Two concurrent requests for one owner both find no account; the unique owner columns let
    # one insert win, and the loser, retrying, finds the winner's account.
    try:
        return _find_or_add_once(uow_factory, workspace_id, owner_type, owner_id)
    except IntegrityError:
        return _find_or_add_once(uow_factory, workspace_id, owner_type, owner_id)


def _find_or_add_once(
    uow_factory: UowFactory, workspace_id: str, owner_type: OwnerType, owner_id: str
) -> tuple[BillingAccount, _Owner, bool]:
    with uow_factory() as uow:
        owner = _load_owner(uow, workspace_id, owner_type, owner_id)
        existing = uow.accounts.for_owner(owner_type, owner_id)
        if existing is not None:
            return existing, owner, False
        account = BillingAccount(
            id=new_id("ba"),
            workspace_id=workspace_id,
            owner_type=owner_type,
            owner_id=owner_id,
            status=AccountStatus.PENDING_SETUP,
            stripe_customer_id=None,
        )
        uow.accounts.add(account)
        uow.commit()
        return account, owner, True


def _load_owner(uow: UnitOfWork, workspace_id: str, owner_type: OwnerType, owner_id: str) -> _Owner:
    if owner_type is OwnerType.OFFICE:
        office = uow.directory.get_office(workspace_id, owner_id)
        if office is None:
            raise OwnerNotFound(owner_type, owner_id)
        return _Owner(name=office.name, email=None)
    user = uow.directory.get_user(workspace_id, owner_id)
    if user is None:
        raise OwnerNotFound(owner_type, owner_id)
    if not user.is_agent:
        raise OwnerNotAgent(user.name, user.id)
    return _Owner(name=user.name, email=user.email)
