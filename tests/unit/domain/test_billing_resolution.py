"""Billing resolution, one rule at a time: who pays, with which card, and why not."""

from __future__ import annotations

import dataclasses

import pytest
from billing_builders import (
    CAMPAIGN,
    DOWNTOWN,
    NOW,
    OTHER_WORKSPACE,
    admin,
    agent,
    agent_account,
    agent_billed,
    card,
    office,
    office_account,
    office_billed,
)

from campaign_billing.domain.errors import BillingFailure
from campaign_billing.domain.model import (
    AccountStatus,
    BillingType,
    CampaignVersion,
    Office,
    OwnerType,
    PaymentMethod,
    PaymentMethodStatus,
    User,
)
from campaign_billing.domain.resolution import (
    Payer,
    PayerContext,
    Step,
    explain,
    resolve_payer,
)

JANE = agent(name="Jane Doe")
JANE_CONSENTING = agent(name="Jane Doe", allow_admin_invoicing=True)
SAM = admin(name="Sam Lee")


def failure_of(ctx: PayerContext) -> BillingFailure:
    with pytest.raises(BillingFailure) as raised:
        resolve_payer(ctx, NOW)
    return raised.value


def naming_billing_user(ctx: PayerContext, billing_user_id: str | None) -> PayerContext:
    billing = dataclasses.replace(ctx.campaign.billing, billing_user_id=billing_user_id)
    return dataclasses.replace(ctx, campaign=dataclasses.replace(ctx.campaign, billing=billing))


# Who pays


def test_an_agent_of_the_office_bills_the_office() -> None:
    payer = resolve_payer(office_billed(agent("u_ann", name="Ann Park")), NOW)

    assert payer.account.id == "ba_downtown"
    assert payer.owner_name == "Downtown"
    assert payer.billing_type is BillingType.OFFICE


def test_an_office_admin_bills_the_office() -> None:
    assert resolve_payer(office_billed(SAM), NOW).account.id == "ba_downtown"


def test_a_workspace_admin_bills_any_office_of_the_workspace() -> None:
    wendy = admin("u_wendy", name="Wendy Ng", office_id=None)

    assert resolve_payer(office_billed(wendy), NOW).account.id == "ba_downtown"


def test_a_v1_campaign_may_still_bill_the_office() -> None:
    ctx = office_billed(SAM, version=CampaignVersion.V1)

    assert resolve_payer(ctx, NOW).account.owner_type is OwnerType.OFFICE


def test_an_agent_bills_their_own_account() -> None:
    payer = resolve_payer(agent_billed(JANE, JANE), NOW)

    assert payer == Payer(
        account=agent_account(),
        payment_method=agent_account().payment_methods[0],
        owner_name="Jane Doe",
        billing_type=BillingType.AGENT,
    )


def test_an_admin_bills_an_agent_who_allows_admin_invoicing() -> None:
    payer = resolve_payer(agent_billed(SAM, JANE_CONSENTING), NOW)

    assert payer.account.id == "ba_jane"
    assert payer.owner_name == "Jane Doe"


# Which card


JANE_WITH_TWO_CARDS = agent_account(
    cards=(
        card("pmr_visa", account_id="ba_jane", last4="4242", is_default=True),
        card("pmr_amex", account_id="ba_jane", brand="amex", last4="0005", is_default=False),
    )
)


def test_the_default_card_is_charged_when_none_was_selected() -> None:
    ctx = agent_billed(JANE, JANE, the_account=JANE_WITH_TWO_CARDS)

    assert resolve_payer(ctx, NOW).payment_method.last4 == "4242"


@pytest.mark.parametrize("selected", ["pmr_amex", "pm_pmr_amex"], ids=["our id", "stripe id"])
def test_a_selected_non_default_card_is_charged(selected: str) -> None:
    ctx = agent_billed(JANE, JANE, the_account=JANE_WITH_TWO_CARDS, payment_method_id=selected)

    assert resolve_payer(ctx, NOW).payment_method.last4 == "0005"


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_card_selection_means_the_default(blank: str) -> None:
    ctx = agent_billed(JANE, JANE, the_account=JANE_WITH_TWO_CARDS, payment_method_id=blank)

    assert resolve_payer(ctx, NOW).payment_method.last4 == "4242"


def test_a_card_is_usable_through_the_last_day_of_its_expiry_month() -> None:
    this_month = agent_account(cards=(card(account_id="ba_jane", expires=(NOW.month, NOW.year)),))

    payer = resolve_payer(agent_billed(JANE, JANE, the_account=this_month), NOW)

    assert payer.payment_method.exp_month == NOW.month


