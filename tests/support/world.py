"""Builds workspaces, people, accounts and cards for integration tests: directly through the
repositories for our rows, and through the real `stripe` library against the Stripe test server
for Stripe's side, so a charge in a test is a real charge on that server."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from campaign_billing.adapters.orm import PaymentMethodRow
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    OwnerType,
    Role,
    User,
    Workspace,
)
from campaign_billing.ids import new_id
from campaign_billing.wiring import Container


@dataclass
class World:
    container: Container
    stripe: stripe.StripeClient
    workspace_id: str = "ws_1"

    def base(self) -> World:
        with self.container.uow() as uow:
            uow.directory.upsert_workspace(Workspace(self.workspace_id, "Acme Realty"))
            uow.directory.upsert_office(Office("off_1", self.workspace_id, "Downtown"))
            uow.commit()
        return self

    def user(
        self,
        user_id: str,
        name: str,
        role: Role = Role.AGENT,
        office_id: str | None = "off_1",
        *,
        consent: bool = False,
    ) -> User:
        user = User(user_id, self.workspace_id, name, f"{user_id}@example.com", role, office_id)
        with self.container.uow() as uow:
            uow.directory.upsert_user(user)
            uow.directory.set_admin_invoicing(self.workspace_id, user_id, consent)
            uow.commit()
        return user

    def account(
        self, owner_type: OwnerType, owner_id: str, *, card: str | None = "pm_card_visa"
    ) -> BillingAccount:
        customer = self.stripe.v1.customers.create(params={"name": owner_id})
        account_id = new_id("ba")
        with self.container.uow() as uow:
            uow.accounts.add(
                BillingAccount(
                    account_id,
                    self.workspace_id,
                    owner_type,
                    owner_id,
                    AccountStatus.PENDING_SETUP,
                    customer.id,
                )
            )
            uow.commit()
        if card is not None:
            self.add_card(account_id, customer.id, card, default=True)
        with self.container.uow() as uow:
            account = uow.accounts.get(None, account_id)
        assert account is not None
        return account

    def add_card(self, account_id: str, customer_id: str, card: str, *, default: bool) -> str:
        method = self.stripe.v1.payment_methods.attach(card, params={"customer": customer_id})
        assert method.card is not None
        row_id = new_id("pm")
        with self.container.uow() as uow:
            uow.accounts.add_payment_method_row(
                PaymentMethodRow(
                    id=row_id,
                    billing_account_id=account_id,
                    stripe_payment_method_id=method.id,
                    brand=method.card.brand,
                    last4=method.card.last4,
                    exp_month=method.card.exp_month,
                    exp_year=method.card.exp_year,
                    status="active",
                    is_default=default,
                )
            )
            uow.accounts.set_status(account_id, AccountStatus.ACTIVE)
            uow.commit()
        return row_id

    def campaign(
        self,
        campaign_id: str,
        created_by: str,
        *,
        billing: BillingSelection | None = None,
        version: CampaignVersion = CampaignVersion.V2,
        amount: int = 25_000,
    ) -> Campaign:
        campaign = Campaign(
            campaign_id,
            self.workspace_id,
            "off_1",
            created_by,
            version,
            Money(amount, "usd"),
            billing or BillingSelection(BillingType.OFFICE),
        )
        with self.container.uow() as uow:
            uow.directory.upsert_campaign(campaign)
            uow.commit()
        return campaign
