"""The JSON bodies of the HTTP API (API.md), as pydantic models, and their mapping to the domain.

Every string is bounded and every id has the one safe shape, so bad input is a 422 here and
never reaches the database as something it refuses (a NUL byte, a 10 kB name). Unknown fields
are ignored, not refused: upstream apps add fields to what they sync, and must not break when
they do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from campaign_billing.api.auth import ID_PATTERN
from campaign_billing.domain.model import (
    AccountStatus,
    BillingAccount,
    BillingSelection,
    BillingType,
    Campaign,
    CampaignVersion,
    Money,
    Office,
    OwnerType,
    PaymentMethod,
    PaymentMethodStatus,
    Role,
    User,
    Workspace,
)

# No control characters (PostgreSQL refuses NUL; the others only ever come from bugs).
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"

Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN),
    Field(description=f"1-64 characters matching `{ID_PATTERN}`."),
]
# Stripe's ids (`pm_...`) may be up to 255 characters; ours are shorter.
PaymentMethodRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=ID_PATTERN),
    Field(description="Our payment method id or Stripe's `pm_...` id."),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_PRINTABLE),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$",
    ),
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{3}$"),
    AfterValidator(str.lower),
    Field(description="ISO 4217 code, three letters; stored lower case as Stripe writes it."),
]
# Minor units. The upper bound is Stripe's largest amount (12 digits, for the currencies with
# the most digits); it also keeps every value inside the database column.
Amount = Annotated[
    int,
    Field(strict=True, gt=0, le=999_999_999_999, description="Integer minor units (cents)."),
]
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]+$"


class RequestModel(BaseModel):
    # Unknown fields are ignored (see the module docstring).
    model_config = ConfigDict(extra="ignore")


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors -------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """`code` is stable (upstream apps branch on it); `message` says what happened in words.
    Billing failures also carry `remediation` and `retryable` (SPEC.md); validation errors
    carry `details`."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


_ERROR_MEANINGS = {
    400: "The body cannot be read as UTF-8 JSON (`bad_request`).",
    401: "Missing or unknown bearer token (`unauthorized`).",
    403: "The token may not change the workspace the body names (`forbidden`).",
    404: "No such resource in a workspace the token may see (`not_found`, ...).",
    409: "Conflicts with stored data (`workspace_mismatch`, `conflict`, ...).",
    413: "The body is larger than 64 KiB (`payload_too_large`).",
    415: "The body is not JSON (`unsupported_media_type`).",
    422: "Invalid input (`validation_error`, or a billing failure's code).",
    502: "Stripe rejected the request (`payment_provider_rejected`).",
    503: "PostgreSQL, Redis or Stripe is unreachable; retry the same request.",
}


