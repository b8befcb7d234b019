"""Entities and value objects of campaign billing.

Standard library only: no I/O, no clock, no framework. The adapters load these from the
database and the rules in `resolution` decide who pays from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

_CURRENCY = re.compile(r"^[a-z]{3}$")


class Role(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


class OwnerType(StrEnum):
    """Who owns a billing account: an office (office billing) or one agent (agent billing)."""

    OFFICE = "office"
    AGENT = "agent"


class BillingType(StrEnum):
    """The billing selection made at "Budget and Schedule"."""

    OFFICE = "office"
    AGENT = "agent"


class CampaignVersion(StrEnum):
    V1 = "v1"
    V2 = "v2"


class AccountStatus(StrEnum):
    PENDING_SETUP = "pending_setup"
    ACTIVE = "active"
    DISABLED = "disabled"


class PaymentMethodStatus(StrEnum):
    ACTIVE = "active"
    DETACHED = "detached"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units (cents) of one ISO 4217 currency, lower case as Stripe
    writes it."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        if not _CURRENCY.match(self.currency):
            raise ValueError(f"currency must be three lower-case letters, got {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount / 100:.2f} {self.currency.upper()}"


@dataclass(frozen=True, slots=True)
class Workspace:
    """A brokerage: the tenant. Nothing ever crosses workspaces."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Office:
    id: str
    workspace_id: str
    name: str


@dataclass(frozen=True, slots=True)
class User:
    """An agent (in one office) or an admin (of one office, or of the whole workspace when
    `office_id` is None)."""

    id: str
    workspace_id: str
    name: str
    email: str
    role: Role
    office_id: str | None
    # "Allow admins to create and invoice campaigns on my behalf" (the agent's consent).
    allow_admin_invoicing: bool = False

    @property
    def is_agent(self) -> bool:
        return self.role is Role.AGENT

    @property
    def is_workspace_admin(self) -> bool:
        return self.role is Role.ADMIN and self.office_id is None

    def is_admin_over(self, office: Office) -> bool:
        """True when this user administers `office`: its office admin or a workspace admin."""
        if self.role is not Role.ADMIN or self.workspace_id != office.workspace_id:
            return False
        return self.office_id is None or self.office_id == office.id


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """A card saved on a billing account. The card number never reaches this service: only
    what Stripe reports about it."""

    id: str
    billing_account_id: str
    stripe_payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    status: PaymentMethodStatus
    is_default: bool = False

    def is_expired(self, now: datetime) -> bool:
        """A card is valid through the last day of its expiry month."""
        return (now.year, now.month) > (self.exp_year, self.exp_month)

    def is_usable(self, now: datetime) -> bool:
        return self.status is PaymentMethodStatus.ACTIVE and not self.is_expired(now)

    @property
    def label(self) -> str:
        expiry = f"{self.exp_month:02d}/{self.exp_year}"
        return f"{self.brand.title()} ending {self.last4} (expires {expiry})"


@dataclass(frozen=True, slots=True)
class BillingAccount:
    id: str
    workspace_id: str
    owner_type: OwnerType
    owner_id: str
    status: AccountStatus
    stripe_customer_id: str | None
    payment_methods: tuple[PaymentMethod, ...] = field(default=())

    @property
    def default_payment_method(self) -> PaymentMethod | None:
        return next((pm for pm in self.payment_methods if pm.is_default), None)

    def find_payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        """Find by our id or by Stripe's `pm_...` id (upstream apps may hold either)."""
        return next(
            (
                pm
                for pm in self.payment_methods
                if payment_method_id in (pm.id, pm.stripe_payment_method_id)
            ),
            None,
        )


@dataclass(frozen=True, slots=True)
class BillingSelection:
    """What was chosen at "Budget and Schedule": the office, or an agent (the Billing User)
    and optionally one of that agent's payment methods (else the agent's default)."""

    type: BillingType
    billing_user_id: str | None = None
    payment_method_id: str | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    workspace_id: str
    office_id: str
    created_by: str
    version: CampaignVersion
    price: Money
    billing: BillingSelection
    published: bool = False
