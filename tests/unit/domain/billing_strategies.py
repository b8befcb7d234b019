"""Hypothesis strategies: a campaign of a random home workspace, beside a rival workspace, and
the payer context a sometimes careless adapter loads for it.

The rival workspace reuses the home workspace's ids (ids are only unique inside a workspace) and
is ideal: every agent consents, every account is active with a usable default card. So an
adapter that loads by id alone brings in rival objects that would pass every rule, and a rule
that forgets the workspace turns into a payer from the wrong workspace. Names are unique across
workspaces, so a test can tell whether a message revealed one.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from billing_builders import NOW
from hypothesis import settings
from hypothesis import strategies as st

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

# Enough examples to meet every rule many times while the unit suite stays fast. The profile is
# applied per test, so pytest's global `--hypothesis-profile` does not reach it: set
# BILLING_DOMAIN_PROFILE=billing-domain-thorough for a long run. No deadline: a loaded CI machine
# must not turn a slow example into a failure.
settings.register_profile("billing-domain", max_examples=60, deadline=None)
settings.register_profile("billing-domain-thorough", max_examples=5_000, deadline=None)
PROPERTIES = settings.get_profile(os.environ.get("BILLING_DOMAIN_PROFILE", "billing-domain"))

HOME = "ws_home"
RIVAL = "ws_rival"
UNSYNCED_OFFICE = "off_unsynced"
UNKNOWN_USER = "u_unknown"
UNKNOWN_CARD = "pm_unknown"

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    workspaces: tuple[str, ...]
    offices: tuple[Office, ...]
    users: tuple[User, ...]
    accounts: tuple[BillingAccount, ...]

    def office(self, workspace_id: str, office_id: str) -> Office | None:
        return next(
            (o for o in self.offices if (o.workspace_id, o.id) == (workspace_id, office_id)), None
        )

    def user(self, workspace_id: str, user_id: str | None) -> User | None:
        return next(
            (u for u in self.users if (u.workspace_id, u.id) == (workspace_id, user_id)), None
        )

    def account_of(self, agent: User) -> BillingAccount | None:
        """The agent-billing account of `agent`, in the agent's workspace."""
        return next(
            (
                a
                for a in self.accounts
                if (a.workspace_id, a.owner_type, a.owner_id)
                == (agent.workspace_id, OwnerType.AGENT, agent.id)
            ),
            None,
        )

    def merged(self, other: World) -> World:
        return World(
            self.workspaces + other.workspaces,
            self.offices + other.offices,
            self.users + other.users,
            self.accounts + other.accounts,
        )

    def twin(self, thing: Office | User | BillingAccount) -> Office | User | BillingAccount | None:
        """The object of another workspace that has the same id as `thing`."""
        pool: Sequence[Office | User | BillingAccount] = (
            self.offices
            if isinstance(thing, Office)
            else self.users
            if isinstance(thing, User)
            else self.accounts
        )
        return next(
            (t for t in pool if t.id == thing.id and t.workspace_id != thing.workspace_id), None
        )

    def names_outside(self, workspace_id: str) -> set[str]:
        """The names of people and offices of every other workspace."""
        return {o.name for o in self.offices if o.workspace_id != workspace_id} | {
            u.name for u in self.users if u.workspace_id != workspace_id
        }


@dataclass(frozen=True)
class Case:
    world: World
    ctx: PayerContext


@st.composite
def cases(draw: st.DrawFn) -> Case:
    world = _world(draw)
    campaign = _campaign(draw, world)
    return Case(world=world, ctx=_context(draw, world, campaign))


@st.composite
def contaminated_cases(draw: st.DrawFn) -> Case:
    """A case whose context has some objects swapped for their rival twins, as an adapter
    loading by id alone would: each twin would pass every rule if it were trusted."""
    case = draw(cases())
    swaps: dict[str, Any] = {}
    for name in ("office", "creator", "billing_user", "office_account", "agent_account"):
        thing = getattr(case.ctx, name)
        twin = None if thing is None else case.world.twin(thing)
        if twin is not None and _coin(draw):
            swaps[name] = twin
    return Case(case.world, replace(case.ctx, **swaps))


# The generators below draw only through these few strategies, built once: hypothesis
# validates every new strategy object, which made an example ten times slower.
_COIN = st.booleans()
_ONE_IN_FIVE = st.integers(0, 4)
_ONE_IN_TEN = st.integers(0, 9)
_ONE_IN_TWENTY = st.integers(0, 19)


@functools.cache
def _up_to(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n)


def _int(draw: st.DrawFn, low: int, high: int) -> int:
    return low + draw(_up_to(high - low))


