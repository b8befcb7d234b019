"""What the support tests build beyond `tests.support.world.World`: publishing through the real
use cases, and card or account states that only Stripe's webhooks would otherwise bring."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update

from campaign_billing.adapters.orm import BillingAccountRow, ChargeRow, PaymentMethodRow
from campaign_billing.domain.model import BillingAccount, OwnerType
from campaign_billing.domain.publishing import PublishRequest
from campaign_billing.services import publishing
from campaign_billing.wiring import Container


def publish(
    container: Container,
    campaign_id: str,
    *,
    workspace_id: str = "ws_1",
    now: Callable[[], datetime] = publishing.utcnow,
) -> PublishRequest:
    """Accept a publish request and process it as a worker would; returns it, terminal."""
    accepted = publishing.accept_publish(
        container.uow,
        lambda _request_id: None,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        request_key=None,
        now=now,
    )
    publishing.process_publish_request(
        container.uow, container.gateway, container.publish_settings, accepted.request.id, now=now
    )
    request = publishing.get_publish_request(container.uow, workspace_id, accepted.request.id)
    assert request is not None
    assert request.status.is_terminal
    return request


def set_card(
    container: Container,
    payment_method_id: str,
    *,
    status: str | None = None,
    expires: tuple[int, int] | None = None,
    default: bool | None = None,
) -> None:
    values: dict[str, object] = {}
    if status is not None:
        values["status"] = status
    if expires is not None:
        values["exp_month"], values["exp_year"] = expires
    if default is not None:
        values["is_default"] = default
    with container.uow() as uow:
        uow.session.execute(
            update(PaymentMethodRow).where(PaymentMethodRow.id == payment_method_id).values(values)
        )
        uow.commit()


def set_account_status(container: Container, account_id: str, status: str) -> None:
    with container.uow() as uow:
        uow.session.execute(
            update(BillingAccountRow)
            .where(BillingAccountRow.id == account_id)
            .values(status=status)
        )
        uow.commit()


def move_charge(container: Container, publish_request_id: str, succeeded_at: datetime) -> None:
    """Dates a charge into another month (a statement test cannot wait for one)."""
    with container.uow() as uow:
        uow.session.execute(
            update(ChargeRow)
            .where(ChargeRow.publish_request_id == publish_request_id)
            .values(succeeded_at=succeeded_at)
        )
        uow.commit()


def office_account(container: Container, office_id: str = "off_1") -> BillingAccount:
    with container.uow() as uow:
        account = uow.accounts.for_owner(OwnerType.OFFICE, office_id)
    assert account is not None
    return account
