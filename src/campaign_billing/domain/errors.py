"""Billing failures: one exception class per failure code of the contract (SPEC.md).

Every way a publish can fail ends as one of these, and the HTTP API, the failure event and the
command line all render the same object through `to_dict`. So each failure carries:

- `code`: stable, part of the external contract; upstream apps branch on it.
- `message`: what went wrong, naming the people and things involved.
- `remediation`: who must do what, and where in the app, in the help-centre article's words.
- `retryable`: whether trying the same thing again later, with nothing changed, may succeed.

Constructors take the facts of the case (names, ids, card labels) and write the sentences, so
the wording lives here and the rules only decide. Failures are stored as JSON:
`BillingFailure.from_dict` rebuilds one from what `to_dict` wrote, without re-running the wording.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self

from campaign_billing.domain.model import AccountStatus, OwnerType

FailureStatus = Literal["failed", "requires_action"]

# The help-centre article's paths through the app, quoted so users can follow them literally.
ADD_PAYMENT_METHOD = "Account > Billing > Add a payment method > Continue to Stripe > Save"
BILLING_USER_PICKER = "Budget and Schedule > Billing User"
ALLOW_ADMIN_INVOICING = '"Allow admins to create and invoice campaigns on my behalf"'


def owner_label(owner_type: OwnerType, owner_name: str) -> str:
    """How a payer is named inside a sentence: "agent Jane Doe", "office Downtown"."""
    return f"{owner_type.value} {owner_name}"


def owner_who_acts(owner_type: OwnerType, owner_name: str) -> str:
    """Who can act on a payer's billing account: the agent, or an admin over the office."""
    if owner_type is OwnerType.AGENT:
        return owner_name
    return f"An admin over office {owner_name}"


def upper_first(text: str) -> str:
    """Start a sentence with a label ("agent Jane Doe" -> "Agent Jane Doe"); unlike
    `str.capitalize`, leaves the rest (names) alone."""
    return text[:1].upper() + text[1:]