def _pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    """One of `options`; hypothesis shrinks towards the first."""
    return options[draw(_up_to(len(options) - 1))]


def _coin(draw: st.DrawFn) -> bool:
    return draw(_COIN)


def _likely(draw: st.DrawFn) -> bool:
    """True four times in five: the normal case, leaving room for messy data."""
    # Zero (what hypothesis favours and shrinks towards) means the normal case.
    return draw(_ONE_IN_FIVE) < 4


def _rarely(draw: st.DrawFn) -> bool:
    """True one time in ten: for data no sane upstream sends, but which must still be safe."""
    return draw(_ONE_IN_TEN) == 9


def _seldom(draw: st.DrawFn) -> bool:
    """True one time in twenty."""
    return draw(_ONE_IN_TWENTY) == 19


def _world(draw: st.DrawFn) -> World:
    home = _workspace(draw, HOME, "Home")
    if _rarely(draw):
        return home
    # A rival workspace reusing the home workspace's ids, where everything would pass: any of
    # its objects that slips into a resolution turns into a payer from the wrong workspace.
    return home.merged(_ideal_copy(home, RIVAL, "Rival"))


def _workspace(draw: st.DrawFn, workspace: str, names: str) -> World:
    serial = (f"{names} {n:03d}" for n in itertools.count())
    offices = [
        Office(id=f"off{i}", workspace_id=workspace, name=f"Office {next(serial)}")
        for i in range(_int(draw, 1, 2))
    ]
    users = [
        _user(draw, workspace, f"u{i}", f"Person {next(serial)}", offices)
        for i in range(_int(draw, 1, 5))
    ]
    owners = [(OwnerType.OFFICE, o.id) for o in offices]
    owners += [(OwnerType.AGENT, u.id) for u in users]
    accounts = [
        _account(draw, workspace, f"ba{n}", owner_type, owner_id)
        for n, (owner_type, owner_id) in enumerate(owners)
        if not _rarely(draw)
    ]
    return World((workspace,), tuple(offices), tuple(users), tuple(accounts))


def _ideal_copy(world: World, workspace: str, names: str) -> World:
    """`world` under other names, every agent consenting, every account active with a usable
    default card."""
    serial = (f"{names} {n:03d}" for n in itertools.count())
    return World(
        workspaces=(workspace,),
        offices=tuple(
            replace(o, workspace_id=workspace, name=f"Office {next(serial)}") for o in world.offices
        ),
        users=tuple(
            replace(
                u,
                workspace_id=workspace,
                name=f"Person {next(serial)}",
                allow_admin_invoicing=True,
            )
            for u in world.users
        ),
        accounts=tuple(
            replace(
                a,
                workspace_id=workspace,
                status=AccountStatus.ACTIVE,
                payment_methods=tuple(
                    replace(
                        pm,
                        billing_account_id=a.id,
                        status=PaymentMethodStatus.ACTIVE,
                        exp_year=NOW.year + 5,
                        is_default=True,
                    )
                    for pm in a.payment_methods
                ),
            )
            for a in world.accounts
        ),
    )


def _user(
    draw: st.DrawFn, workspace: str, user_id: str, name: str, offices: Sequence[Office]
) -> User:
    role = Role.AGENT if _coin(draw) else Role.ADMIN
    office_ids: list[str | None] = [o.id for o in offices]
    if role is Role.ADMIN:
        # An admin of no office administers the whole workspace.
        office_ids.append(None)
    return User(
        id=user_id,
        workspace_id=workspace,
        name=name,
        email=f"{user_id}@{workspace}.example",
        role=role,
        office_id=UNSYNCED_OFFICE if _rarely(draw) else _pick(draw, office_ids),
        allow_admin_invoicing=_coin(draw),
    )


def _account(
    draw: st.DrawFn, workspace: str, account_id: str, owner_type: OwnerType, owner_id: str
) -> BillingAccount:
    return BillingAccount(
        id=account_id,
        workspace_id=workspace,
        owner_type=owner_type,
        owner_id=owner_id,
        status=AccountStatus.ACTIVE if _likely(draw) else _pick(draw, list(AccountStatus)),
        stripe_customer_id=f"cus_{workspace}_{account_id}",
        payment_methods=tuple(
            _card(draw, account_id, f"pmr_{account_id}_{i}")
            for i in range(0 if _rarely(draw) else _int(draw, 1, 3))
        ),
    )


