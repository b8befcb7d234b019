"""Billing accounts: opening one for an office or an agent, and reading one with its cards."""

from __future__ import annotations

from fastapi import APIRouter, Response

from campaign_billing.api.dependencies import (
    V1,
    CallerDep,
    ContainerDep,
    CustomerGatewayDep,
    PathId,
)
from campaign_billing.api.errors import not_found
from campaign_billing.api.schemas import (
    BillingAccountIn,
    BillingAccountOut,
    ErrorResponse,
    SetupSessionIn,
    SetupSessionOut,
    error_responses,
)
from campaign_billing.domain.model import OwnerType
from campaign_billing.services import accounts, billing_setup, directory
from campaign_billing.services.directory import RowKind

router = APIRouter(prefix=V1, tags=["billing accounts"])

_OWNER_ROWS = {OwnerType.OFFICE: RowKind.OFFICE, OwnerType.AGENT: RowKind.USER}


@router.post(
    "/billing-accounts",
    status_code=201,
    summary="Open a billing account for an office or an agent",
    description=(
        "Opens the owner's account (`pending_setup` until a payment method is saved) and its "
        "Stripe customer. Safe to repeat: asking again for the same owner answers 200 with the "
        "existing account, and completes its Stripe customer if an earlier attempt could not."
    ),
    responses={
        200: {"model": BillingAccountOut, "description": "The owner already had this account."},
        404: {"model": ErrorResponse, "description": "No such owner (`owner_not_found`)."},
        **error_responses(422, 502, 503),
    },
)
def open_billing_account(
    body: BillingAccountIn,
    response: Response,
    caller: CallerDep,
    container: ContainerDep,
    customers: CustomerGatewayDep,
) -> BillingAccountOut:
    owner = body.owner
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, _OWNER_ROWS[owner], body.owner_id)
    )
    if workspace_id is None or body.workspace_id not in (None, workspace_id):
        # Absent, or in a workspace the caller may not see or did not name: the same answer.
        raise accounts.OwnerNotFound(owner, body.owner_id)
    opened = accounts.open_billing_account(
        container.uow,
        customers,
        workspace_id=workspace_id,
        owner_type=owner,
        owner_id=body.owner_id,
    )
    if not opened.created:
        response.status_code = 200
    return BillingAccountOut.of(opened.account)


@router.get(
    "/billing-accounts/{billing_account_id}",
    summary="Read a billing account and its payment methods",
    responses=error_responses(404),
)
def get_billing_account(
    billing_account_id: PathId, caller: CallerDep, container: ContainerDep
) -> BillingAccountOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.BILLING_ACCOUNT, billing_account_id)
    )
    account = (
        accounts.get_billing_account(container.uow, workspace_id, billing_account_id)
        if workspace_id is not None
        else None
    )
    if account is None:
        raise not_found("Billing account", billing_account_id)
    return BillingAccountOut.of(account)


@router.post(
    "/billing-accounts/{billing_account_id}/setup-session",
    summary='"Continue to Stripe": a Checkout Session in setup mode to save a card',
    description=(
        "The cardholder saves a card on Stripe's page; Stripe's webhook then saves the payment "
        "method here and activates the account. Safe to repeat with the same URLs."
    ),
    responses=error_responses(404, 409, 502, 503),
)
def create_setup_session(
    billing_account_id: PathId,
    body: SetupSessionIn,
    caller: CallerDep,
    container: ContainerDep,
) -> SetupSessionOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.BILLING_ACCOUNT, billing_account_id)
    )
    if workspace_id is None:
        raise not_found("Billing account", billing_account_id)
    session = billing_setup.create_setup_session(
        container.uow,
        container.gateway,
        workspace_id=workspace_id,
        account_id=billing_account_id,
        success_url=body.success_url,
        cancel_url=body.cancel_url,
    )
    return SetupSessionOut(url=session["url"], session_id=session["session_id"])
