"""Workspaces, offices, users and campaigns as the upstream platform syncs them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from campaign_billing.adapters.orm import CampaignRow, OfficeRow, UserRow, WorkspaceRow
from campaign_billing.domain.model import (
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    Role,
    User,
    Workspace,
)


class WorkspaceMismatch(Exception):
    """Raised when an upsert names an id that already belongs to another workspace."""

    def __init__(self, kind: str, id_: str) -> None:
        super().__init__(f"{kind} {id_} belongs to another workspace")
        self.kind = kind
        self.id = id_


def _office(row: OfficeRow) -> Office:
    return Office(id=row.id, workspace_id=row.workspace_id, name=row.name)


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        office_id=row.office_id,
        allow_admin_invoicing=row.allow_admin_invoicing,
    )


def _campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        id=row.id,
        workspace_id=row.workspace_id,
        office_id=row.office_id,
        created_by=row.created_by,
        version=CampaignVersion(row.version),
        price=Money(row.amount, row.currency),
        billing=BillingSelection(
            type=BillingType(row.billing_type),
            billing_user_id=row.billing_user_id,
            payment_method_id=row.payment_method_id,
        ),
        published=row.published_at is not None,
    )


class DirectoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- writes from upstream -------------------------------------------------------------
    def upsert_workspace(self, workspace: Workspace) -> None:
        row = self.session.get(WorkspaceRow, workspace.id)
        if row is None:
            self.session.add(WorkspaceRow(id=workspace.id, name=workspace.name))
        else:
            row.name = workspace.name
        self.session.flush()

    def upsert_office(self, office: Office) -> None:
        row = self.session.get(OfficeRow, office.id)
        if row is None:
            self.session.add(
                OfficeRow(id=office.id, workspace_id=office.workspace_id, name=office.name)
            )
        elif row.workspace_id != office.workspace_id:
            raise WorkspaceMismatch("office", office.id)
        else:
            row.name = office.name
        self.session.flush()

    def upsert_user(self, user: User) -> None:
        """Creates or replaces the user's profile; the consent setting is kept as it was (it is
        the agent's own choice, synced by its own route)."""
        row = self.session.get(UserRow, user.id)
        if row is None:
            row = UserRow(id=user.id, workspace_id=user.workspace_id)
            self.session.add(row)
        elif row.workspace_id != user.workspace_id:
            raise WorkspaceMismatch("user", user.id)
        row.name = user.name
        row.email = user.email
        row.role = user.role.value
        row.office_id = user.office_id
        self.session.flush()

    def set_admin_invoicing(self, workspace_id: str, user_id: str, allowed: bool) -> bool:
        result = self.session.execute(
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.workspace_id == workspace_id)
            .values(allow_admin_invoicing=allowed)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def upsert_campaign(self, campaign: Campaign) -> None:
        row = self.session.get(CampaignRow, campaign.id)
        if row is None:
            row = CampaignRow(id=campaign.id, workspace_id=campaign.workspace_id)
            self.session.add(row)
        elif row.workspace_id != campaign.workspace_id:
            raise WorkspaceMismatch("campaign", campaign.id)
        row.office_id = campaign.office_id
        row.created_by = campaign.created_by
        row.version = campaign.version.value
        row.amount = campaign.price.amount
        row.currency = campaign.price.currency
        row.billing_type = campaign.billing.type.value
        row.billing_user_id = campaign.billing.billing_user_id
        row.payment_method_id = campaign.billing.payment_method_id
        self.session.flush()

    def mark_published(self, campaign_id: str, publish_request_id: str, at: datetime) -> bool:
        """Marks the campaign published by this request, once: a second call changes nothing."""
        result = self.session.execute(
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id, CampaignRow.published_at.is_(None))
            .values(published_at=at, published_by_request_id=publish_request_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- reads ------------------------------------------------------------------------------
    def workspace_exists(self, workspace_id: str) -> bool:
        return self.session.get(WorkspaceRow, workspace_id) is not None

    def get_office(self, workspace_id: str, office_id: str) -> Office | None:
        row = self.session.get(OfficeRow, office_id)
        return _office(row) if row is not None and row.workspace_id == workspace_id else None

    def get_user(self, workspace_id: str, user_id: str) -> User | None:
        row = self.session.get(UserRow, user_id)
        return _user(row) if row is not None and row.workspace_id == workspace_id else None

    def users_of_office(self, workspace_id: str, office_id: str) -> list[User]:
        rows = self.session.scalars(
            select(UserRow)
            .where(UserRow.workspace_id == workspace_id, UserRow.office_id == office_id)
            .order_by(UserRow.name, UserRow.id)
        )
        return [_user(row) for row in rows]

    def get_campaign(self, workspace_id: str | None, campaign_id: str) -> Campaign | None:
        row = self.session.get(CampaignRow, campaign_id)
        if row is None or (workspace_id is not None and row.workspace_id != workspace_id):
            return None
        return _campaign(row)

    def campaign_published_by(self, campaign_id: str) -> str | None:
        return self.session.scalar(
            select(CampaignRow.published_by_request_id).where(CampaignRow.id == campaign_id)
        )

    # -- support reads (billing options) ---------------------------------------------------------
    def hold_office_people(
        self, workspace_id: str, office_id: str, also_user_ids: Iterable[str] = ()
    ) -> list[object]:
        """Loads the office, its users and `also_user_ids` into the session and returns their
        rows. The session's identity map keeps rows only while something references them: while
        the caller holds the returned list, `get_office` and `get_user` of these rows are
        answered without a query (billing options look each one up once per payer)."""
        rows: list[object] = list(
            self.session.scalars(
                select(OfficeRow).where(
                    OfficeRow.id == office_id, OfficeRow.workspace_id == workspace_id
                )
            )
        )
        rows.extend(
            self.session.scalars(
                select(UserRow).where(
                    UserRow.workspace_id == workspace_id,
                    or_(UserRow.office_id == office_id, UserRow.id.in_(list(also_user_ids))),
                )
            )
        )
        return rows