def test_an_office_billed_campaign_may_select_one_of_the_offices_cards() -> None:
    cards = (
        card("pmr_ops", account_id="ba_downtown", last4="1111", is_default=True),
        card("pmr_mkt", account_id="ba_downtown", last4="2222", is_default=False),
    )
    ctx = office_billed(SAM, payment_method_id="pmr_mkt", the_account=office_account(cards=cards))

    assert resolve_payer(ctx, NOW).payment_method.last4 == "2222"


# One test per failure code of the rules


def test_a_v1_campaign_cannot_bill_an_agent_and_does_not_fall_back_to_the_office() -> None:
    failure = failure_of(agent_billed(JANE, JANE, version=CampaignVersion.V1))

    assert failure.code == "agent_billing_unavailable_v1"
    assert "Jane Doe" in failure.message
    assert CAMPAIGN in failure.message


@pytest.mark.parametrize(
    "the_office",
    [None, office(workspace_id=OTHER_WORKSPACE, name="Rival Downtown")],
    ids=["missing", "of another workspace"],
)
def test_a_campaign_whose_office_is_not_in_its_workspace_bills_nobody(
    the_office: Office | None,
) -> None:
    ctx = office_billed(SAM)
    ctx = dataclasses.replace(ctx, office=the_office)

    failure = failure_of(ctx)

    assert failure.code == "office_not_found"
    assert "Rival" not in failure.message


@pytest.mark.parametrize("billing_user_id", [None, "", "  "])
def test_agent_billing_without_a_billing_user_fails(billing_user_id: str | None) -> None:
    ctx = naming_billing_user(agent_billed(JANE, None), billing_user_id)

    assert failure_of(ctx).code == "billing_user_missing"


@pytest.mark.parametrize(
    ("billing_user", "expected"),
    [
        (None, "User u_jane of campaign cmp_spring_open_house is not known in this workspace"),
        (agent(workspace_id=OTHER_WORKSPACE, name="Rival Jane"), "u_jane of campaign"),
        (
            admin("u_jane", name="Jane Doe"),
            "Jane Doe of campaign cmp_spring_open_house is an admin",
        ),
        (agent(office_id="off_uptown"), "agent of office off_uptown, not of office Downtown"),
    ],
    ids=["unknown", "of another workspace", "an admin", "of another office"],
)
def test_a_billing_user_who_is_not_an_agent_of_the_campaigns_office_is_invalid(
    billing_user: User | None, expected: str
) -> None:
    # The creator is the Billing User, so only the Billing User's own validity can fail.
    ctx = agent_billed(billing_user, billing_user, created_by="u_jane", billing_user_id="u_jane")

    failure = failure_of(ctx)

    assert failure.code == "billing_user_invalid"
    assert expected in failure.message
    assert "Rival" not in failure.message


@pytest.mark.parametrize(
    "ctx",
    [
        office_billed(agent("u_ann", name="Ann Park", office_id="off_uptown")),
        office_billed(admin("u_una", name="Una Obi", office_id="off_uptown")),
        office_billed(
            admin("u_rex", name="Rex Rival", office_id=None, workspace_id=OTHER_WORKSPACE)
        ),
        office_billed(None, created_by="u_ghost"),
        agent_billed(agent("u_ann", name="Ann Park"), JANE_CONSENTING),
        agent_billed(admin("u_una", name="Una Obi", office_id="off_uptown"), JANE_CONSENTING),
    ],
    ids=[
        "office billing by an agent of another office",
        "office billing by an admin of another office",
        "office billing by a workspace admin of another workspace",
        "office billing by an unknown user",
        "agent billing by another agent of the office",
        "agent billing by an admin of another office",
    ],
)
def test_a_creator_who_may_not_bill_the_payer_is_not_authorized(ctx: PayerContext) -> None:
    failure = failure_of(ctx)

    assert failure.code == "creator_not_authorized"
    assert "Rex Rival" not in failure.message


def test_admin_cannot_bill_agent_without_consent() -> None:
    failure = failure_of(agent_billed(SAM, JANE))

    assert failure.code == "delegation_not_allowed"
    assert failure.message == (
        'Agent Jane Doe has not enabled "Allow admins to create and invoice campaigns on my '
        f'behalf", so admin Sam Lee cannot bill campaign {CAMPAIGN} to Jane Doe.'
    )
    assert failure.remediation.startswith(
        'Jane Doe must enable "Allow admins to create and invoice campaigns on my behalf"'
    )


