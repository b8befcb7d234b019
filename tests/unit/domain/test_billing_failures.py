"""The failure contract: codes, wording, status, and the stored JSON form."""

from __future__ import annotations

import json
import pickle
from typing import TypedDict

import pytest

from campaign_billing.domain import errors
from campaign_billing.domain.errors import (
    FAILURE_CLASSES,
    AgentBillingUnavailableV1,
    AuthenticationRequired,
    BillingAccountInactive,
    BillingAccountMissing,
    BillingFailure,
    BillingUserInvalid,
    BillingUserMissing,
    CampaignNotFound,
    CardDeclined,
    CreatorNotAuthorized,
    DelegationNotAllowed,
    OfficeNotFound,
    PaymentMethodExpired,
    PaymentMethodMissing,
    PaymentMethodNotOnAccount,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
)
from campaign_billing.domain.model import AccountStatus, OwnerType

# SPEC.md's table, copied rather than imported: renaming a code must break a test.
SPEC_CODES = {
    "campaign_not_found",
    "agent_billing_unavailable_v1",
    "billing_user_missing",
    "billing_user_invalid",
    "creator_not_authorized",
    "delegation_not_allowed",
    "billing_account_missing",
    "billing_account_inactive",
    "payment_method_missing",
    "payment_method_not_on_account",
    "payment_method_expired",
    "card_declined",
    "authentication_required",
    "payment_provider_unavailable",
    "payment_provider_rejected",
}
VISA = "Visa ending 4242 (expires 12/2030)"


class Owner(TypedDict):
    owner_type: OwnerType
    owner_name: str


JANE: Owner = {"owner_type": OwnerType.AGENT, "owner_name": "Jane Doe"}


def one_of_each() -> list[BillingFailure]:
    campaign_id = "cmp_spring"
    return [
        CampaignNotFound(campaign_id),
        OfficeNotFound(campaign_id=campaign_id, office_id="off_gone"),
        AgentBillingUnavailableV1(campaign_id=campaign_id, billing_user="Jane Doe"),
        BillingUserMissing(campaign_id=campaign_id),
        BillingUserInvalid(
            campaign_id=campaign_id,
            billing_user="Sam Lee",
            office_name="Downtown",
            reason="is an admin, not an agent of office Downtown",
        ),
        CreatorNotAuthorized(
            campaign_id=campaign_id,
            creator="agent Ann Park",
            payer="agent Jane Doe",
            allowed="the Billing User Jane Doe or an admin over office Downtown",
        ),
        DelegationNotAllowed(campaign_id=campaign_id, agent_name="Jane Doe", admin_name="Sam Lee"),
        BillingAccountMissing(campaign_id=campaign_id, **JANE),
        BillingAccountInactive(
            campaign_id=campaign_id,
            account_id="ba_1",
            account_status=AccountStatus.DISABLED,
            **JANE,
        ),
        PaymentMethodMissing(campaign_id=campaign_id, account_id="ba_1", **JANE),
        PaymentMethodNotOnAccount(
            campaign_id=campaign_id, payment_method_id="pm_other", account_id="ba_1", **JANE
        ),
        PaymentMethodExpired(campaign_id=campaign_id, card=VISA, selected=True, **JANE),
        CardDeclined(campaign_id=campaign_id, card=VISA, decline_code="insufficient_funds", **JANE),
        AuthenticationRequired(
            campaign_id=campaign_id, card=VISA, payment_url="https://pay.example/cs_1", **JANE
        ),
        PaymentProviderUnavailable(campaign_id=campaign_id, attempts=5, last_error="HTTP 503"),
        PaymentProviderRejected(campaign_id=campaign_id, reason="Invalid API key"),
    ]


EACH = one_of_each()
EACH_ID = [failure.code for failure in EACH]


def test_every_code_of_the_spec_has_a_failure_class() -> None:
    assert set(FAILURE_CLASSES) >= SPEC_CODES


def test_the_only_code_beyond_the_spec_is_office_not_found() -> None:
    assert set(FAILURE_CLASSES) - SPEC_CODES == {"office_not_found"}


def test_the_registry_holds_every_failure_class_under_its_own_code() -> None:
    declared = {
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, BillingFailure)
        and value is not BillingFailure
    }
    assert set(FAILURE_CLASSES.values()) == declared
    assert all(code == cls.code for code, cls in FAILURE_CLASSES.items())


def test_the_samples_here_cover_every_failure_class() -> None:
    assert {type(failure) for failure in EACH} == set(FAILURE_CLASSES.values())


@pytest.mark.parametrize("failure_class", list(FAILURE_CLASSES.values()), ids=list(FAILURE_CLASSES))
def test_every_failure_class_documents_when_it_is_raised(
    failure_class: type[BillingFailure],
) -> None:
    assert (failure_class.__doc__ or "").startswith("Raised when ")


def test_only_an_unreachable_payment_provider_is_worth_retrying_unchanged() -> None:
    assert {failure.code for failure in EACH if failure.retryable} == {
        "payment_provider_unavailable"
    }


