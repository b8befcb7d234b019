"""Makes a billing account's stored payment methods equal to what Stripe holds for its customer.

How the stored state converges to Stripe's (docs/webhooks.md says more): every event about a
customer's cards, whatever its type or payload, only names the customer; the sync then reads
the customer's current cards and default from Stripe and makes our rows equal to them, under a
row lock on the account taken *before* the reads.

Why re-fetch rather than apply each event's payload in the order of its `created`: Stripe does
not deliver events in order and may deliver one more than once
(https://docs.stripe.com/webhooks#event-ordering), and `created` has a one-second resolution,
so the several events one action makes (attach, then `customer.updated` naming it the default)
routinely share a second and cannot be ordered by it. A re-fetch converges whatever the order
and the duplication: the sync that runs last read Stripe last. The lock makes "last" hold: two
syncs of one account run one after the other, each reading Stripe after the previous one wrote,
so an older read can never overwrite a newer one. The price is two Stripe reads per event (list
the cards, retrieve the customer), which go through the account-wide rate limiter, and an
account row lock held across them.

The stored state is a function of Stripe's alone (and of the month, for expiry):
- a card Stripe lists is `expired` once its expiry month has passed, else `active`;
- a card we stored that Stripe no longer lists is `detached` (the row stays: charges and
  statements refer to it), and a detached card is never the default;
- the default is the card Stripe names (`invoice_settings.default_payment_method`) if Stripe
  lists it; if Stripe names none, the oldest active card (else the oldest expired one), so that
  an account with cards has a card to charge, or to say has expired (docs/publishing.md: a card
  nobody made the default is never charged);
- an account `pending_setup` becomes `active` the first time it has an active card.
Events go to the outbox only for real changes, so a duplicate, or an event about a change an
earlier sync already applied, emits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import select

from campaign_billing.adapters.orm import PaymentMethodRow
from campaign_billing.adapters.stripe_gateway import StripeCard, StripeCustomer
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import AccountStatus, BillingAccount, PaymentMethodStatus
from campaign_billing.events.envelope import Event, EventType
from campaign_billing.ids import new_id

log = structlog.get_logger(__name__)

# The fields of a stored card that Stripe decides; a change to any of them is a real change.
SYNCED_FIELDS = ("brand", "last4", "exp_month", "exp_year", "status", "is_default")


class CustomerCards(Protocol):
    """What the sync reads from Stripe (`StripeGateway` is one)."""

    def retrieve_customer(self, customer_id: str) -> StripeCustomer: ...

    def list_card_payment_methods(self, customer_id: str) -> list[StripeCard]: ...


@dataclass(frozen=True, slots=True)
class DesiredCard:
    """A card as it must be stored, decided from Stripe's answer alone."""

    stripe_payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    status: PaymentMethodStatus
    is_default: bool


@dataclass(frozen=True, slots=True)
class SyncResult:
    billing_account_id: str
    attached: tuple[str, ...] = ()
    detached: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    activated: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.attached or self.detached or self.updated or self.activated)


def card_lapsed(exp_month: int, exp_year: int, now: datetime) -> bool:
    """The rule of `PaymentMethod.is_expired`: valid through the last day of its expiry month."""
    return (now.year, now.month) > (exp_year, exp_month)


def desired_cards(
    customer: StripeCustomer, cards: Sequence[StripeCard], now: datetime
) -> list[DesiredCard]:
    """The cards to store for `customer`, oldest first. `cards` is Stripe's list, newest first."""
    if customer.deleted:
        return []
    oldest_first = list(reversed(cards))
    statuses = {
        card.id: (
            PaymentMethodStatus.EXPIRED
            if card_lapsed(card.exp_month, card.exp_year, now)
            else PaymentMethodStatus.ACTIVE
        )
        for card in oldest_first
    }
    default = customer.default_payment_method_id
    if default not in statuses:
        active = [
            card.id for card in oldest_first if statuses[card.id] is PaymentMethodStatus.ACTIVE
        ]
        # With no active card, an expired one stays the default: the next publish then fails
        # with payment_method_expired, naming the card, rather than payment_method_missing.
        held = active or [card.id for card in oldest_first]
        default = held[0] if held else None
    return [
        DesiredCard(
            stripe_payment_method_id=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            status=statuses[card.id],
            is_default=card.id == default,
        )
        for card in oldest_first
    ]