@pytest.mark.parametrize(
    "ctx",
    [
        agent_billed(JANE, JANE, no_account=True),
        agent_billed(JANE, JANE, the_account=agent_account(workspace_id=OTHER_WORKSPACE)),
        agent_billed(JANE, JANE, the_account=agent_account(agent_id="u_ann")),
        office_billed(SAM, no_account=True),
        office_billed(SAM, the_account=office_account(office_id="off_uptown")),
        # Upstream ids of users and offices are separate namespaces and may coincide.
        office_billed(SAM, the_account=agent_account(agent_id=DOWNTOWN)),
    ],
    ids=[
        "agent without an account",
        "agent account of another workspace",
        "another agent's account",
        "office without an account",
        "another office's account",
        "an agent's account under the office's id",
    ],
)
def test_a_payer_without_a_billing_account_of_their_own_cannot_be_charged(
    ctx: PayerContext,
) -> None:
    assert failure_of(ctx).code == "billing_account_missing"


@pytest.mark.parametrize(
    ("status", "said"),
    [(AccountStatus.PENDING_SETUP, "is pending setup"), (AccountStatus.DISABLED, "is disabled")],
)
def test_an_account_that_is_not_active_cannot_be_charged_and_says_why(
    status: AccountStatus, said: str
) -> None:
    failure = failure_of(agent_billed(JANE, JANE, the_account=agent_account(status=status)))

    assert failure.code == "billing_account_inactive"
    assert said in failure.message
    assert "ba_jane" in failure.message


def test_a_pending_account_is_told_to_finish_setup_in_stripe() -> None:
    pending = agent_account(status=AccountStatus.PENDING_SETUP)

    failure = failure_of(agent_billed(JANE, JANE, the_account=pending))

    assert "Account > Billing > Add a payment method > Continue to Stripe > Save" in (
        failure.remediation
    )


def test_a_selected_card_of_another_account_is_not_charged() -> None:
    ctx = agent_billed(JANE, JANE, payment_method_id="pmr_office_visa")

    failure = failure_of(ctx)

    assert failure.code == "payment_method_not_on_account"
    assert "pmr_office_visa" in failure.message


def test_a_card_listed_on_an_account_but_recorded_against_another_is_not_charged() -> None:
    stray = card("pmr_stray", account_id="ba_downtown", is_default=True)
    ctx = agent_billed(
        JANE, JANE, the_account=agent_account(cards=(stray,)), payment_method_id="pmr_stray"
    )

    assert failure_of(ctx).code == "payment_method_not_on_account"


@pytest.mark.parametrize(
    "expired_card",
    [
        card(account_id="ba_jane", last4="4000", expires=(5, 2026)),
        card(account_id="ba_jane", last4="4000", status=PaymentMethodStatus.EXPIRED),
    ],
    ids=["past its expiry month", "marked expired by Stripe"],
)
@pytest.mark.parametrize("selected", [True, False], ids=["selected", "default"])
def test_an_expired_card_is_not_charged(expired_card: PaymentMethod, selected: bool) -> None:
    account = agent_account(cards=(expired_card,))
    ctx = agent_billed(
        JANE, JANE, the_account=account, payment_method_id="pmr_visa" if selected else None
    )

    failure = failure_of(ctx)

    assert failure.code == "payment_method_expired"
    assert "ending 4000" in failure.message


def test_an_expired_default_is_reported_even_when_another_card_is_active() -> None:
    cards = (
        card("pmr_old", account_id="ba_jane", expires=(1, 2024), is_default=True),
        card("pmr_new", account_id="ba_jane", is_default=False),
    )

    failure = failure_of(agent_billed(JANE, JANE, the_account=agent_account(cards=cards)))

    assert failure.code == "payment_method_expired"


@pytest.mark.parametrize(
    ("cards", "selected"),
    [
        ((), None),
        ((card(account_id="ba_jane", status=PaymentMethodStatus.DETACHED),), None),
        ((card(account_id="ba_jane", status=PaymentMethodStatus.DETACHED),), "pmr_visa"),
    ],
    ids=["no card at all", "the default was removed", "the selected card was removed"],
)
def test_an_account_without_an_active_card_to_charge_fails_with_payment_method_missing(
    cards: tuple[PaymentMethod, ...], selected: str | None
) -> None:
    account = agent_account(cards=cards)

    failure = failure_of(agent_billed(JANE, JANE, the_account=account, payment_method_id=selected))

    assert failure.code == "payment_method_missing"


def test_a_default_card_recorded_against_another_account_is_not_charged() -> None:
    stray = card("pmr_stray", account_id="ba_downtown", is_default=True)

    failure = failure_of(agent_billed(JANE, JANE, the_account=agent_account(cards=(stray,))))

    assert failure.code == "payment_method_missing"