def _card(draw: st.DrawFn, account_id: str, card_id: str) -> PaymentMethod:
    expires = NOW.year * 12 + NOW.month - 1 + _int(draw, -6, 42)
    serial = int(card_id.rsplit("_", 1)[-1])
    return PaymentMethod(
        id=card_id,
        # Now and then a card listed on an account is recorded against another one.
        billing_account_id="ba_elsewhere" if _rarely(draw) else account_id,
        stripe_payment_method_id=f"pm_{card_id}",
        brand=("visa", "mastercard", "amex")[serial % 3],
        last4=f"{4242 + serial:04d}",
        exp_month=expires % 12 + 1,
        exp_year=expires // 12,
        status=(
            PaymentMethodStatus.ACTIVE if _likely(draw) else _pick(draw, list(PaymentMethodStatus))
        ),
        # Usually the first card is the default; sometimes there is none, or several.
        is_default=serial == 0 if _likely(draw) else _coin(draw),
    )


def _campaign(draw: st.DrawFn, world: World) -> Campaign:
    workspace = world.workspaces[0]
    office_id = UNSYNCED_OFFICE if _seldom(draw) else _pick(draw, _ids(world.offices))
    users = _ids(world.users)
    office = world.office(workspace, office_id)
    # Lean towards what a real campaign names, so that many examples resolve: an agent of the
    # office as Billing User, created by that agent or by an admin over the office, and one of
    # the payer's cards.
    agents = [u.id for u in world.users if u.is_agent and office and u.office_id == office.id]
    admins = [u.id for u in world.users if office and u.is_admin_over(office)]
    billing_user_id = _pick(draw, (_likely(draw) and agents) or [*users, None, "", UNKNOWN_USER])
    creators = [billing_user_id, *admins] if billing_user_id in agents else agents + admins
    billing_type = BillingType.AGENT if _coin(draw) else BillingType.OFFICE
    payer = (
        OwnerType(billing_type.value),
        office_id if billing_type is BillingType.OFFICE else billing_user_id,
    )
    payer_cards = [
        pm.id
        for a in world.accounts
        if a.workspace_id == workspace and (a.owner_type, a.owner_id) == payer
        for pm in a.payment_methods
    ]
    all_cards = [
        card_id
        for a in world.accounts
        for pm in a.payment_methods
        for card_id in (pm.id, pm.stripe_payment_method_id)
    ]
    return Campaign(
        id="cmp_1",
        workspace_id=workspace,
        office_id=office_id,
        created_by=_pick(draw, (_likely(draw) and creators) or [*users, UNKNOWN_USER]),
        version=CampaignVersion.V2 if _likely(draw) else CampaignVersion.V1,
        price=Money(_int(draw, 1, 60) * 1_000, "usd"),
        billing=BillingSelection(
            type=billing_type,
            billing_user_id=billing_user_id,
            payment_method_id=(
                None
                if _coin(draw)
                else _pick(draw, (not _rarely(draw) and payer_cards) or [*all_cards, UNKNOWN_CARD])
            ),
        ),
    )


def _context(draw: st.DrawFn, world: World, campaign: Campaign) -> PayerContext:
    """What an adapter hands over: mostly what it should load (the object the campaign names,
    of its workspace); one time in ten, what a careless adapter loads by id alone (of any
    workspace), a random object of the world, or nothing."""
    workspace = campaign.workspace_id
    selection = campaign.billing

    def load(
        candidates: Iterable[T], everything: Sequence[T], own: Callable[[T], bool]
    ) -> T | None:
        by_id = list(candidates)
        how = draw(_ONE_IN_TWENTY)
        if how < 18:
            return next((c for c in by_id if own(c)), None)
        if how == 18 and by_id and _coin(draw):
            return _pick(draw, by_id)
        if how == 18 and everything:
            return _pick(draw, everything)
        return None

    def in_workspace(thing: Office | User | BillingAccount) -> bool:
        return thing.workspace_id == workspace

    def accounts_of(owner_type: OwnerType, owner_id: str | None) -> list[BillingAccount]:
        return [a for a in world.accounts if (a.owner_type, a.owner_id) == (owner_type, owner_id)]

    return PayerContext(
        campaign=campaign,
        office=load(
            (o for o in world.offices if o.id == campaign.office_id), world.offices, in_workspace
        ),
        creator=load(
            (u for u in world.users if u.id == campaign.created_by), world.users, in_workspace
        ),
        billing_user=load(
            (u for u in world.users if u.id == selection.billing_user_id),
            world.users,
            in_workspace,
        ),
        office_account=load(
            accounts_of(OwnerType.OFFICE, campaign.office_id), world.accounts, in_workspace
        ),
        agent_account=load(
            accounts_of(OwnerType.AGENT, selection.billing_user_id), world.accounts, in_workspace
        ),
    )


def _ids(things: Iterable[Office | User]) -> list[str]:
    return sorted({thing.id for thing in things})
