"""The support reads: billing options for the "Billing User" picker, the billing explanation of
a campaign, and a billing account's monthly statement (docs/support.md says what each answers).

Scoped by the token like every `/v1` route: the workspace comes from the row asked about, and a
row of a workspace the caller may not see is answered exactly as a row that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from campaign_billing.api.auth import ID_PATTERN
from campaign_billing.api.dependencies import V1, CallerDep, ContainerDep, PathId
from campaign_billing.api.errors import not_found
from campaign_billing.api.schemas import error_responses
from campaign_billing.api.support_schemas import BillingOptionsOut, ExplanationOut, StatementOut
from campaign_billing.domain.errors import CampaignNotFound
from campaign_billing.services import billing_options, directory, explanation, statements
from campaign_billing.services.directory import RowKind

router = APIRouter(prefix=V1, tags=["support"])

QueryId = Annotated[str, Query(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.get(
    "/billing-options",
    summary='What the "Billing User" picker may offer an actor in an office, and why not more',
    description=(
        "`options`: the office and the agents this actor may bill a new V2 campaign in this "
        "office to, each with the cards that may be selected. `unavailable`: every other payer "
        "with the failure code, message and remediation publishing would report."
    ),
    responses=error_responses(404, s404="No such office, or no such actor in its workspace."),
)
def get_billing_options(
    actor_id: QueryId, office_id: QueryId, caller: CallerDep, container: ContainerDep
) -> BillingOptionsOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.OFFICE, office_id)
    )
    if workspace_id is None:
        raise not_found("Office", office_id)
    try:
        options = billing_options.billing_options(
            container.uow, workspace_id=workspace_id, actor_id=actor_id, office_id=office_id
        )
    except billing_options.SubjectNotFound as unknown:
        raise not_found(unknown.kind, unknown.subject_id) from None
    return BillingOptionsOut.model_validate(options.to_dict())


@router.get(
    "/campaigns/{campaign_id}/billing-explanation",
    summary="Who was, or would be, charged for a campaign, and why, step by step",
    responses=error_responses(404, s404="No such campaign (`campaign_not_found`)."),
)
def get_billing_explanation(
    campaign_id: PathId, caller: CallerDep, container: ContainerDep
) -> ExplanationOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.CAMPAIGN, campaign_id)
    )
    if workspace_id is None:
        raise CampaignNotFound(campaign_id)
    explained = explanation.explain_campaign(container.uow, workspace_id, campaign_id)
    return ExplanationOut.model_validate(explained.to_dict())


@router.get(
    "/billing-accounts/{billing_account_id}/statement",
    summary="The campaigns charged to a billing account in a month, with totals",
    description=(
        "Lines are the account's succeeded charges in that calendar month (UTC). An office's "
        "statement lists, under `excluded`, the office's campaigns billed to agents that month, "
        "each naming the agent who paid."
    ),
    responses=error_responses(404),
)
def get_statement(
    billing_account_id: PathId,
    month: Annotated[
        str,
        Query(pattern=statements.MONTH_PATTERN, description="`YYYY-MM`, a UTC calendar month."),
    ],
    caller: CallerDep,
    container: ContainerDep,
) -> StatementOut:
    workspace_id = caller.visible(
        directory.owning_workspace(container.uow, RowKind.BILLING_ACCOUNT, billing_account_id)
    )
    found = (
        statements.statement(
            container.uow, workspace_id, billing_account_id, statements.StatementMonth.parse(month)
        )
        if workspace_id is not None
        else None
    )
    if found is None:
        raise not_found("Billing account", billing_account_id)
    return StatementOut.model_validate(found.to_dict())
