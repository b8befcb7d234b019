"""The PostgreSQL schema as SQLAlchemy 2.0 typed models.

The database enforces what it can: upstream ids are unique, every row that names an office or
a user names it *within the same workspace* (composite foreign keys), amounts are positive, one
default payment method per account, one open publish request per campaign and at most one charge
in flight or succeeded per campaign. The same models (and the same Alembic migrations) serve
SQLite for the demo; partial indexes carry both dialects' `where`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(64)
JSONType = JSON().with_variant(JSONB(), "postgresql")

# Stable constraint names, so migrations can refer to them on every dialect.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType}


def _now() -> Any:
    return func.now()


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=_now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=_now(), onupdate=_now(), nullable=False
    )


class WorkspaceRow(Timestamps, Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class OfficeRow(Timestamps, Base):
    __tablename__ = "offices"
    __table_args__ = (UniqueConstraint("id", "workspace_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class UserRow(Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        ForeignKeyConstraint(
            ["office_id", "workspace_id"],
            ["offices.id", "offices.workspace_id"],
            name="fk_users_office_same_workspace",
        ),
        CheckConstraint("role IN ('agent', 'admin')", name="role"),
        CheckConstraint("role = 'admin' OR office_id IS NOT NULL", name="agent_has_office"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[str | None] = mapped_column(ID, index=True)
    # "Allow admins to create and invoice campaigns on my behalf"; off unless the agent turns it on.
    allow_admin_invoicing: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class BillingAccountRow(Timestamps, Base):
    __tablename__ = "billing_accounts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["office_id", "workspace_id"],
            ["offices.id", "offices.workspace_id"],
            name="fk_billing_accounts_office_same_workspace",
        ),
        ForeignKeyConstraint(
            ["agent_id", "workspace_id"],
            ["users.id", "users.workspace_id"],
            name="fk_billing_accounts_agent_same_workspace",
        ),
        CheckConstraint("owner_type IN ('office', 'agent')", name="owner_type"),
        CheckConstraint(
            "(owner_type = 'office' AND office_id IS NOT NULL AND agent_id IS NULL) OR "
            "(owner_type = 'agent' AND agent_id IS NOT NULL AND office_id IS NULL)",
            name="one_owner",
        ),
        CheckConstraint("status IN ('pending_setup', 'active', 'disabled')", name="status"),
        # One billing account per owner: "each agent ... requires their own billing account".
        UniqueConstraint("office_id"),
        UniqueConstraint("agent_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    owner_type: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[str | None] = mapped_column(ID)
    agent_id: Mapped[str | None] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16), default="pending_setup")
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)


class PaymentMethodRow(Timestamps, Base):
    __tablename__ = "payment_methods"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'detached', 'expired')", name="status"),
        CheckConstraint("exp_month BETWEEN 1 AND 12", name="exp_month"),
        Index(
            "uq_payment_methods_one_default",
            "billing_account_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    billing_account_id: Mapped[str] = mapped_column(ForeignKey("billing_accounts.id"), index=True)
    stripe_payment_method_id: Mapped[str] = mapped_column(String(255), unique=True)
    brand: Mapped[str] = mapped_column(String(32))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Stripe's `created` of the newest event applied to this row: older events are ignored.
    stripe_event_created: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class CampaignRow(Timestamps, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        ForeignKeyConstraint(
            ["office_id", "workspace_id"],
            ["offices.id", "offices.workspace_id"],
            name="fk_campaigns_office_same_workspace",
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("version IN ('v1', 'v2')", name="version"),
        CheckConstraint("billing_type IN ('office', 'agent')", name="billing_type"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    office_id: Mapped[str] = mapped_column(ID, index=True)
    # Not foreign keys on purpose: upstream data can name a user we do not know (yet), and that
    # must end as a publish failure that says so, not as a rejected sync.
    created_by: Mapped[str] = mapped_column(ID)
    version: Mapped[str] = mapped_column(String(4))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    billing_type: Mapped[str] = mapped_column(String(16))
    billing_user_id: Mapped[str | None] = mapped_column(ID)
    payment_method_id: Mapped[str | None] = mapped_column(String(255))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by_request_id: Mapped[str | None] = mapped_column(ID)


OPEN_REQUEST_STATUSES = ("queued", "processing")


class PublishRequestRow(Timestamps, Base):
    __tablename__ = "publish_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'processing', 'succeeded', 'failed', 'requires_action')",
            name="status",
        ),
        UniqueConstraint("workspace_id", "request_key"),
        # At most one open request per campaign: a second publish joins the open one.
        Index(
            "uq_publish_requests_one_open_per_campaign",
            "campaign_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'processing')"),
            sqlite_where=text("status IN ('queued', 'processing')"),
        ),
        Index(
            "ix_publish_requests_open",
            "updated_at",
            postgresql_where=text("status IN ('queued', 'processing')"),
            sqlite_where=text("status IN ('queued', 'processing')"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    # No foreign key: a request for an unknown campaign (sent straight to the broker) is still
    # recorded, and ends failed with campaign_not_found.
    campaign_id: Mapped[str] = mapped_column(ID, index=True)
    request_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    failure: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The Checkout Session (payment mode) behind an authentication_required failure's payment_url.
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


LIVE_CHARGE_SQL = "status IN ('pending', 'unknown', 'succeeded')"


class ChargeRow(Timestamps, Base):
    """One charge attempt: written with its idempotency key *before* Stripe is called."""

    __tablename__ = "charges"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('pending', 'unknown', 'succeeded', 'failed', 'requires_action')",
            name="status",
        ),
        # Never two charges in flight (pending), unreconciled (unknown) or succeeded for one
        # campaign: the database, not only the code, stands between a campaign and a double charge.
        Index(
            "uq_charges_one_live_per_campaign",
            "campaign_id",
            unique=True,
            postgresql_where=text(LIVE_CHARGE_SQL),
            sqlite_where=text(LIVE_CHARGE_SQL),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"))
    publish_request_id: Mapped[str] = mapped_column(ForeignKey("publish_requests.id"), unique=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    billing_account_id: Mapped[str] = mapped_column(ForeignKey("billing_accounts.id"), index=True)
    payment_method_id: Mapped[str] = mapped_column(ForeignKey("payment_methods.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class StripeEventRow(Base):
    """A Stripe webhook event, stored once by its id before anything is done with it."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'processed', 'skipped', 'failed', 'parked')", name="status"
        ),
        Index("ix_stripe_events_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    stripe_created: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=_now(), nullable=False
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxRow(Base):
    """An event to publish, written in the transaction of the state change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unrelayed",
            "seq",
            postgresql_where=text("relayed_at IS NULL"),
            sqlite_where=text("relayed_at IS NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    workspace_id: Mapped[str] = mapped_column(ID)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    relayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
