"""Publishing a campaign, and reading a publish request's outcome.

The route only accepts: the request is committed, then its task is sent, and the answer is 202
(docs/publishing.md, "Order of writes"). A repeat of any kind (the same Idempotency-Key, a
request still open, a campaign already published) is answered 200 with the earlier request, and
charges nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from campaign_billing.api.dependencies import V1, CallerDep, ContainerDep, PathId
from campaign_billing.api.errors import not_found
from campaign_billing.api.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    PublishAcceptedOut,
    PublishRequestOut,
    error_responses,
)
from campaign_billing.domain.errors import CampaignNotFound
from campaign_billing.services import directory
from campaign_billing.services.directory import RowKind
from campaign_billing.services.publishing import (
    accept_publish,
    get_publish_request,
    publish_request_view,
)

router = APIRouter(prefix=V1, tags=["publishing"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Optional, 1-255 visible ASCII characters. The same key answers with the "
        "same publish request; a key used for another campaign is refused (409).",
    ),
]


@router.post(
    "/campaigns/{campaign_id}/publish",
    status_code=202,
    summary="Publish a campaign: charge its payer, then publish it",
    responses={
        200: {
            "model": PublishAcceptedOut,
            "description": "Answered with an earlier publish request; nothing new is charged.",
        },
        **error_responses(
            404,
            409,
            s404="No such campaign (`campaign_not_found`).",
            s409="`idempotency_key_reused`: the key names another campaign's request; "
            "`charge_unreconciled`: an earlier charge's outcome is not known yet.",
        ),
    },
)
def publish_campaign(
    campaign_id: PathId,
    response: Response,
    caller: CallerDep,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> PublishAcceptedOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.CAMPAIGN, campaign_id)
    )
    if workspace_id is None:
        raise CampaignNotFound(campaign_id)
    accepted = accept_publish(
        container.uow,
        container.send_publish,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        request_key=idempotency_key,
    )
    request_id = accepted.request.id
    response.headers["Location"] = f"/v1/publish-requests/{request_id}"
    if not accepted.created:
        response.status_code = 200
    return PublishAcceptedOut.of(publish_request_view(accepted.request), created=accepted.created)


@router.get(
    "/publish-requests/{publish_request_id}",
    summary="Read a publish request: its status, failure and charge",
    responses=error_responses(404),
)
def read_publish_request(
    publish_request_id: PathId, caller: CallerDep, container: ContainerDep
) -> PublishRequestOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.PUBLISH_REQUEST, publish_request_id)
    )
    request = (
        get_publish_request(container.uow, workspace_id, publish_request_id)
        if workspace_id is not None
        else None
    )
    if request is None:
        raise not_found("Publish request", publish_request_id)
    return PublishRequestOut.model_validate(publish_request_view(request))
