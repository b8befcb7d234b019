"""Small builders for billing-domain tests: one office (Downtown) in one workspace, its people
and accounts, with defaults that resolve, so a test states only what it changes.

The module name is unique on purpose: without `__init__.py` files pytest puts this folder on
`sys.path`, and a plain `builders` would collide with another folder's.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
)
from campaign_billing.domain.resolution import PayerContext

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WORKSPACE = "ws_acme"
OTHER_WORKSPACE = "ws_rival"
DOWNTOWN = "off_downtown"
CAMPAIGN = "cmp_spring_open_house"


def office(
    office_id: str = DOWNTOWN, *, name: str = "Downtown", workspace_id: str = WORKSPACE
) -> Office:
    return Office(id=office_id, workspace_id=workspace_id, name=name)


def agent(
    user_id: str = "u_jane",
    *,
    name: str = "Jane Doe",
    office_id: str | None = DOWNTOWN,
    allow_admin_invoicing: bool = False,
    workspace_id: str = WORKSPACE,
) -> User:
    return User(
        id=user_id,
        workspace_id=workspace_id,
        name=name,
        email=f"{user_id}@example.com",
        role=Role.AGENT,
        office_id=office_id,
        allow_admin_invoicing=allow_admin_invoicing,
    )


def admin(
    user_id: str = "u_sam",
    *,
    name: str = "Sam Lee",
    office_id: str | None = DOWNTOWN,
    workspace_id: str = WORKSPACE,
) -> User:
    """An office admin of Downtown; `office_id=None` makes a workspace admin."""
    return User(
        id=user_id,
        workspace_id=workspace_id,
        name=name,
        email=f"{user_id}@example.com",
        role=Role.ADMIN,
        office_id=office_id,
    )


def card(
    card_id: str = "pmr_visa",
    *,
    account_id: str,
    last4: str = "4242",
    brand: str = "visa",
    expires: tuple[int, int] = (12, 2030),
    status: PaymentMethodStatus = PaymentMethodStatus.ACTIVE,
    is_default: bool = True,
) -> PaymentMethod:
    month, year = expires
    return PaymentMethod(
        id=card_id,
        billing_account_id=account_id,
        stripe_payment_method_id=f"pm_{card_id}",
        brand=brand,
        last4=last4,
        exp_month=month,
        exp_year=year,
        status=status,
        is_default=is_default,
    )


def account(
    account_id: str,
    *,
    owner_type: OwnerType,
    owner_id: str,
    status: AccountStatus = AccountStatus.ACTIVE,
    cards: tuple[PaymentMethod, ...] | None = None,
    workspace_id: str = WORKSPACE,
) -> BillingAccount:
    """An account; by default active with one default Visa ending 4242."""
    return BillingAccount(
        id=account_id,
        workspace_id=workspace_id,
        owner_type=owner_type,
        owner_id=owner_id,
        status=status,
        stripe_customer_id=f"cus_{account_id}",
        payment_methods=(card(account_id=account_id),) if cards is None else cards,
    )


def office_account(
    account_id: str = "ba_downtown",
    *,
    office_id: str = DOWNTOWN,
    status: AccountStatus = AccountStatus.ACTIVE,
    cards: tuple[PaymentMethod, ...] | None = None,
    workspace_id: str = WORKSPACE,
) -> BillingAccount:
    return account(
        account_id,
        owner_type=OwnerType.OFFICE,
        owner_id=office_id,
        status=status,
        cards=cards,
        workspace_id=workspace_id,
    )


def agent_account(
    account_id: str = "ba_jane",
    *,
    agent_id: str = "u_jane",
    status: AccountStatus = AccountStatus.ACTIVE,
    cards: tuple[PaymentMethod, ...] | None = None,
    workspace_id: str = WORKSPACE,
) -> BillingAccount:
    return account(
        account_id,
        owner_type=OwnerType.AGENT,
        owner_id=agent_id,
        status=status,
        cards=cards,
        workspace_id=workspace_id,
    )


def office_billing(payment_method_id: str | None = None) -> BillingSelection:
    return BillingSelection(type=BillingType.OFFICE, payment_method_id=payment_method_id)


def agent_billing(
    billing_user_id: str | None = "u_jane", payment_method_id: str | None = None
) -> BillingSelection:
    return BillingSelection(
        type=BillingType.AGENT,
        billing_user_id=billing_user_id,
        payment_method_id=payment_method_id,
    )


def campaign(
    *,
    created_by: str,
    billing: BillingSelection,
    version: CampaignVersion = CampaignVersion.V2,
    campaign_id: str = CAMPAIGN,
    office_id: str = DOWNTOWN,
    workspace_id: str = WORKSPACE,
) -> Campaign:
    return Campaign(
        id=campaign_id,
        workspace_id=workspace_id,
        office_id=office_id,
        created_by=created_by,
        version=version,
        price=Money(49_900, "usd"),
        billing=billing,
    )


def office_billed(
    creator: User | None,
    *,
    created_by: str | None = None,
    version: CampaignVersion = CampaignVersion.V2,
    payment_method_id: str | None = None,
    the_office: Office | None = None,
    the_account: BillingAccount | None = None,
    no_account: bool = False,
) -> PayerContext:
    """An office-billed campaign of Downtown created by `creator`, as the adapter loads it."""
    return PayerContext(
        campaign=campaign(
            created_by=created_by or _id_of(creator),
            billing=office_billing(payment_method_id),
            version=version,
        ),
        office=the_office or office(),
        creator=creator,
        billing_user=None,
        office_account=None if no_account else the_account or office_account(),
        agent_account=None,
    )


def agent_billed(
    creator: User | None,
    billing_user: User | None,
    *,
    created_by: str | None = None,
    billing_user_id: str | None = None,
    version: CampaignVersion = CampaignVersion.V2,
    payment_method_id: str | None = None,
    the_office: Office | None = None,
    the_account: BillingAccount | None = None,
    no_account: bool = False,
) -> PayerContext:
    """A campaign of Downtown created by `creator` and billed to `billing_user`, with that
    agent's account (by default active, with a default Visa ending 4242)."""
    chosen_id = billing_user_id or _id_of(billing_user)
    return PayerContext(
        campaign=campaign(
            created_by=created_by or _id_of(creator),
            billing=agent_billing(chosen_id, payment_method_id),
            version=version,
        ),
        office=the_office or office(),
        creator=creator,
        billing_user=billing_user,
        office_account=office_account(),
        agent_account=None if no_account else the_account or agent_account(agent_id=chosen_id),
    )


def _id_of(user: User | None) -> str:
    return "u_unknown" if user is None else user.id