def test_only_authentication_required_leaves_the_publish_request_requiring_action() -> None:
    statuses = {failure.code: failure.status for failure in EACH}
    assert statuses.pop("authentication_required") == "requires_action"
    assert set(statuses.values()) == {"failed"}


@pytest.mark.parametrize("failure", EACH, ids=EACH_ID)
def test_a_failure_renders_code_message_remediation_and_retryable(failure: BillingFailure) -> None:
    rendered = failure.to_dict()

    assert rendered["code"] == failure.code
    assert rendered["message"] == failure.message == str(failure)
    assert rendered["remediation"] == failure.remediation
    assert rendered["retryable"] is failure.retryable
    assert failure.message.strip()
    assert failure.remediation.strip()


@pytest.mark.parametrize("failure", EACH, ids=EACH_ID)
def test_a_failure_stored_as_json_comes_back_the_same(failure: BillingFailure) -> None:
    stored = json.loads(json.dumps(failure.to_dict()))

    restored = BillingFailure.from_dict(stored)

    assert type(restored) is type(failure)
    assert restored.to_dict() == failure.to_dict()
    assert restored.status == failure.status


@pytest.mark.parametrize("failure", EACH, ids=EACH_ID)
def test_a_failure_survives_pickling_as_celery_does(failure: BillingFailure) -> None:
    restored = pickle.loads(pickle.dumps(failure))  # noqa: S301 (our own bytes)

    assert type(restored) is type(failure)
    assert restored.to_dict() == failure.to_dict()


def test_only_card_declined_and_authentication_required_carry_extra_fields() -> None:
    extras = {
        failure.code: set(failure.to_dict()) - {"code", "message", "remediation", "retryable"}
        for failure in EACH
    }
    assert {code: keys for code, keys in extras.items() if keys} == {
        "card_declined": {"decline_code"},
        "authentication_required": {"payment_url"},
    }


def test_a_card_declined_carries_stripes_decline_code_and_explains_it() -> None:
    failure = CardDeclined(
        campaign_id="cmp_spring", card=VISA, decline_code="insufficient_funds", **JANE
    )

    assert failure.to_dict()["decline_code"] == "insufficient_funds"
    assert "insufficient funds" in failure.message
    assert "4242" in failure.message
    assert "Jane Doe" in failure.message


def test_a_decline_stripe_advises_hiding_is_worded_as_a_generic_decline() -> None:
    failure = CardDeclined(campaign_id="cmp_spring", card=VISA, decline_code="stolen_card", **JANE)

    assert "stolen" not in failure.message
    assert failure.to_dict()["decline_code"] == "stolen_card"


def test_a_decline_without_a_decline_code_omits_the_key() -> None:
    failure = CardDeclined(campaign_id="cmp_spring", card=VISA, decline_code=None, **JANE)

    assert "decline_code" not in failure.to_dict()


def test_an_authentication_failure_gains_its_payment_url_once_the_link_exists() -> None:
    without_link = AuthenticationRequired(campaign_id="cmp_spring", card=VISA, **JANE)
    stored = BillingFailure.from_dict(without_link.to_dict())
    assert isinstance(stored, AuthenticationRequired)

    with_link = stored.with_payment_url("https://pay.example/cs_1")

    assert "payment_url" not in without_link.to_dict()
    assert with_link.to_dict()["payment_url"] == "https://pay.example/cs_1"
    assert with_link.message == without_link.message
    assert with_link.status == "requires_action"


def test_authentication_is_asked_of_the_cardholder_not_of_an_admin() -> None:
    failure = AuthenticationRequired(campaign_id="cmp_spring", card=VISA, **JANE)

    assert failure.remediation.startswith("Jane Doe must open the payment link")


def test_an_office_payers_remediation_is_addressed_to_an_admin_over_the_office() -> None:
    failure = BillingAccountMissing(
        campaign_id="cmp_spring", owner_type=OwnerType.OFFICE, owner_name="Downtown"
    )

    assert failure.remediation.startswith("An admin over office Downtown must create one")
    assert "Account > Billing > Add a payment method > Continue to Stripe > Save" in (
        failure.remediation
    )


def test_campaign_not_found_names_the_campaign() -> None:
    failure = CampaignNotFound("cmp_missing")

    assert failure.code == "campaign_not_found"
    assert "cmp_missing" in failure.message


def test_an_unavailable_provider_says_how_often_it_was_tried_and_what_failed() -> None:
    failure = PaymentProviderUnavailable(
        campaign_id="cmp_spring", attempts=5, last_error="HTTP 503"
    )

    assert "5 attempts" in failure.message
    assert "HTTP 503" in failure.message


def test_an_unknown_stored_code_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="unknown billing failure code 'card_melted'"):
        BillingFailure.from_dict({"code": "card_melted", "message": "m", "remediation": "r"})


def test_a_stored_failure_without_its_sentences_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks a message"):
        BillingFailure.from_dict({"code": "billing_user_missing", "message": "m"})


def test_a_stored_extra_field_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValueError, match="non-text decline_code"):
        BillingFailure.from_dict(
            {"code": "card_declined", "message": "m", "remediation": "r", "decline_code": 51}
        )
