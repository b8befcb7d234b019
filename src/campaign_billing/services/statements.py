"""Statements: the campaigns charged to one billing account in one calendar month (UTC).

A line is a succeeded charge of the account whose `succeeded_at` falls in the month; totals are
per currency, in integer minor units. An office's statement also lists, under `excluded`, the
office's campaigns of that month that were charged to agents' own accounts, each naming the
agent who paid: "admin cannot see campaign invoices" (help-centre article) answers itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import BillingAccount, OwnerType
from campaign_billing.domain.publishing import Charge
from campaign_billing.services.payer_context import owner_name

UowFactory = Callable[[], UnitOfWork]

# Years 1000-2999: four digits, and a following month that `datetime` can still represent.
MONTH_PATTERN = r"^[12][0-9]{3}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


@dataclass(frozen=True, slots=True)
class StatementMonth:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> StatementMonth:
        """`YYYY-MM`; raises ValueError otherwise."""
        if not _MONTH.match(text):
            raise ValueError(f"month must be YYYY-MM (e.g. 2026-05), got {text!r}")
        year, month = text.split("-")
        return cls(int(year), int(month))

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (excluded)."""
        if self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, self.month + 1, 1, tzinfo=UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class ExcludedCampaign:
    """An office campaign of the month that an agent's own account paid for."""

    charge: Charge
    agent_id: str
    agent_name: str


@dataclass(frozen=True, slots=True)
class Statement:
    account: BillingAccount
    owner_name: str
    month: StatementMonth
    lines: tuple[Charge, ...]
    excluded: tuple[ExcludedCampaign, ...]

    @property
    def total(self) -> dict[str, int]:
        return _totals(self.lines)

    @property
    def note(self) -> str:
        if self.account.owner_type is OwnerType.AGENT:
            return f"Campaigns charged to agent {self.owner_name}'s own billing account."
        if not self.excluded:
            return (
                f"Campaigns charged to office {self.owner_name}'s billing account. No campaign "
                "of the office was billed to an agent this month."
            )
        agents = sorted({item.agent_name for item in self.excluded})
        return (
            f"Campaigns charged to office {self.owner_name}'s billing account. "
            f"{len(self.excluded)} campaign(s) of the office were billed directly to agents "
            f"({', '.join(agents)}) and are not on this statement: they are on each agent's own "
            "statement (see `excluded`)."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "billing_account_id": self.account.id,
            "owner_type": self.account.owner_type.value,
            "owner_id": self.account.owner_id,
            "owner_name": self.owner_name,
            "month": str(self.month),
            "period_start": self.month.start.isoformat(),
            "period_end": self.month.end.isoformat(),
            "lines": [_line(charge) for charge in self.lines],
            "total": self.total,
            "excluded": [
                {
                    **_line(item.charge),
                    "billing_account_id": item.charge.billing_account_id,
                    "agent_id": item.agent_id,
                    "agent_name": item.agent_name,
                }
                for item in self.excluded
            ],
            "excluded_total": _totals(item.charge for item in self.excluded),
            "note": self.note,
        }


def statement(
    uow_factory: UowFactory, workspace_id: str, billing_account_id: str, month: StatementMonth
) -> Statement | None:
    """The account's statement for `month`; None when the workspace has no such account."""
    with uow_factory() as uow:
        account = uow.accounts.get(workspace_id, billing_account_id)
        if account is None:
            return None
        lines = uow.publishing.succeeded_charges_of_account(
            workspace_id, account.id, month.start, month.end
        )
        excluded: list[ExcludedCampaign] = []
        if account.owner_type is OwnerType.OFFICE:
            for charge, agent_id in uow.publishing.agent_billed_charges_of_office(
                workspace_id, account.owner_id, month.start, month.end
            ):
                agent = uow.directory.get_user(workspace_id, agent_id)
                excluded.append(
                    ExcludedCampaign(charge, agent_id, agent.name if agent else agent_id)
                )
        return Statement(account, owner_name(uow, account), month, tuple(lines), tuple(excluded))


def _line(charge: Charge) -> dict[str, Any]:
    return {
        "campaign_id": charge.campaign_id,
        "amount": charge.price.amount,
        "currency": charge.price.currency,
        "charged_at": charge.succeeded_at.isoformat() if charge.succeeded_at else None,
        "stripe_payment_intent_id": charge.stripe_payment_intent_id,
        "publish_request_id": charge.publish_request_id,
    }


def _totals(charges: Iterable[Charge]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for charge in charges:
        totals[charge.price.currency] = totals.get(charge.price.currency, 0) + charge.price.amount
    return dict(sorted(totals.items()))