def error_responses(*statuses: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all in the one error shape. A meaning
    given as `s409="..."` replaces the generic one."""
    return {
        status: {
            "model": ErrorResponse,
            "description": meanings.get(f"s{status}", _ERROR_MEANINGS[status]),
        }
        for status in statuses
    }


# -- upserts from upstream -----------------------------------------------------------------------


class WorkspaceIn(RequestModel):
    name: Name

    def to_domain(self, workspace_id: str) -> Workspace:
        return Workspace(id=workspace_id, name=self.name)


class WorkspaceOut(ResponseModel):
    id: str
    name: str

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceOut:
        return cls(id=workspace.id, name=workspace.name)


class OfficeIn(RequestModel):
    workspace_id: Id
    name: Name

    def to_domain(self, office_id: str) -> Office:
        return Office(id=office_id, workspace_id=self.workspace_id, name=self.name)


class OfficeOut(ResponseModel):
    id: str
    workspace_id: str
    name: str

    @classmethod
    def of(cls, office: Office) -> OfficeOut:
        return cls(id=office.id, workspace_id=office.workspace_id, name=office.name)


class UserIn(RequestModel):
    workspace_id: Id
    name: Name
    email: Email
    role: Literal["agent", "admin"]
    office_id: Id | None = Field(
        default=None,
        description="The agent's office, or the office an admin administers; null for an "
        "admin of the whole workspace.",
    )

    @model_validator(mode="after")
    def _agent_has_office(self) -> UserIn:
        if self.role == "agent" and self.office_id is None:
            raise ValueError("an agent belongs to an office: office_id is required for an agent")
        return self

    def to_domain(self, user_id: str) -> User:
        return User(
            id=user_id,
            workspace_id=self.workspace_id,
            name=self.name,
            email=self.email,
            role=Role(self.role),
            office_id=self.office_id,
        )


class UserOut(ResponseModel):
    id: str
    workspace_id: str
    name: str
    email: str
    role: Role
    office_id: str | None
    allow_admin_invoicing: bool

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            workspace_id=user.workspace_id,
            name=user.name,
            email=user.email,
            role=user.role,
            office_id=user.office_id,
            allow_admin_invoicing=user.allow_admin_invoicing,
        )


class BillingSettingsIn(RequestModel):
    allow_admin_invoicing: bool = Field(
        strict=True,
        description='The agent\'s "Allow admins to create and invoice campaigns on my behalf".',
    )


class BillingSettingsOut(ResponseModel):
    user_id: str
    workspace_id: str
    allow_admin_invoicing: bool

    @classmethod
    def of(cls, user: User) -> BillingSettingsOut:
        return cls(
            user_id=user.id,
            workspace_id=user.workspace_id,
            allow_admin_invoicing=user.allow_admin_invoicing,
        )


class OfficeBillingIn(RequestModel):
    type: Literal["office"]


class AgentBillingIn(RequestModel):
    type: Literal["agent"]
    billing_user_id: Id | None = Field(
        default=None,
        description="The agent to charge. Accepted when missing: publishing then fails with "
        "`billing_user_missing`, which says what to fix.",
    )
    payment_method_id: PaymentMethodRef | None = Field(
        default=None, description="One of the agent's payment methods; none: their default."
    )


BillingIn = Annotated[OfficeBillingIn | AgentBillingIn, Field(discriminator="type")]


class CampaignIn(RequestModel):
    workspace_id: Id | None = Field(
        default=None,
        description="Optional: the campaign's office decides its workspace; when given, it "
        "must be the office's.",
    )
    office_id: Id
    created_by: Id
    version: Literal["v1", "v2"]
    amount: Amount
    currency: Currency
    billing: BillingIn

    def to_domain(self, campaign_id: str, workspace_id: str) -> Campaign:
        billing = (
            BillingSelection(
                type=BillingType.AGENT,
                billing_user_id=self.billing.billing_user_id,
                payment_method_id=self.billing.payment_method_id,
            )
            if isinstance(self.billing, AgentBillingIn)
            else BillingSelection(type=BillingType.OFFICE)
        )
        return Campaign(
            id=campaign_id,
            workspace_id=workspace_id,
            office_id=self.office_id,
            created_by=self.created_by,
            version=CampaignVersion(self.version),
            price=Money(self.amount, self.currency),
            billing=billing,
        )


class BillingOut(ResponseModel):
    type: BillingType
    billing_user_id: str | None
    payment_method_id: str | None


class CampaignOut(ResponseModel):
    id: str
    workspace_id: str
    office_id: str
    created_by: str
    version: CampaignVersion
    amount: int
    currency: str
    billing: BillingOut
    published: bool

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls(
            id=campaign.id,
            workspace_id=campaign.workspace_id,
            office_id=campaign.office_id,
            created_by=campaign.created_by,
            version=campaign.version,
            amount=campaign.price.amount,
            currency=campaign.price.currency,
            billing=BillingOut(
                type=campaign.billing.type,
                billing_user_id=campaign.billing.billing_user_id,
                payment_method_id=campaign.billing.payment_method_id,
            ),
            published=campaign.published,
        )


# -- billing accounts ----------------------------------------------------------------------------


class BillingAccountIn(RequestModel):
    owner_type: Literal["office", "agent"]
    owner_id: Id
    workspace_id: Id | None = Field(
        default=None,
        description="Optional: the owner's workspace. When given, the owner must be in it.",
    )

    @property
    def owner(self) -> OwnerType:
        return OwnerType(self.owner_type)


class SetupSessionIn(RequestModel):
    success_url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://",
        description="Where Stripe sends the cardholder after saving the card.",
    )
    cancel_url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://",
        description="Where Stripe sends the cardholder who gives up.",
    )


class SetupSessionOut(ResponseModel):
    url: str = Field(description='Stripe Checkout\'s page: "Continue to Stripe".')
    session_id: str


class PaymentMethodOut(ResponseModel):
    id: str
    stripe_payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    status: PaymentMethodStatus
    is_default: bool

    @classmethod
    def of(cls, method: PaymentMethod) -> PaymentMethodOut:
        return cls(
            id=method.id,
            stripe_payment_method_id=method.stripe_payment_method_id,
            brand=method.brand,
            last4=method.last4,
            exp_month=method.exp_month,
            exp_year=method.exp_year,
            status=method.status,
            is_default=method.is_default,
        )


class BillingAccountOut(ResponseModel):
    id: str
    workspace_id: str
    owner_type: OwnerType
    owner_id: str
    status: AccountStatus
    stripe_customer_id: str | None
    payment_methods: list[PaymentMethodOut]

    @classmethod
    def of(cls, account: BillingAccount) -> BillingAccountOut:
        return cls(
            id=account.id,
            workspace_id=account.workspace_id,
            owner_type=account.owner_type,
            owner_id=account.owner_id,
            status=account.status,
            stripe_customer_id=account.stripe_customer_id,
            payment_methods=[PaymentMethodOut.of(m) for m in account.payment_methods],
        )


# -- publishing ----------------------------------------------------------------------------------

PublishStatusName = Literal["queued", "processing", "succeeded", "failed", "requires_action"]


class FailureOut(BaseModel):
    """A billing failure of SPEC.md's table."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    remediation: str
    retryable: bool
    decline_code: str | None = None
    payment_url: str | None = None


class ChargeOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    amount: int
    currency: str
    billing_account_id: str
    stripe_payment_intent_id: str | None


class PublishRequestOut(BaseModel):
    """`GET /v1/publish-requests/{id}`. Extra fields of the view (timestamps, ...) pass through."""

    model_config = ConfigDict(extra="allow")

    id: str
    campaign_id: str
    status: PublishStatusName
    failure: FailureOut | None
    charge: ChargeOut | None


class PublishAcceptedOut(ResponseModel):
    publish_request_id: str
    status: PublishStatusName
    campaign_id: str
    created: bool = Field(
        description="True: a new publish request (202). False: the answer of an earlier one "
        "(the same Idempotency-Key, a request still open, or the campaign already published)."
    )
    publish_request: PublishRequestOut

    @classmethod
    def of(cls, view: dict[str, Any], *, created: bool) -> PublishAcceptedOut:
        request = PublishRequestOut.model_validate(view)
        return cls(
            publish_request_id=request.id,
            status=request.status,
            campaign_id=request.campaign_id,
            created=created,
            publish_request=request,
        )


# -- operations ----------------------------------------------------------------------------------


class HealthOut(ResponseModel):
    status: Literal["ok"]


class ReadinessOut(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Literal["ok", "failed"]]
    error: ErrorDetail | None = None