def test_an_active_card_nobody_chose_is_never_charged_for_want_of_a_default() -> None:
    undefaulted = agent_account(cards=(card(account_id="ba_jane", is_default=False),))

    failure = failure_of(agent_billed(JANE, JANE, the_account=undefaulted))

    assert failure.code == "payment_method_missing"
    assert "no default payment method" in failure.message
    assert "selected none of the active cards on it (1)" in failure.message
    assert "Budget and Schedule > Billing User" in failure.remediation


@pytest.mark.parametrize(
    ("ctx", "named"),
    [
        (agent_billed(SAM, JANE), ["Agent Jane Doe", "admin Sam Lee", CAMPAIGN]),
        (
            agent_billed(agent("u_ann", name="Ann Park"), JANE),
            ["Agent Ann Park", "Billing User Jane Doe", "office Downtown", CAMPAIGN],
        ),
        (
            office_billed(agent("u_ann", name="Ann Park", office_id="off_uptown")),
            ["Agent Ann Park", "office Downtown", CAMPAIGN],
        ),
        (agent_billed(JANE, JANE, no_account=True), ["Agent Jane Doe", CAMPAIGN]),
        (
            agent_billed(
                JANE,
                JANE,
                the_account=agent_account(
                    cards=(card(account_id="ba_jane", last4="0341", expires=(2, 2026)),)
                ),
            ),
            ["Visa ending 0341 (expires 02/2026)", "agent Jane Doe", CAMPAIGN],
        ),
        (
            agent_billed(
                JANE,
                JANE,
                payment_method_id="pmr_visa",
                the_account=agent_account(
                    cards=(card(account_id="ba_jane", status=PaymentMethodStatus.DETACHED),)
                ),
            ),
            ["Visa ending 4242", "ba_jane", "agent Jane Doe", CAMPAIGN],
        ),
    ],
    ids=[
        "delegation",
        "creator of agent billing",
        "creator of office billing",
        "account",
        "expired card",
        "removed card",
    ],
)
def test_a_failure_names_the_people_and_things_involved(
    ctx: PayerContext, named: list[str]
) -> None:
    message = failure_of(ctx).message

    assert [name for name in named if name not in message] == []


# Order of the rules: the first broken rule is the one reported


def test_a_v1_campaign_is_reported_before_a_missing_billing_user() -> None:
    ctx = naming_billing_user(agent_billed(JANE, None, version=CampaignVersion.V1), None)

    assert failure_of(ctx).code == "agent_billing_unavailable_v1"


def test_a_missing_consent_is_reported_before_a_missing_account() -> None:
    assert failure_of(agent_billed(SAM, JANE, no_account=True)).code == "delegation_not_allowed"


def test_an_unauthorized_creator_is_reported_before_the_office_account() -> None:
    stranger = agent("u_ann", name="Ann Park", office_id="off_uptown")

    assert failure_of(office_billed(stranger, no_account=True)).code == "creator_not_authorized"


# Explanations


def test_explain_tells_support_each_check_in_plain_words() -> None:
    resolution = explain(agent_billed(SAM, JANE_CONSENTING), NOW)

    assert resolution.steps == (
        Step(
            "campaign_version",
            True,
            f"Campaign {CAMPAIGN} is a V2 campaign: agent billing is available.",
        ),
        Step("office", True, f"Campaign {CAMPAIGN} belongs to office Downtown."),
        Step("billing_user", True, "Billing User is agent Jane Doe of office Downtown."),
        Step(
            "creator",
            True,
            "Admin Sam Lee created the campaign and is an admin over office Downtown.",
        ),
        Step(
            "delegation",
            True,
            'Jane Doe has enabled "Allow admins to create and invoice campaigns on my behalf".',
        ),
        Step("billing_account", True, "Agent Jane Doe has billing account ba_jane."),
        Step("billing_account_status", True, "Agent Jane Doe's billing account ba_jane is active."),
        Step(
            "payment_method",
            True,
            "Visa ending 4242 (expires 12/2030) is active and is the default.",
        ),
    )
    assert resolution.payer == resolve_payer(agent_billed(SAM, JANE_CONSENTING), NOW)


def test_explain_stops_at_the_first_failed_check_and_shows_the_failure() -> None:
    resolution = explain(agent_billed(SAM, JANE), NOW)

    assert [step.check for step in resolution.steps] == [
        "campaign_version",
        "office",
        "billing_user",
        "creator",
        "delegation",
    ]
    assert resolution.steps[-1].passed is False
    assert resolution.failure is not None
    assert resolution.steps[-1].detail == resolution.failure.message
    assert resolution.payer is None


def test_resolve_payer_raises_the_failure_explain_reports() -> None:
    ctx = agent_billed(SAM, JANE)
    explained = explain(ctx, NOW).failure

    assert explained is not None
    assert failure_of(ctx).to_dict() == explained.to_dict()
