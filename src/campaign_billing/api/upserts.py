"""`PUT` routes through which the upstream platform syncs its workspaces, offices, users, the
agents' billing settings and campaigns. A PUT creates or replaces, and answers what is stored.

The workspace is the one the body names (the path, for a workspace); a token limited to other
workspaces gets 403. The billing settings name none: they change a user, in the user's
workspace, which the token must be able to see (else 404).
"""

from __future__ import annotations

from fastapi import APIRouter

from campaign_billing.api.auth import Caller
from campaign_billing.api.dependencies import V1, CallerDep, ContainerDep, PathId
from campaign_billing.api.errors import ApiError, not_found
from campaign_billing.api.schemas import (
    BillingSettingsIn,
    BillingSettingsOut,
    CampaignIn,
    CampaignOut,
    OfficeIn,
    OfficeOut,
    UserIn,
    UserOut,
    WorkspaceIn,
    WorkspaceOut,
    error_responses,
)
from campaign_billing.services import directory
from campaign_billing.services.directory import RowKind

router = APIRouter(prefix=V1, tags=["upstream sync"])

_WRITE_ERRORS = error_responses(
    403, 409, s409="The id belongs to another workspace (`workspace_mismatch`)."
)


def authorize_write(caller: Caller, workspace_id: str) -> None:
    """403 when the token may not write to the workspace the request names. Unlike a read, this
    reveals nothing: the caller chose the workspace."""
    if not caller.may_access(workspace_id):
        raise ApiError(403, "forbidden", f"This API token may not change workspace {workspace_id}.")


@router.put(
    "/workspaces/{workspace_id}",
    summary="Create or replace a workspace",
    responses=error_responses(403),
)
def put_workspace(
    workspace_id: PathId, body: WorkspaceIn, caller: CallerDep, container: ContainerDep
) -> WorkspaceOut:
    authorize_write(caller, workspace_id)
    return WorkspaceOut.of(directory.upsert_workspace(container.uow, body.to_domain(workspace_id)))


@router.put("/offices/{office_id}", summary="Create or replace an office", responses=_WRITE_ERRORS)
def put_office(
    office_id: PathId, body: OfficeIn, caller: CallerDep, container: ContainerDep
) -> OfficeOut:
    authorize_write(caller, body.workspace_id)
    return OfficeOut.of(directory.upsert_office(container.uow, body.to_domain(office_id)))


@router.put("/users/{user_id}", summary="Create or replace a user", responses=_WRITE_ERRORS)
def put_user(user_id: PathId, body: UserIn, caller: CallerDep, container: ContainerDep) -> UserOut:
    authorize_write(caller, body.workspace_id)
    return UserOut.of(directory.upsert_user(container.uow, body.to_domain(user_id)))


@router.put(
    "/users/{user_id}/billing-settings",
    summary='Set an agent\'s "Allow admins to create and invoice campaigns on my behalf"',
    responses=error_responses(404),
)
def put_billing_settings(
    user_id: PathId, body: BillingSettingsIn, caller: CallerDep, container: ContainerDep
) -> BillingSettingsOut:
    workspace_id = caller.visible(directory.owning_workspace(container.uow, RowKind.USER, user_id))
    user = (
        directory.set_admin_invoicing(
            container.uow, workspace_id, user_id, allowed=body.allow_admin_invoicing
        )
        if workspace_id is not None
        else None
    )
    if user is None:
        raise not_found("User", user_id)
    return BillingSettingsOut.of(user)


@router.put(
    "/campaigns/{campaign_id}", summary="Create or replace a campaign", responses=_WRITE_ERRORS
)
def put_campaign(
    campaign_id: PathId, body: CampaignIn, caller: CallerDep, container: ContainerDep
) -> CampaignOut:
    office_workspace = directory.owning_workspace(container.uow, RowKind.OFFICE, body.office_id)
    workspace_id = body.workspace_id or office_workspace
    if workspace_id is None:
        # Neither named nor known through the office: let the upsert say which parent is missing.
        raise directory.UnknownParent("office", body.office_id, "")
    authorize_write(caller, workspace_id)
    if office_workspace is not None and caller.visible(office_workspace) is None:
        raise directory.UnknownParent("office", body.office_id, workspace_id)
    return CampaignOut.of(
        directory.upsert_campaign(container.uow, body.to_domain(campaign_id, workspace_id))
    )