class BillingFailure(Exception):
    """Raised when a campaign cannot be charged; the base of every failure code.

    Catch this type to handle every billing failure; never raise it directly (it has no code).
    """

    code: ClassVar[str]
    retryable: ClassVar[bool] = False
    # Extra `to_dict` keys a subclass carries (e.g. Stripe's decline code), as attribute names.
    extra_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, message: str, remediation: str) -> None:
        super().__init__(message)
        self.message = message
        self.remediation = remediation

    @property
    def status(self) -> FailureStatus:
        """The publish request's terminal status this failure leads to."""
        return "failed"

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "remediation": self.remediation,
            "retryable": self.retryable,
        }
        for name in self.extra_fields:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data

    @staticmethod
    def from_dict(data: Mapping[str, object]) -> BillingFailure:
        """Rebuild a stored failure. Raises ValueError for an unknown code or a malformed dict,
        because a failure we cannot read back must not be shown as some other failure."""
        code = data.get("code")
        failure_class = FAILURE_CLASSES.get(code) if isinstance(code, str) else None
        if failure_class is None:
            raise ValueError(f"unknown billing failure code {code!r}")
        return failure_class._restored(data)

    @classmethod
    def _restored(cls, data: Mapping[str, object]) -> Self:
        message = data.get("message")
        remediation = data.get("remediation")
        if not isinstance(message, str) or not isinstance(remediation, str):
            raise ValueError(f"stored {cls.code} failure lacks a message or a remediation")
        # The subclass constructors take the facts of the case, which are not stored: only
        # their sentences are. So skip them and set the stored fields directly.
        failure = cls.__new__(cls)
        BillingFailure.__init__(failure, message=message, remediation=remediation)
        for name in cls.extra_fields:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"stored {cls.code} failure has a non-text {name}")
            setattr(failure, name, value)
        return failure

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as `cls(*args)`, which the keyword-only constructors reject; Celery
        # and multiprocessing pickle exceptions, so pickle through the stored form instead.
        return (BillingFailure.from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class CampaignNotFound(BillingFailure):
    """Raised when no campaign with the requested id exists in the caller's workspace."""

    code = "campaign_not_found"

    def __init__(self, campaign_id: str) -> None:
        super().__init__(
            message=f"Campaign {campaign_id} does not exist in this workspace.",
            remediation=(
                f"Check the campaign id. If campaign {campaign_id} exists on the platform, the "
                "platform must sync it to the billing service before it can be published."
            ),
        )


class OfficeNotFound(BillingFailure):
    """Raised when a campaign's office is not known in the campaign's workspace.

    Not in SPEC.md's table: none of its codes fit, because every billing rule (who may create,
    who may be billed, which office account pays) is relative to an office that is not there.
    """

    code = "office_not_found"

    def __init__(self, *, campaign_id: str, office_id: str) -> None:
        super().__init__(
            message=(
                f"Campaign {campaign_id} belongs to office {office_id}, which is not known in "
                "the campaign's workspace, so nobody can be billed for it."
            ),
            remediation=(
                f"The platform must sync office {office_id} to the billing service (or correct "
                f"the office of campaign {campaign_id}), then publish again."
            ),
        )


class AgentBillingUnavailableV1(BillingFailure):
    """Raised when a Campaign V1 campaign selected agent billing, which V1 does not support.

    The campaign is never billed to its office instead: that is how the wrong person gets
    charged.
    """

    code = "agent_billing_unavailable_v1"

    def __init__(self, *, campaign_id: str, billing_user: str | None) -> None:
        target = f"agent {billing_user}" if billing_user else "an agent"
        super().__init__(
            message=(
                f"Campaign {campaign_id} was created with Campaign V1, where agent billing is "
                f"unavailable, so it cannot be billed to {target}; it was not billed to the "
                "office instead."
            ),
            remediation=(
                f"Recreate campaign {campaign_id} as a V2 campaign to bill {target}, or choose "
                f"office billing under {BILLING_USER_PICKER}, then publish again."
            ),
        )


class BillingUserMissing(BillingFailure):
    """Raised when a campaign selected agent billing but named no Billing User."""

    code = "billing_user_missing"

    def __init__(self, *, campaign_id: str) -> None:
        super().__init__(
            message=(
                f"Campaign {campaign_id} is set to agent billing but no Billing User was "
                "selected, so there is nobody to charge."
            ),
            remediation=(
                f"Under {BILLING_USER_PICKER}, select the agent and payment method to charge "
                f"(or choose office billing), then publish campaign {campaign_id} again."
            ),
        )


class BillingUserInvalid(BillingFailure):
    """Raised when the Billing User is not an agent of the campaign's office and workspace."""

    code = "billing_user_invalid"

    def __init__(
        self, *, campaign_id: str, billing_user: str, office_name: str, reason: str
    ) -> None:
        """`billing_user` names the selected user (or their id when unknown); `reason` completes
        "Billing User X ..." (e.g. "is an admin, not an agent")."""
        super().__init__(
            message=(
                f"Billing User {billing_user} of campaign {campaign_id} {reason}, so the "
                "campaign cannot be billed to them."
            ),
            remediation=(
                f"Under {BILLING_USER_PICKER}, select an agent of office {office_name} (or "
                f"choose office billing), then publish campaign {campaign_id} again."
            ),
        )


class CreatorNotAuthorized(BillingFailure):
    """Raised when the campaign's creator may not bill the selected payer: for office billing,
    neither an agent of the office nor an admin over it; for agent billing, neither the Billing
    User nor an admin over the campaign's office."""

    code = "creator_not_authorized"

    def __init__(self, *, campaign_id: str, creator: str, payer: str, allowed: str) -> None:
        """`creator` and `payer` name a person or an office ("agent Ann Lee", "office Downtown");
        `allowed` says who may bill that payer ("the Billing User Jane Doe or an admin over
        office Downtown")."""
        super().__init__(
            message=(
                f"{upper_first(creator)} created campaign {campaign_id} but is not {allowed}, "
                f"so cannot bill it to {payer}."
            ),
            remediation=(
                f"{upper_first(allowed)} must create campaign {campaign_id}; or, under "
                f"{BILLING_USER_PICKER}, choose a payer that {creator} may bill. Then publish "
                "again."
            ),
        )


class DelegationNotAllowed(BillingFailure):
    """Raised when an admin created a campaign billed to an agent who has not enabled "Allow
    admins to create and invoice campaigns on my behalf"."""

    code = "delegation_not_allowed"

    def __init__(self, *, campaign_id: str, agent_name: str, admin_name: str) -> None:
        super().__init__(
            message=(
                f"Agent {agent_name} has not enabled {ALLOW_ADMIN_INVOICING}, so admin "
                f"{admin_name} cannot bill campaign {campaign_id} to {agent_name}."
            ),
            remediation=(
                f"{agent_name} must enable {ALLOW_ADMIN_INVOICING} in their billing settings "
                f"(Account > Billing); or {admin_name} chooses office billing under "
                f"{BILLING_USER_PICKER}. Then publish campaign {campaign_id} again."
            ),
        )


class BillingAccountMissing(BillingFailure):
    """Raised when the payer (the office or the Billing User) has no billing account."""

    code = "billing_account_missing"

    def __init__(self, *, campaign_id: str, owner_type: OwnerType, owner_name: str) -> None:
        owner = owner_label(owner_type, owner_name)
        super().__init__(
            message=(
                f"{upper_first(owner)} has no billing account, so campaign {campaign_id} "
                f"cannot be charged to {owner}."
            ),
            remediation=(
                f"{owner_who_acts(owner_type, owner_name)} must create one: "
                f"{ADD_PAYMENT_METHOD}. Then publish campaign {campaign_id} again."
            ),
        )


class BillingAccountInactive(BillingFailure):
    """Raised when the payer's billing account is pending setup or disabled."""

    code = "billing_account_inactive"

    def __init__(
        self,
        *,
        campaign_id: str,
        owner_type: OwnerType,
        owner_name: str,
        account_id: str,
        account_status: AccountStatus,
    ) -> None:
        owner = owner_label(owner_type, owner_name)
        who = owner_who_acts(owner_type, owner_name)
        if account_status is AccountStatus.DISABLED:
            state = "is disabled"
            fix = (
                f"{who} must re-enable it under Account > Billing, or choose another payer "
                f"under {BILLING_USER_PICKER}"
            )
        else:
            state = "is pending setup: no payment method has been saved on it yet"
            fix = f"{who} must finish setting it up: {ADD_PAYMENT_METHOD}"
        super().__init__(
            message=(
                f"The billing account {account_id} of {owner} {state}, so campaign "
                f"{campaign_id} cannot be charged to it."
            ),
            remediation=f"{fix}. Then publish campaign {campaign_id} again.",
        )


class PaymentMethodMissing(BillingFailure):
    """Raised when the payer's billing account has no payment method that may be charged: the
    selected one was removed, or there is no active default."""

    code = "payment_method_missing"

    def __init__(
        self,
        *,
        campaign_id: str,
        owner_type: OwnerType,
        owner_name: str,
        account_id: str,
        removed_card: str | None = None,
        other_active_cards: int = 0,
    ) -> None:
        """`removed_card` labels a selected card that was detached; `other_active_cards` counts
        usable cards that nobody chose (no default, no selection), which are never charged."""
        owner = owner_label(owner_type, owner_name)
        who = owner_who_acts(owner_type, owner_name)
        if removed_card is not None:
            message = (
                f"{removed_card}, selected for campaign {campaign_id}, has been removed from "
                f"the billing account {account_id} of {owner}."
            )
            fix = (
                f"{who} must add a payment method ({ADD_PAYMENT_METHOD}), or select another "
                f"card of the account under {BILLING_USER_PICKER}"
            )
        elif other_active_cards:
            message = (
                f"The billing account {account_id} of {owner} has no default payment method, "
                f"and campaign {campaign_id} selected none of the active cards on it "
                f"({other_active_cards})."
            )
            fix = (
                f"{who} must make one of those cards the default under Account > Billing, or "
                f"select one under {BILLING_USER_PICKER}"
            )
        else:
            message = (
                f"The billing account {account_id} of {owner} has no active payment method, so "
                f"campaign {campaign_id} cannot be charged to it."
            )
            fix = f"{who} must add one: {ADD_PAYMENT_METHOD}"
        super().__init__(
            message=message, remediation=f"{fix}. Then publish campaign {campaign_id} again."
        )


class PaymentMethodNotOnAccount(BillingFailure):
    """Raised when the selected payment method is not one of the payer's billing account's."""

    code = "payment_method_not_on_account"

    def __init__(
        self,
        *,
        campaign_id: str,
        payment_method_id: str,
        owner_type: OwnerType,
        owner_name: str,
        account_id: str,
    ) -> None:
        owner = owner_label(owner_type, owner_name)
        super().__init__(
            message=(
                f"Payment method {payment_method_id}, selected for campaign {campaign_id}, is "
                f"not one of the payment methods on the billing account {account_id} of {owner}."
            ),
            remediation=(
                f"Under {BILLING_USER_PICKER}, select one of the payment methods of {owner} "
                f"(or none, to use its default), then publish campaign {campaign_id} again."
            ),
        )


class PaymentMethodExpired(BillingFailure):
    """Raised when the payment method to charge (the selected one, or the default) has expired."""

    code = "payment_method_expired"

    def __init__(
        self,
        *,
        campaign_id: str,
        card: str,
        owner_type: OwnerType,
        owner_name: str,
        selected: bool,
    ) -> None:
        owner = owner_label(owner_type, owner_name)
        role = (
            f"selected for campaign {campaign_id}" if selected else f"the default card of {owner}"
        )
        super().__init__(
            message=(
                f"{card}, {role}, has expired, so campaign {campaign_id} cannot be charged to "
                f"{owner}."
            ),
            remediation=(
                f"{owner_who_acts(owner_type, owner_name)} must add a current card "
                f"({ADD_PAYMENT_METHOD}), or select another active card under "
                f"{BILLING_USER_PICKER}. Then publish campaign {campaign_id} again."
            ),
        )


# Stripe's decline codes worth explaining (https://docs.stripe.com/declines/codes). Codes such
# as lost_card, stolen_card and fraudulent are deliberately absent: Stripe advises showing them
# as a generic decline so that whoever holds the card learns nothing; `decline_code` still
# carries them for support.
_DECLINE_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "insufficient_funds": "the card has insufficient funds",
        "expired_card": "the bank reports that the card has expired",
        "incorrect_cvc": "the card's security code was rejected",
        "card_velocity_exceeded": "the card's spending limit has been reached",
        "withdrawal_count_limit_exceeded": "the card's spending limit has been reached",
    }
)