def sync_customer(
    uow: UnitOfWork, stripe: CustomerCards, customer_id: str, now: datetime
) -> SyncResult | None:
    """Syncs the account whose Stripe customer is `customer_id`, in the caller's transaction
    (the caller commits). None when no account of ours has this customer."""
    account = uow.accounts.by_customer(customer_id)
    if account is None:
        return None
    return sync_account(uow, stripe, account.id, now)


def sync_account(
    uow: UnitOfWork, stripe: CustomerCards, billing_account_id: str, now: datetime
) -> SyncResult:
    """Locks the account, reads Stripe, and writes the difference with its events, in the
    caller's transaction (the caller commits)."""
    uow.accounts.lock(billing_account_id)
    # Objects loaded before the lock may be stale; everything read from here on is current.
    uow.session.expire_all()
    account = uow.accounts.get(None, billing_account_id)
    assert account is not None  # we hold its lock
    if account.stripe_customer_id is None:
        return SyncResult(billing_account_id)
    customer = stripe.retrieve_customer(account.stripe_customer_id)
    cards = [] if customer.deleted else stripe.list_card_payment_methods(customer.id)
    desired = desired_cards(customer, cards, now)
    result = _apply(uow, account, desired)
    if result.changed:
        log.info(
            "payment_methods_synced",
            billing_account_id=account.id,
            attached=len(result.attached),
            detached=len(result.detached),
            updated=len(result.updated),
            activated=result.activated,
        )
    return result


def _apply(uow: UnitOfWork, account: BillingAccount, desired: list[DesiredCard]) -> SyncResult:
    rows = {
        row.stripe_payment_method_id: row for row in uow.accounts.payment_method_rows(account.id)
    }
    before = {pm_id: _snapshot(row) for pm_id, row in rows.items()}
    wanted = {card.stripe_payment_method_id: card for card in desired}

    # One default at most, enforced by a unique index checked row by row: every row that stops
    # being the default is written before the one that becomes it.
    for pm_id, row in rows.items():
        card = wanted.get(pm_id)
        if card is None:
            row.status = PaymentMethodStatus.DETACHED.value
            row.is_default = False
        elif row.is_default and not card.is_default:
            row.is_default = False
    uow.session.flush()

    for card in desired:
        existing = rows.get(card.stripe_payment_method_id)
        if existing is None:
            added = _add_row(uow, account, card)
            if added is not None:
                rows[card.stripe_payment_method_id] = added
            continue
        existing.brand, existing.last4 = card.brand, card.last4
        existing.exp_month, existing.exp_year = card.exp_month, card.exp_year
        existing.status = card.status.value
        existing.is_default = card.is_default
    uow.session.flush()

    changes: dict[EventType, list[str]] = {event_type: [] for event_type in _CARD_EVENTS}
    for pm_id, row in rows.items():
        change = _change(before.get(pm_id), _snapshot(row))
        if change is None:
            continue
        event_type, extra = change
        changes[event_type].append(pm_id)
        uow.outbox.add(_payment_method_event(event_type, account, row, extra))

    return SyncResult(
        account.id,
        attached=tuple(changes[EventType.PAYMENT_METHOD_ATTACHED]),
        detached=tuple(changes[EventType.PAYMENT_METHOD_DETACHED]),
        updated=tuple(changes[EventType.PAYMENT_METHOD_UPDATED]),
        activated=_activate(uow, account, desired),
    )


_CARD_EVENTS = (
    EventType.PAYMENT_METHOD_ATTACHED,
    EventType.PAYMENT_METHOD_DETACHED,
    EventType.PAYMENT_METHOD_UPDATED,
)
_DETACHED = PaymentMethodStatus.DETACHED.value


