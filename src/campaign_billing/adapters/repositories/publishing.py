"""Publish requests and charge attempts.

Every state change is a conditional UPDATE (`WHERE status IN (...)`) and reports whether it won:
two workers, the sweep and a late webhook may race for one request, and only the winner may write
the request's terminal event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from campaign_billing.adapters.orm import (
    BillingAccountRow,
    CampaignRow,
    ChargeRow,
    PublishRequestRow,
)
from campaign_billing.domain.model import Money
from campaign_billing.domain.publishing import Charge, ChargeStatus, PublishRequest, PublishStatus


def _charge(row: ChargeRow) -> Charge:
    return Charge(
        id=row.id,
        publish_request_id=row.publish_request_id,
        campaign_id=row.campaign_id,
        billing_account_id=row.billing_account_id,
        payment_method_id=row.payment_method_id,
        price=Money(row.amount, row.currency),
        idempotency_key=row.idempotency_key,
        status=ChargeStatus(row.status),
        stripe_payment_intent_id=row.stripe_payment_intent_id,
        succeeded_at=row.succeeded_at,
    )


class PublishingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- publish requests -------------------------------------------------------------------
    def _request(self, row: PublishRequestRow | None) -> PublishRequest | None:
        if row is None:
            return None
        charge_row = self.session.scalar(
            select(ChargeRow).where(ChargeRow.publish_request_id == row.id)
        )
        return PublishRequest(
            id=row.id,
            workspace_id=row.workspace_id,
            campaign_id=row.campaign_id,
            request_key=row.request_key,
            status=PublishStatus(row.status),
            failure=row.failure,
            created_at=row.created_at,
            updated_at=row.updated_at,
            checkout_session_id=row.checkout_session_id,
            charge=_charge(charge_row) if charge_row is not None else None,
        )

    def get(self, request_id: str, *, for_update: bool = False) -> PublishRequest | None:
        query = select(PublishRequestRow).where(PublishRequestRow.id == request_id)
        if for_update:
            query = query.with_for_update()
        return self._request(self.session.scalar(query))

    def by_key(self, workspace_id: str, request_key: str) -> PublishRequest | None:
        return self._request(
            self.session.scalar(
                select(PublishRequestRow).where(
                    PublishRequestRow.workspace_id == workspace_id,
                    PublishRequestRow.request_key == request_key,
                )
            )
        )

    def open_for_campaign(self, campaign_id: str) -> PublishRequest | None:
        return self._request(
            self.session.scalar(
                select(PublishRequestRow).where(
                    PublishRequestRow.campaign_id == campaign_id,
                    PublishRequestRow.status.in_(("queued", "processing")),
                )
            )
        )

    def for_campaign(self, campaign_id: str) -> list[PublishRequest]:
        rows = self.session.scalars(
            select(PublishRequestRow)
            .where(PublishRequestRow.campaign_id == campaign_id)
            .order_by(PublishRequestRow.created_at, PublishRequestRow.id)
        )
        return [r for r in (self._request(row) for row in rows) if r is not None]

    def add(self, request: PublishRequest) -> None:
        self.session.add(
            PublishRequestRow(
                id=request.id,
                workspace_id=request.workspace_id,
                campaign_id=request.campaign_id,
                request_key=request.request_key,
                status=request.status.value,
                failure=request.failure,
            )
        )
        self.session.flush()

    def transition(
        self,
        request_id: str,
        *,
        from_: Iterable[PublishStatus],
        to: PublishStatus,
        failure: dict[str, Any] | None = None,
        checkout_session_id: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": to.value, "failure": failure}
        if checkout_session_id is not None:
            values["checkout_session_id"] = checkout_session_id
        if to is PublishStatus.PROCESSING:
            values["attempts"] = PublishRequestRow.attempts + 1
        result = self.session.execute(
            update(PublishRequestRow)
            .where(
                PublishRequestRow.id == request_id,
                PublishRequestRow.status.in_([s.value for s in from_]),
            )
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def stale_open(self, older_than: datetime, limit: int = 100) -> list[str]:
        """Requests still queued or processing since before `older_than`: the sweep's work
        (accepted while the broker was down, or claimed by a worker that died)."""
        return list(
            self.session.scalars(
                select(PublishRequestRow.id)
                .where(
                    PublishRequestRow.status.in_(("queued", "processing")),
                    PublishRequestRow.updated_at < older_than,
                )
                .order_by(PublishRequestRow.updated_at)
                .limit(limit)
            )
        )

    def open_payment_links(self, campaign_id: str) -> list[tuple[str, str]]:
        """(request id, Checkout Session id) of the campaign's requests still waiting for the
        cardholder to pay through a payment link."""
        rows = self.session.execute(
            select(PublishRequestRow.id, PublishRequestRow.checkout_session_id).where(
                PublishRequestRow.campaign_id == campaign_id,
                PublishRequestRow.status == "requires_action",
                PublishRequestRow.checkout_session_id.is_not(None),
            )
        )
        return [(row[0], row[1]) for row in rows if row[1] is not None]

    def by_checkout_session(self, checkout_session_id: str) -> PublishRequest | None:
        return self._request(
            self.session.scalar(
                select(PublishRequestRow).where(
                    PublishRequestRow.checkout_session_id == checkout_session_id
                )
            )
        )

    # -- charges ------------------------------------------------------------------------------
    def add_charge(self, charge: Charge, workspace_id: str) -> None:
        self.session.add(
            ChargeRow(
                id=charge.id,
                workspace_id=workspace_id,
                publish_request_id=charge.publish_request_id,
                campaign_id=charge.campaign_id,
                billing_account_id=charge.billing_account_id,
                payment_method_id=charge.payment_method_id,
                amount=charge.price.amount,
                currency=charge.price.currency,
                idempotency_key=charge.idempotency_key,
                status=charge.status.value,
                stripe_payment_intent_id=charge.stripe_payment_intent_id,
                succeeded_at=charge.succeeded_at,
            )
        )
        self.session.flush()

    def settle_charge(
        self,
        charge_id: str,
        *,
        from_: Iterable[ChargeStatus],
        to: ChargeStatus,
        stripe_payment_intent_id: str | None,
        at: datetime,
    ) -> bool:
        values: dict[str, Any] = {"status": to.value}
        if stripe_payment_intent_id is not None:
            values["stripe_payment_intent_id"] = stripe_payment_intent_id
        if to is ChargeStatus.SUCCEEDED:
            values["succeeded_at"] = at
        result = self.session.execute(
            update(ChargeRow)
            .where(ChargeRow.id == charge_id, ChargeRow.status.in_([s.value for s in from_]))
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def live_charge_for_campaign(self, campaign_id: str) -> Charge | None:
        row = self.session.scalar(
            select(ChargeRow).where(
                ChargeRow.campaign_id == campaign_id,
                ChargeRow.status.in_(("pending", "unknown", "succeeded")),
            )
        )
        return _charge(row) if row is not None else None

    def unknown_charges(self, older_than: datetime, limit: int = 100) -> list[Charge]:
        rows = self.session.scalars(
            select(ChargeRow)
            .where(ChargeRow.status == "unknown", ChargeRow.updated_at < older_than)
            .order_by(ChargeRow.updated_at)
            .limit(limit)
        )
        return [_charge(row) for row in rows]

    # -- support reads (statements) --------------------------------------------------------------
    def succeeded_charges_of_account(
        self, workspace_id: str, billing_account_id: str, start: datetime, end: datetime
    ) -> list[Charge]:
        """The account's succeeded charges with `start <= succeeded_at < end`, oldest first."""
        rows = self.session.scalars(
            select(ChargeRow)
            .where(
                ChargeRow.workspace_id == workspace_id,
                ChargeRow.billing_account_id == billing_account_id,
                ChargeRow.status == "succeeded",
                ChargeRow.succeeded_at >= start,
                ChargeRow.succeeded_at < end,
            )
            .order_by(ChargeRow.succeeded_at, ChargeRow.id)
        )
        return [_charge(row) for row in rows]

    def agent_billed_charges_of_office(
        self, workspace_id: str, office_id: str, start: datetime, end: datetime
    ) -> list[tuple[Charge, str]]:
        """Succeeded charges, with `start <= succeeded_at < end`, of the office's campaigns that
        went to an agent's billing account, each with that agent's id; oldest first."""
        rows = self.session.execute(
            select(ChargeRow, BillingAccountRow.agent_id)
            .join(CampaignRow, CampaignRow.id == ChargeRow.campaign_id)
            .join(BillingAccountRow, BillingAccountRow.id == ChargeRow.billing_account_id)
            .where(
                ChargeRow.workspace_id == workspace_id,
                CampaignRow.workspace_id == workspace_id,
                CampaignRow.office_id == office_id,
                BillingAccountRow.owner_type == "agent",
                ChargeRow.status == "succeeded",
                ChargeRow.succeeded_at >= start,
                ChargeRow.succeeded_at < end,
            )
            .order_by(ChargeRow.succeeded_at, ChargeRow.id)
        )
        return [(_charge(charge), agent_id) for charge, agent_id in rows if agent_id]
