"""Loads what the billing rules need about a campaign (`PayerContext`), in one place, so that
publishing, the explanation and the billing options read the same facts."""

from __future__ import annotations

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import BillingAccount, BillingType, Campaign, OwnerType
from campaign_billing.domain.resolution import PayerContext


def load_payer_context(uow: UnitOfWork, campaign: Campaign) -> PayerContext:
    workspace_id = campaign.workspace_id
    billing_user_id = campaign.billing.billing_user_id
    billing_user = (
        uow.directory.get_user(workspace_id, billing_user_id)
        if campaign.billing.type is BillingType.AGENT and billing_user_id
        else None
    )
    agent_account = (
        uow.accounts.for_owner(OwnerType.AGENT, billing_user.id) if billing_user else None
    )
    return PayerContext(
        campaign=campaign,
        office=uow.directory.get_office(workspace_id, campaign.office_id),
        creator=uow.directory.get_user(workspace_id, campaign.created_by),
        billing_user=billing_user,
        office_account=uow.accounts.for_owner(OwnerType.OFFICE, campaign.office_id),
        agent_account=agent_account,
    )


def owner_name(uow: UnitOfWork, account: BillingAccount) -> str:
    """The office's or the agent's name, as people know them (falls back to the id)."""
    if account.owner_type is OwnerType.OFFICE:
        office = uow.directory.get_office(account.workspace_id, account.owner_id)
        return office.name if office else account.owner_id
    user = uow.directory.get_user(account.workspace_id, account.owner_id)
    return user.name if user else account.owner_id