def _change(
    old: dict[str, Any] | None, new: dict[str, Any]
) -> tuple[EventType, dict[str, Any]] | None:
    """The event a stored card's change makes, if it changed: detached when it left the
    customer, attached when it (newly) is on it, else updated with Stripe-style
    `previous` values of what changed."""
    if old == new:
        return None
    if new["status"] == _DETACHED:
        return EventType.PAYMENT_METHOD_DETACHED, {}
    if old is None or old["status"] == _DETACHED:
        return EventType.PAYMENT_METHOD_ATTACHED, {}
    previous = {field: old[field] for field in SYNCED_FIELDS if old[field] != new[field]}
    return EventType.PAYMENT_METHOD_UPDATED, {"previous": previous}


def _add_row(
    uow: UnitOfWork, account: BillingAccount, card: DesiredCard
) -> PaymentMethodRow | None:
    elsewhere = uow.accounts.payment_method_by_stripe_id(card.stripe_payment_method_id)
    if elsewhere is not None:
        # A card belongs to one customer; our row naming another account means two accounts
        # share a customer, which must be untangled by a person, not by a webhook.
        log.error(
            "payment_method_on_another_account",
            stripe_payment_method_id=card.stripe_payment_method_id,
            billing_account_id=account.id,
            other_billing_account_id=elsewhere.billing_account_id,
        )
        return None
    row = PaymentMethodRow(
        id=new_id("pmr"),
        billing_account_id=account.id,
        stripe_payment_method_id=card.stripe_payment_method_id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        status=card.status.value,
        is_default=card.is_default,
    )
    uow.accounts.add_payment_method_row(row)
    return row


def _activate(uow: UnitOfWork, account: BillingAccount, desired: list[DesiredCard]) -> bool:
    has_active = any(card.status is PaymentMethodStatus.ACTIVE for card in desired)
    # Only pending_setup turns active: a disabled account stays switched off, whatever its cards,
    # and an active one stays active when its last card goes (its next publish then fails with
    # payment_method_missing, which says what to do).
    if account.status is not AccountStatus.PENDING_SETUP or not has_active:
        return False
    if not uow.accounts.set_status(account.id, AccountStatus.ACTIVE):
        return False
    default = next((card for card in desired if card.is_default), None)
    uow.outbox.add(
        Event(
            type=EventType.ACCOUNT_ACTIVATED,
            workspace_id=account.workspace_id,
            data={
                **_account_data(account),
                "default_stripe_payment_method_id": (
                    default.stripe_payment_method_id if default else None
                ),
            },
        )
    )
    return True


def _snapshot(row: PaymentMethodRow) -> dict[str, Any]:
    return {field: getattr(row, field) for field in SYNCED_FIELDS}


def payment_method_view(row: PaymentMethodRow) -> dict[str, Any]:
    """A stored card as the API shows it (API.md `GET /v1/billing-accounts/{id}`)."""
    return {
        "id": row.id,
        "stripe_payment_method_id": row.stripe_payment_method_id,
        "brand": row.brand,
        "last4": row.last4,
        "exp_month": row.exp_month,
        "exp_year": row.exp_year,
        "status": row.status,
        "is_default": row.is_default,
    }


def _account_data(account: BillingAccount) -> dict[str, Any]:
    return {
        "billing_account_id": account.id,
        "owner_type": account.owner_type.value,
        "owner_id": account.owner_id,
    }


def _payment_method_event(
    event_type: EventType, account: BillingAccount, row: PaymentMethodRow, extra: dict[str, Any]
) -> Event:
    return Event(
        type=event_type,
        workspace_id=account.workspace_id,
        data={**_account_data(account), "payment_method": payment_method_view(row), **extra},
    )


# -- cards that lapse without any event -------------------------------------------------------


def accounts_with_lapsed_cards(uow: UnitOfWork, now: datetime, limit: int = 100) -> list[str]:
    """Accounts holding a card stored `active` whose expiry month has passed. Stripe sends no
    event when a card simply runs out, so the periodic task finds them and syncs them (which
    marks the card `expired`, or picks up the new expiry the card updater brought)."""
    months_now = now.year * 12 + now.month
    return list(
        uow.session.scalars(
            select(PaymentMethodRow.billing_account_id)
            .where(
                PaymentMethodRow.status == PaymentMethodStatus.ACTIVE.value,
                PaymentMethodRow.exp_year * 12 + PaymentMethodRow.exp_month < months_now,
            )
            .distinct()
            .limit(limit)
        )
    )
