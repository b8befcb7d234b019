"""Syncing the upstream platform's workspaces, offices, users and campaigns, and answering which
workspace owns an id.

The upserts check what the schema would otherwise reject (an unknown workspace, an office of
another workspace) so that the caller learns which parent to sync first, instead of reading a
constraint name. An id that already belongs to another workspace raises the repositories'
`WorkspaceMismatch`: ids never move between workspaces.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from campaign_billing.adapters.orm import (
    BillingAccountRow,
    CampaignRow,
    OfficeRow,
    PublishRequestRow,
    UserRow,
)
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import Campaign, Office, User, Workspace

UowFactory = Callable[[], UnitOfWork]
T = TypeVar("T")


class UnknownParent(Exception):
    """Raised when an upsert names a workspace, or an office of its workspace, that has not been
    synced: the platform must PUT the parent first."""

    def __init__(self, kind: str, parent_id: str, workspace_id: str) -> None:
        where = "" if kind == "workspace" else f" in workspace {workspace_id}"
        super().__init__(
            f"{kind.capitalize()} {parent_id} is not known{where}: "
            f"sync it with PUT /v1/{kind}s/{parent_id} first."
        )
        self.code = f"unknown_{kind}"


class RowKind(StrEnum):
    """What an id names, for `owning_workspace`."""

    OFFICE = "office"
    USER = "user"
    CAMPAIGN = "campaign"
    BILLING_ACCOUNT = "billing_account"
    PUBLISH_REQUEST = "publish_request"


_OWNED_ROWS: dict[
    RowKind,
    type[OfficeRow | UserRow | CampaignRow | BillingAccountRow | PublishRequestRow],
] = {
    RowKind.OFFICE: OfficeRow,
    RowKind.USER: UserRow,
    RowKind.CAMPAIGN: CampaignRow,
    RowKind.BILLING_ACCOUNT: BillingAccountRow,
    RowKind.PUBLISH_REQUEST: PublishRequestRow,
}


def owning_workspace(uow_factory: UowFactory, kind: RowKind, row_id: str) -> str | None:
    """The workspace of the row with this id, or None when there is none.

    The one lookup that is not filtered by workspace, because it decides the workspace: the
    HTTP layer asks it first, checks that the caller may see that workspace, and only then reads
    or changes the row through a query filtered by it. It returns nothing but the workspace id.
    """
    row = _OWNED_ROWS[kind]
    with uow_factory() as uow:
        return uow.session.scalar(select(row.workspace_id).where(row.id == row_id))


def upsert_workspace(uow_factory: UowFactory, workspace: Workspace) -> Workspace:
    def write(uow: UnitOfWork) -> Workspace:
        uow.directory.upsert_workspace(workspace)
        return workspace

    return _upsert(uow_factory, write)


def upsert_office(uow_factory: UowFactory, office: Office) -> Office:
    """Raises `UnknownParent` (workspace) or `WorkspaceMismatch`."""

    def write(uow: UnitOfWork) -> Office:
        _require_workspace(uow, office.workspace_id)
        uow.directory.upsert_office(office)
        return office

    return _upsert(uow_factory, write)


def upsert_user(uow_factory: UowFactory, user: User) -> User:
    """Creates or replaces a user's profile; their "Allow admins to create and invoice campaigns
    on my behalf" setting is kept (it has its own route). Returns the stored user. Raises
    `UnknownParent` (workspace, office) or `WorkspaceMismatch`."""

    def write(uow: UnitOfWork) -> User:
        _require_workspace(uow, user.workspace_id)
        if user.office_id is not None:
            _require_office(uow, user.workspace_id, user.office_id)
        uow.directory.upsert_user(user)
        stored = uow.directory.get_user(user.workspace_id, user.id)
        assert stored is not None  # written in this transaction
        return stored

    return _upsert(uow_factory, write)


def set_admin_invoicing(
    uow_factory: UowFactory, workspace_id: str, user_id: str, *, allowed: bool
) -> User | None:
    """Records the agent's "Allow admins to create and invoice campaigns on my behalf" choice.
    Returns the stored user, or None when the workspace has no such user."""
    with uow_factory() as uow:
        if not uow.directory.set_admin_invoicing(workspace_id, user_id, allowed):
            return None
        user = uow.directory.get_user(workspace_id, user_id)
        uow.commit()
        return user


def upsert_campaign(uow_factory: UowFactory, campaign: Campaign) -> Campaign:
    """Creates or replaces a campaign as the platform has it; whether it was published is kept.

    The billing user and the payment method are not checked here on purpose: a campaign that
    names someone who cannot pay must still be stored, so that publishing it ends with a failure
    that says why (SPEC.md: checkout never fails silently). Raises `UnknownParent` (workspace,
    office) or `WorkspaceMismatch`.
    """

    def write(uow: UnitOfWork) -> Campaign:
        _require_workspace(uow, campaign.workspace_id)
        _require_office(uow, campaign.workspace_id, campaign.office_id)
        uow.directory.upsert_campaign(campaign)
        stored = uow.directory.get_campaign(campaign.workspace_id, campaign.id)
        assert stored is not None  # written in this transaction
        return stored

    return _upsert(uow_factory, write)


def _require_workspace(uow: UnitOfWork, workspace_id: str) -> None:
    if not uow.directory.workspace_exists(workspace_id):
        raise UnknownParent("workspace", workspace_id, workspace_id)


def _require_office(uow: UnitOfWork, workspace_id: str, office_id: str) -> None:
    # An office of another workspace reads as unknown: its existence is not this caller's to see.
    if uow.directory.get_office(workspace_id, office_id) is None:
        raise UnknownParent("office", office_id, workspace_id)


def _upsert(uow_factory: UowFactory, write: Callable[[UnitOfWork], T]) -> T:
    """Runs an upsert in its own transaction. Two concurrent PUTs creating the same id both
    find no row and both insert; the loser's primary key violation is retried once, and then
    finds the winner's row and replaces it, as a PUT should."""
    try:
        return _in_transaction(uow_factory, write)
    except IntegrityError:
        return _in_transaction(uow_factory, write)


def _in_transaction(uow_factory: UowFactory, write: Callable[[UnitOfWork], T]) -> T:
    with uow_factory() as uow:
        result = write(uow)
        uow.commit()
        return result
