"""The JSON answers of the support reads (billing options, billing explanation, statement).

The services build these answers as plain dicts (`to_dict`), which the command line prints with
`--json` too; the models here validate them on the way out (`extra="forbid"`: a field the
service adds must be declared here) and document them in OpenAPI.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from campaign_billing.api.schemas import FailureOut


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- billing options -----------------------------------------------------------------------------


class CardOut(_Out):
    id: str
    stripe_payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    is_default: bool = Field(
        description="With no card selected for the campaign, this one is charged."
    )
    label: str = Field(description='How people name it: "Visa ending 4242 (expires 12/2034)".')


class ActorOut(_Out):
    id: str
    name: str
    role: Literal["agent", "admin"]


class OfficeRefOut(_Out):
    id: str
    name: str


class BillingOptionOut(_Out):
    billing_account_id: str
    owner_type: Literal["office", "agent"]
    owner_id: str
    owner_name: str
    payment_methods: list[CardOut] = Field(
        description="Every card that may be selected for this payer; none flagged default "
        "means one must be selected."
    )


class UnavailableOptionOut(_Out):
    owner_type: Literal["office", "agent"]
    owner_id: str
    owner_name: str
    code: str = Field(description="The failure code publishing would report (SPEC.md).")
    message: str
    remediation: str


class BillingOptionsOut(_Out):
    actor: ActorOut
    office: OfficeRefOut
    options: list[BillingOptionOut]
    unavailable: list[UnavailableOptionOut]


# -- billing explanation -------------------------------------------------------------------------


class BillingSelectionOut(_Out):
    type: Literal["office", "agent"]
    billing_user_id: str | None
    payment_method_id: str | None


class PayerOut(_Out):
    source: Literal["charge", "rules"] = Field(
        description="`charge`: who was charged, as recorded; `rules`: who the billing rules "
        "pick on today's data (no charge yet)."
    )
    billing_account_id: str
    owner_type: Literal["office", "agent"]
    owner_id: str
    owner_name: str
    payment_method: CardOut | None


class StepOut(_Out):
    check: str = Field(description="`campaign_version`, `office`, `billing_user`, `creator`, ...")
    passed: bool
    detail: str


class ExplainedChargeOut(_Out):
    status: Literal["pending", "unknown", "succeeded"]
    amount: int
    currency: str
    billing_account_id: str
    payment_method_id: str
    stripe_payment_intent_id: str | None
    publish_request_id: str
    charged_at: str | None


class LatestRequestOut(_Out):
    id: str
    status: Literal["queued", "processing", "succeeded", "failed", "requires_action"]
    failure: FailureOut | None
    created_at: str
    updated_at: str


class RulesTodayOut(_Out):
    status: Literal["would_charge", "would_fail"]
    code: str | None


class OutcomeOut(_Out):
    status: Literal[
        "charged",
        "charge_pending",
        "publishing",
        "requires_action",
        "failed",
        "would_charge",
        "would_fail",
    ]
    summary: str = Field(description="The whole answer in plain words, for support staff.")
    failure: FailureOut | None = Field(
        description="The latest publish request's failure, or (`would_fail`) the rules' one."
    )
    charge: ExplainedChargeOut | None
    publish_request: LatestRequestOut | None
    rules_today: RulesTodayOut


class ExplanationOut(_Out):
    campaign_id: str
    workspace_id: str
    office_id: str
    created_by: str
    version: Literal["v1", "v2"]
    amount: int
    currency: str
    billing: BillingSelectionOut
    published: bool
    payer: PayerOut | None
    steps: list[StepOut] = Field(
        description="The billing rules on today's data, in order, up to the first that fails."
    )
    outcome: OutcomeOut


# -- statements ----------------------------------------------------------------------------------


class StatementLineOut(_Out):
    campaign_id: str
    amount: int
    currency: str
    charged_at: str | None
    stripe_payment_intent_id: str | None
    publish_request_id: str


class ExcludedCampaignOut(StatementLineOut):
    billing_account_id: str = Field(description="The agent's billing account that paid.")
    agent_id: str
    agent_name: str


class StatementOut(_Out):
    billing_account_id: str
    owner_type: Literal["office", "agent"]
    owner_id: str
    owner_name: str
    month: str
    period_start: str
    period_end: str
    lines: list[StatementLineOut]
    total: dict[str, int] = Field(description="Per currency, in integer minor units.")
    excluded: list[ExcludedCampaignOut] = Field(
        description="Office statements: the office's campaigns of the month billed to agents."
    )
    excluded_total: dict[str, int]
    note: str
