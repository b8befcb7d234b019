"""Initial schema: the whole of campaign billing (see adapters/orm.py for why each constraint).

Revision ID: 0001
Revises:
Create Date: 2026-12-04 17:02:19.396942
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_unrelayed",
        "outbox",
        ["seq"],
        unique=False,
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("stripe_created", sa.BigInteger(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'skipped', 'failed', 'parked')",
            name=op.f("ck_stripe_events_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_index("ix_stripe_events_status", "stripe_events", ["status"], unique=False)
    op.create_index(op.f("ix_stripe_events_type"), "stripe_events", ["type"], unique=False)
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "offices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_offices_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offices")),
        sa.UniqueConstraint("id", "workspace_id", name=op.f("uq_offices_id_workspace_id")),
    )
    op.create_index(op.f("ix_offices_workspace_id"), "offices", ["workspace_id"], unique=False)
    op.create_table(
        "publish_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("request_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "failure",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'succeeded', 'failed', 'requires_action')",
            name=op.f("ck_publish_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publish_requests_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_requests")),
        sa.UniqueConstraint(
            "checkout_session_id", name=op.f("uq_publish_requests_checkout_session_id")
        ),
        sa.UniqueConstraint(
            "workspace_id", "request_key", name=op.f("uq_publish_requests_workspace_id_request_key")
        ),
    )
    op.create_index(
        op.f("ix_publish_requests_campaign_id"), "publish_requests", ["campaign_id"], unique=False
    )
    op.create_index(
        "ix_publish_requests_open",
        "publish_requests",
        ["updated_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
        sqlite_where=sa.text("status IN ('queued', 'processing')"),
    )
    op.create_index(
        "uq_publish_requests_one_open_per_campaign",
        "publish_requests",
        ["campaign_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
        sqlite_where=sa.text("status IN ('queued', 'processing')"),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=4), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_type", sa.String(length=16), nullable=False),
        sa.Column("billing_user_id", sa.String(length=64), nullable=True),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "billing_type IN ('office', 'agent')", name=op.f("ck_campaigns_billing_type")
        ),
        sa.CheckConstraint("version IN ('v1', 'v2')", name=op.f("ck_campaigns_version")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_campaigns_amount_positive")),
        sa.ForeignKeyConstraint(
            ["office_id", "workspace_id"],
            ["offices.id", "offices.workspace_id"],
            name="fk_campaigns_office_same_workspace",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_campaigns_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_office_id"), "campaigns", ["office_id"], unique=False)
    op.create_index(op.f("ix_campaigns_workspace_id"), "campaigns", ["workspace_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=True),
        sa.Column(
            "allow_admin_invoicing", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "role = 'admin' OR office_id IS NOT NULL", name=op.f("ck_users_agent_has_office")
        ),
        sa.CheckConstraint("role IN ('agent', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(
            ["office_id", "workspace_id"],
            ["offices.id", "offices.workspace_id"],
            name="fk_users_office_same_workspace",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_users_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("id", "workspace_id", name=op.f("uq_users_id_workspace_id")),
    )
    op.create_index(op.f("ix_users_office_id"), "users", ["office_id"], unique=False)
    op.create_index(op.f("ix_users_workspace_id"), "users", ["workspace_id"], unique=False)
    op.create_table(
        "billing_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("office_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(owner_type = 'office' AND office_id IS NOT NULL AND agent_id IS NULL) OR (owner_type = 'agent' AND agent_id IS NOT NULL AND office_id IS NULL)",
            name=op.f("ck_billing_accounts_one_owner"),
        ),
        sa.CheckConstraint(
            "owner_type IN ('office', 'agent')", name=op.f("ck_billing_accounts_owner_type")
        ),
        sa.CheckConstraint(
            "status IN ('pending_setup', 'active', 'disabled')",
            name=op.f("ck_billing_accounts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id", "workspace_id"],
            ["users.id", "users.workspace_id"],
            name="fk_billing_accounts_agent_same_workspace",
        ),
        sa.ForeignKeyConstraint(
            ["office_id", "workspace_id"],
            ["offices.id", "offices.workspace_id"],
            name="fk_billing_accounts_office_same_workspace",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_billing_accounts_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_accounts")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_billing_accounts_agent_id")),
        sa.UniqueConstraint("office_id", name=op.f("uq_billing_accounts_office_id")),
        sa.UniqueConstraint(
            "stripe_customer_id", name=op.f("uq_billing_accounts_stripe_customer_id")
        ),
    )
    op.create_index(
        op.f("ix_billing_accounts_workspace_id"), "billing_accounts", ["workspace_id"], unique=False
    )
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("billing_account_id", sa.String(length=64), nullable=False),
        sa.Column("stripe_payment_method_id", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("stripe_event_created", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('active', 'detached', 'expired')", name=op.f("ck_payment_methods_status")
        ),
        sa.CheckConstraint("exp_month BETWEEN 1 AND 12", name=op.f("ck_payment_methods_exp_month")),
        sa.ForeignKeyConstraint(
            ["billing_account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_payment_methods_billing_account_id_billing_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint(
            "stripe_payment_method_id", name=op.f("uq_payment_methods_stripe_payment_method_id")
        ),
    )
    op.create_index(
        op.f("ix_payment_methods_billing_account_id"),
        "payment_methods",
        ["billing_account_id"],
        unique=False,
    )
    op.create_index(
        "uq_payment_methods_one_default",
        "payment_methods",
        ["billing_account_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.create_table(
        "charges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("publish_request_id", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("billing_account_id", sa.String(length=64), nullable=False),
        sa.Column("payment_method_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'unknown', 'succeeded', 'failed', 'requires_action')",
            name=op.f("ck_charges_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_charges_amount_positive")),
        sa.ForeignKeyConstraint(
            ["billing_account_id"],
            ["billing_accounts.id"],
            name=op.f("fk_charges_billing_account_id_billing_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_charges_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_charges_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["publish_request_id"],
            ["publish_requests.id"],
            name=op.f("fk_charges_publish_request_id_publish_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_charges_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_charges_idempotency_key")),
        sa.UniqueConstraint("publish_request_id", name=op.f("uq_charges_publish_request_id")),
        sa.UniqueConstraint(
            "stripe_payment_intent_id", name=op.f("uq_charges_stripe_payment_intent_id")
        ),
    )
    op.create_index(
        op.f("ix_charges_billing_account_id"), "charges", ["billing_account_id"], unique=False
    )
    op.create_index(op.f("ix_charges_campaign_id"), "charges", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_charges_succeeded_at"), "charges", ["succeeded_at"], unique=False)
    op.create_index(
        "uq_charges_one_live_per_campaign",
        "charges",
        ["campaign_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'unknown', 'succeeded')"),
        sqlite_where=sa.text("status IN ('pending', 'unknown', 'succeeded')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_charges_one_live_per_campaign",
        table_name="charges",
        postgresql_where=sa.text("status IN ('pending', 'unknown', 'succeeded')"),
        sqlite_where=sa.text("status IN ('pending', 'unknown', 'succeeded')"),
    )
    op.drop_index(op.f("ix_charges_succeeded_at"), table_name="charges")
    op.drop_index(op.f("ix_charges_campaign_id"), table_name="charges")
    op.drop_index(op.f("ix_charges_billing_account_id"), table_name="charges")
    op.drop_table("charges")
    op.drop_index(
        "uq_payment_methods_one_default",
        table_name="payment_methods",
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.drop_index(op.f("ix_payment_methods_billing_account_id"), table_name="payment_methods")
    op.drop_table("payment_methods")
    op.drop_index(op.f("ix_billing_accounts_workspace_id"), table_name="billing_accounts")
    op.drop_table("billing_accounts")
    op.drop_index(op.f("ix_users_workspace_id"), table_name="users")
    op.drop_index(op.f("ix_users_office_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_campaigns_workspace_id"), table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_office_id"), table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index(
        "uq_publish_requests_one_open_per_campaign",
        table_name="publish_requests",
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
        sqlite_where=sa.text("status IN ('queued', 'processing')"),
    )
    op.drop_index(
        "ix_publish_requests_open",
        table_name="publish_requests",
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
        sqlite_where=sa.text("status IN ('queued', 'processing')"),
    )
    op.drop_index(op.f("ix_publish_requests_campaign_id"), table_name="publish_requests")
    op.drop_table("publish_requests")
    op.drop_index(op.f("ix_offices_workspace_id"), table_name="offices")
    op.drop_table("offices")
    op.drop_table("workspaces")
    op.drop_index(op.f("ix_stripe_events_type"), table_name="stripe_events")
    op.drop_index("ix_stripe_events_status", table_name="stripe_events")
    op.drop_table("stripe_events")
    op.drop_index(
        "ix_outbox_unrelayed",
        table_name="outbox",
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    )
    op.drop_table("outbox")