class CardDeclined(BillingFailure):
    """Raised when Stripe reports that the bank declined the charge; carries Stripe's
    `decline_code` (e.g. `insufficient_funds`) when Stripe gives one."""

    code = "card_declined"
    extra_fields = ("decline_code",)

    def __init__(
        self,
        *,
        campaign_id: str,
        card: str,
        owner_type: OwnerType,
        owner_name: str,
        decline_code: str | None,
    ) -> None:
        owner = owner_label(owner_type, owner_name)
        explained = _DECLINE_REASONS.get(decline_code or "")
        reason = (
            f"{explained} (decline code {decline_code})"
            if explained
            else "the bank gave no reason that can be shown here"
        )
        super().__init__(
            message=f"The bank declined {card} of {owner} for campaign {campaign_id}: {reason}.",
            remediation=(
                f"{owner_who_acts(owner_type, owner_name)} must contact the card's bank or use "
                f"another card ({ADD_PAYMENT_METHOD}, or select one under "
                f"{BILLING_USER_PICKER}). Then publish campaign {campaign_id} again."
            ),
        )
        self.decline_code = decline_code


class AuthenticationRequired(BillingFailure):
    """Raised when the bank wants the cardholder present to authenticate the charge (3-D Secure),
    which an off-session charge cannot do; carries the `payment_url` the cardholder completes."""

    code = "authentication_required"
    extra_fields = ("payment_url",)

    def __init__(
        self,
        *,
        campaign_id: str,
        card: str,
        owner_type: OwnerType,
        owner_name: str,
        payment_url: str | None = None,
    ) -> None:
        owner = owner_label(owner_type, owner_name)
        # The cardholder is the one person who can authenticate: never the admin who created it.
        cardholder = owner_who_acts(owner_type, owner_name)
        super().__init__(
            message=(
                f"The bank behind {card} of {owner} requires the cardholder to authenticate "
                f"the payment for campaign {campaign_id}, so it could not be charged "
                "automatically."
            ),
            remediation=(
                f"{cardholder} must open the payment link sent to them and confirm the payment "
                f"with the bank; campaign {campaign_id} is published as soon as it completes. "
                f"If no link arrives, publish campaign {campaign_id} again to get a new one."
            ),
        )
        self.payment_url = payment_url

    @property
    def status(self) -> FailureStatus:
        return "requires_action"

    def with_payment_url(self, payment_url: str) -> AuthenticationRequired:
        """The same failure carrying its payment link, which can only be created after Stripe
        reported the need (works on a failure rebuilt from storage too)."""
        return AuthenticationRequired._restored({**self.to_dict(), "payment_url": payment_url})


