"""Billing accounts and their payment methods."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaign_billing.adapters.orm import BillingAccountRow, PaymentMethodRow
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    OwnerType,
    PaymentMethod,
    PaymentMethodStatus,
)


def _payment_method(row: PaymentMethodRow) -> PaymentMethod:
    return PaymentMethod(
        id=row.id,
        billing_account_id=row.billing_account_id,
        stripe_payment_method_id=row.stripe_payment_method_id,
        brand=row.brand,
        last4=row.last4,
        exp_month=row.exp_month,
        exp_year=row.exp_year,
        status=PaymentMethodStatus(row.status),
        is_default=row.is_default,
    )


def _account(row: BillingAccountRow, methods: Sequence[PaymentMethodRow]) -> BillingAccount:
    owner_id = row.office_id if row.owner_type == OwnerType.OFFICE else row.agent_id
    assert owner_id is not None  # the one_owner check constraint guarantees it
    return BillingAccount(
        id=row.id,
        workspace_id=row.workspace_id,
        owner_type=OwnerType(row.owner_type),
        owner_id=owner_id,
        status=AccountStatus(row.status),
        stripe_customer_id=row.stripe_customer_id,
        payment_methods=tuple(_payment_method(m) for m in methods),
    )


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, account: BillingAccount) -> None:
        self.session.add(
            BillingAccountRow(
                id=account.id,
                workspace_id=account.workspace_id,
                owner_type=account.owner_type.value,
                office_id=account.owner_id if account.owner_type is OwnerType.OFFICE else None,
                agent_id=account.owner_id if account.owner_type is OwnerType.AGENT else None,
                status=account.status.value,
                stripe_customer_id=account.stripe_customer_id,
            )
        )
        self.session.flush()

    def _load(self, row: BillingAccountRow | None) -> BillingAccount | None:
        if row is None:
            return None
        methods = self.session.scalars(
            select(PaymentMethodRow)
            .where(PaymentMethodRow.billing_account_id == row.id)
            .order_by(PaymentMethodRow.created_at, PaymentMethodRow.id)
        ).all()
        return _account(row, methods)

    def get(self, workspace_id: str | None, account_id: str) -> BillingAccount | None:
        row = self.session.get(BillingAccountRow, account_id)
        if row is not None and workspace_id is not None and row.workspace_id != workspace_id:
            return None
        return self._load(row)

    def for_owner(self, owner_type: OwnerType, owner_id: str) -> BillingAccount | None:
        column = (
            BillingAccountRow.office_id
            if owner_type is OwnerType.OFFICE
            else BillingAccountRow.agent_id
        )
        return self._load(self.session.scalar(select(BillingAccountRow).where(column == owner_id)))

    def by_customer(self, stripe_customer_id: str) -> BillingAccount | None:
        return self._load(
            self.session.scalar(
                select(BillingAccountRow).where(
                    BillingAccountRow.stripe_customer_id == stripe_customer_id
                )
            )
        )

    def set_customer(self, account_id: str, stripe_customer_id: str) -> None:
        self.session.execute(
            update(BillingAccountRow)
            .where(BillingAccountRow.id == account_id)
            .values(stripe_customer_id=stripe_customer_id)
        )

    def set_status(self, account_id: str, status: AccountStatus) -> bool:
        """Returns whether the status changed."""
        result = self.session.execute(
            update(BillingAccountRow)
            .where(BillingAccountRow.id == account_id, BillingAccountRow.status != status.value)
            .values(status=status.value)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def lock(self, account_id: str) -> None:
        """Serialises changes to one account's payment methods (webhooks arrive concurrently)."""
        self.session.execute(
            select(BillingAccountRow.id).where(BillingAccountRow.id == account_id).with_for_update()
        )

    def payment_method_rows(self, account_id: str) -> list[PaymentMethodRow]:
        return list(
            self.session.scalars(
                select(PaymentMethodRow)
                .where(PaymentMethodRow.billing_account_id == account_id)
                .order_by(PaymentMethodRow.created_at, PaymentMethodRow.id)
            )
        )

    def payment_method_by_stripe_id(self, stripe_payment_method_id: str) -> PaymentMethodRow | None:
        return self.session.scalar(
            select(PaymentMethodRow).where(
                PaymentMethodRow.stripe_payment_method_id == stripe_payment_method_id
            )
        )

    def add_payment_method_row(self, row: PaymentMethodRow) -> None:
        self.session.add(row)
        self.session.flush()