class PaymentProviderUnavailable(BillingFailure):
    """Raised when Stripe kept failing (network error, 5xx, 429) after the retry budget."""

    code = "payment_provider_unavailable"
    retryable = True

    def __init__(self, *, campaign_id: str, attempts: int, last_error: str) -> None:
        super().__init__(
            message=(
                f"Stripe could not be reached to charge campaign {campaign_id} after {attempts} "
                f"attempts (last error: {last_error})."
            ),
            remediation=(
                "Nothing on the account needs to change: publish campaign "
                f"{campaign_id} again in a few minutes. If it keeps failing, operators should "
                "check Stripe's status page and the worker logs."
            ),
        )


class PaymentProviderRejected(BillingFailure):
    """Raised when Stripe refused the request itself (invalid request, authentication or
    permission error): a fault on our side that the payer cannot fix."""

    code = "payment_provider_rejected"

    def __init__(self, *, campaign_id: str, reason: str) -> None:
        super().__init__(
            message=f"Stripe rejected the request to charge campaign {campaign_id}: {reason}.",
            remediation=(
                "The payer cannot fix this: operators must check the Stripe API key and the "
                f"request in the worker logs (search for campaign {campaign_id}), then publish "
                "it again."
            ),
        )


FAILURE_CLASSES: Mapping[str, type[BillingFailure]] = MappingProxyType(
    {
        failure_class.code: failure_class
        for failure_class in (
            CampaignNotFound,
            OfficeNotFound,
            AgentBillingUnavailableV1,
            BillingUserMissing,
            BillingUserInvalid,
            CreatorNotAuthorized,
            DelegationNotAllowed,
            BillingAccountMissing,
            BillingAccountInactive,
            PaymentMethodMissing,
            PaymentMethodNotOnAccount,
            PaymentMethodExpired,
            CardDeclined,
            AuthenticationRequired,
            PaymentProviderUnavailable,
            PaymentProviderRejected,
        )
    }
)
