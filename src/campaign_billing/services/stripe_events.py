"""Stripe webhook events: recording one as received, and processing a stored one.

docs/webhooks.md draws the states of a stored event. The ingest endpoint only verifies and
records (`record_received_event`); a worker processes (`process_stripe_event`), which may call
Stripe, and every handler is safe to run again on the same event: duplicates, retries and
replays change nothing twice.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from campaign_billing import metrics
from campaign_billing.adapters.repositories.stripe_events import (
    PENDING,
    StripeEventRepository,
    StripeEventStatus,
)
from campaign_billing.adapters.stripe_gateway import StripeSetupIntent
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.services import late_payment_outcomes
from campaign_billing.services.payment_method_sync import CustomerCards, sync_account, sync_customer

log = structlog.get_logger(__name__)

UowFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]

# The types this service acts on; the backfill asks Stripe for these only (20 at most).
HANDLED_TYPES = (
    "checkout.session.completed",
    "setup_intent.succeeded",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "payment_method.automatically_updated",
    "customer.updated",
    "customer.deleted",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
)

_MAX_ERROR_CHARS = 4000


def utcnow() -> datetime:
    return datetime.now(UTC)


class MalformedEvent(ValueError):
    """Raised when a body that parsed as JSON is not a Stripe event (no `id`, `type`,
    `created` or `data.object`)."""


class SetupCardMissing(Exception):
    """Raised when a completed setup names a card that the customer's card list does not show
    yet: the event is retried, and the card appears once Stripe's list has it."""


class StripeReads(CustomerCards, Protocol):
    """What processing reads from Stripe (`StripeGateway` is one)."""

    def retrieve_setup_intent(self, setup_intent_id: str) -> StripeSetupIntent: ...


@dataclass(frozen=True, slots=True)
class EventDeps:
    """What processing needs, built by the entry point (task or command line)."""

    uow_factory: UowFactory
    stripe: StripeReads
    send_publish: Callable[[str], None]
    now: Clock = utcnow


@dataclass(frozen=True, slots=True)
class Handled:
    """A handler's verdict: processed (it acted, or found everything already as Stripe has it)
    or skipped (not ours to act on), with the reason for the log."""

    status: StripeEventStatus
    reason: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where one processing attempt left a stored event (None: no such event)."""

    status: StripeEventStatus | None
    attempts: int = 0
    error: str | None = None


# -- receiving ------------------------------------------------------------------------------------


def event_fields(payload: Any) -> tuple[str, str, int]:
    """The id, type and `created` of a Stripe event (https://docs.stripe.com/api/events/object).
    Raises MalformedEvent."""
    if not isinstance(payload, dict):
        raise MalformedEvent("the body is not a JSON object")
    event_id, event_type, created = payload.get("id"), payload.get("type"), payload.get("created")
    data = payload.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise MalformedEvent("the event has no id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        raise MalformedEvent("the event has no type")
    if isinstance(created, bool) or not isinstance(created, int):
        raise MalformedEvent("the event has no created timestamp")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("the event has no data.object")
    return event_id, event_type, created


def record_received_event(
    uow_factory: UowFactory, send_stripe_event: Callable[[str], None], payload: Mapping[str, Any]
) -> bool:
    """Stores a verified event once by its id and, after the commit, sends its task. Returns
    False for an id already stored (a duplicate delivery), which changes nothing."""
    event_id, event_type, created = event_fields(payload)
    with uow_factory() as uow:
        stored = StripeEventRepository(uow.session).add_if_new(
            event_id, event_type, created, payload
        )
        if stored:
            uow.after_commit(lambda: send_stripe_event(event_id))
        uow.commit()
    return stored


# -- processing -----------------------------------------------------------------------------------


def process_stripe_event(
    deps: EventDeps, event_id: str, *, max_attempts: int, replay: bool = False
) -> Attempt:
    """One attempt at a stored event; safe to run any number of times, concurrently too.

    The attempt is counted in a transaction of its own, so one that kills its worker still
    counts (and a message that keeps doing so ends parked). The work and the event's new status
    then commit together: a processed event is never left looking unprocessed, or the reverse.
    A failure is recorded `failed` with its error (the caller retries it later) or, at the last
    attempt, `parked`. `replay` is an operator's: it takes the event in any status.
    """
    structlog.contextvars.bind_contextvars(stripe_event_id=event_id)
    with deps.uow_factory() as uow:
        events = StripeEventRepository(uow.session)
        from_ = tuple(StripeEventStatus) if replay else PENDING
        counted = events.count_attempt(event_id, from_=from_)
        if counted is None:
            current = events.get(event_id)
            return Attempt(current.status if current else None, current.attempts if current else 0)
        if not replay and counted.attempts > max_attempts:
            error = f"gave up after {max_attempts} attempts: {counted.last_error or 'no error'}"
            events.park(event_id, error)
            uow.commit()
            log.error("stripe_event_parked", attempts=counted.attempts, event_type=counted.type)
            return Attempt(StripeEventStatus.PARKED, counted.attempts, error)
        uow.commit()

    try:
        return _work(deps, event_id)
    except Exception as error:
        # Recorded for the operator and retried (or parked) by the caller: never dropped.
        # An operator's replay gets one attempt: a failure leaves the event parked again.
        last = replay or counted.attempts >= max_attempts
        status = StripeEventStatus.PARKED if last else StripeEventStatus.FAILED
        described = _describe(error)
        with deps.uow_factory() as uow:
            StripeEventRepository(uow.session).finish(
                event_id, status, at=deps.now(), error=described
            )
            uow.commit()
        log.warning(
            "stripe_event_failed",
            event_type=counted.type,
            attempts=counted.attempts,
            status=status.value,
            exc_info=True,
        )
        return Attempt(status, counted.attempts, described)


def _work(deps: EventDeps, event_id: str) -> Attempt:
    with deps.uow_factory() as uow:
        events = StripeEventRepository(uow.session)
        # Locked: a duplicate delivery of this event waits here, then finds it done.
        current = events.get(event_id, for_update=True)
        if current is None or current.status is not StripeEventStatus.RECEIVED:
            return Attempt(current.status if current else None, current.attempts if current else 0)
        handled = handle_event(uow, deps, current.payload)
        events.finish(event_id, handled.status, at=deps.now())
        uow.commit()
    metrics.observe_webhook_lag(handled.status.value, current.stripe_created, deps.now())
    log.info(
        "stripe_event_handled",
        event_type=current.type,
        status=handled.status.value,
        reason=handled.reason,
    )
    return Attempt(handled.status, current.attempts)


def _describe(error: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return text[:_MAX_ERROR_CHARS]


# -- the handlers -------------------------------------------------------------------------------
# "Occurs when ..." quotes Stripe's event types reference: https://docs.stripe.com/api/events/types


def handle_event(uow: UnitOfWork, deps: EventDeps, event: Mapping[str, Any]) -> Handled:
    """Acts on one event inside the caller's transaction."""
    obj: Mapping[str, Any] = event["data"]["object"]
    now = deps.now()
    match event["type"]:
        case "checkout.session.completed":
            # Occurs when a Checkout Session has been successfully completed: in setup mode a
            # card was saved on the customer; in payment mode a cardholder paid a payment link.
            if obj.get("mode") == "setup":
                return _setup_session_completed(uow, deps, obj)
            if obj.get("mode") == "payment":
                return _outcome(late_payment_outcomes.payment_link_completed(uow, obj, now))
            return Handled(StripeEventStatus.SKIPPED, f"checkout mode {obj.get('mode')}")
        case "setup_intent.succeeded":
            # Occurs when a SetupIntent has successfully set up a payment method (Checkout in
            # setup mode sends it too, before checkout.session.completed).
            return _card_saved(
                uow, deps, _id(obj.get("customer")), _id(obj.get("payment_method")), obj
            )
        case "payment_method.attached":
            # Occurs whenever a new payment method is attached to a customer.
            return _sync_owner_of_card(uow, deps, event)
        case "payment_method.detached":
            # Occurs whenever a payment method is detached from a customer; the object then
            # says `customer: null` (https://docs.stripe.com/api/payment_methods/detach).
            return _sync_owner_of_card(uow, deps, event)
        case "payment_method.updated":
            # Occurs whenever a payment method is updated via the PaymentMethod update API
            # (e.g. a new expiry).
            return _sync_owner_of_card(uow, deps, event)
        case "payment_method.automatically_updated":
            # Occurs whenever a payment method's details are automatically updated by the
            # network (the card updater: a reissued card's new expiry or number).
            return _sync_owner_of_card(uow, deps, event)
        case "customer.updated":
            # Occurs whenever any property of a customer changes; ours care about
            # `invoice_settings.default_payment_method`.
            return _sync_customer(uow, deps, _id(obj.get("id")))
        case "customer.deleted":
            # Occurs whenever a customer is deleted: its cards can no longer be charged.
            return _sync_customer(uow, deps, _id(obj.get("id")))
        case "payment_intent.succeeded":
            # Occurs when a PaymentIntent has successfully completed payment.
            return _outcome(late_payment_outcomes.payment_intent_succeeded(uow, obj, now))
        case "payment_intent.payment_failed":
            # Occurs when a PaymentIntent has failed the attempt to create a payment method or
            # a payment.
            return _outcome(
                late_payment_outcomes.payment_intent_unsuccessful(uow, obj, deps.send_publish, now)
            )
        case "payment_intent.requires_action":
            # Occurs when a PaymentIntent transitions to requires_action state (the bank wants
            # the cardholder present).
            return _outcome(
                late_payment_outcomes.payment_intent_unsuccessful(uow, obj, deps.send_publish, now)
            )
        case other:
            return Handled(StripeEventStatus.SKIPPED, f"{other} is not an event this service uses")


def _outcome(outcome: late_payment_outcomes.OutcomeApplied) -> Handled:
    status = StripeEventStatus.PROCESSED if outcome.applied else StripeEventStatus.SKIPPED
    return Handled(status, outcome.reason)


def _sync_customer(uow: UnitOfWork, deps: EventDeps, customer_id: str | None) -> Handled:
    if customer_id is None:
        return Handled(StripeEventStatus.SKIPPED, "no customer named")
    result = sync_customer(uow, deps.stripe, customer_id, deps.now())
    if result is None:
        return Handled(StripeEventStatus.SKIPPED, f"customer {customer_id} is not one of ours")
    return Handled(StripeEventStatus.PROCESSED, "changed" if result.changed else "already in sync")


def _sync_owner_of_card(uow: UnitOfWork, deps: EventDeps, event: Mapping[str, Any]) -> Handled:
    """The customer a card event is about: the card's own, else (a detached card says
    `customer: null`) the one it was detached from, else the account we stored it under."""
    card: Mapping[str, Any] = event["data"]["object"]
    previous = event["data"].get("previous_attributes") or {}
    customer_id = _id(card.get("customer")) or _id(previous.get("customer"))
    if customer_id is not None:
        return _sync_customer(uow, deps, customer_id)
    row = uow.accounts.payment_method_by_stripe_id(str(card.get("id")))
    if row is None:
        return Handled(StripeEventStatus.SKIPPED, "a card with no customer that we never stored")
    result = sync_account(uow, deps.stripe, row.billing_account_id, deps.now())
    return Handled(StripeEventStatus.PROCESSED, "changed" if result.changed else "already in sync")


def _setup_session_completed(
    uow: UnitOfWork, deps: EventDeps, session: Mapping[str, Any]
) -> Handled:
    """The session names its SetupIntent, which names the card saved (and the customer)."""
    customer_id = _id(session.get("customer"))
    card_id: str | None = None
    setup_intent_id = _id(session.get("setup_intent"))
    if setup_intent_id is not None:
        setup = deps.stripe.retrieve_setup_intent(setup_intent_id)
        customer_id = customer_id or setup.customer_id
        card_id = setup.payment_method_id if setup.status == "succeeded" else None
    return _card_saved(uow, deps, customer_id, card_id, session)


def _card_saved(
    uow: UnitOfWork,
    deps: EventDeps,
    customer_id: str | None,
    card_id: str | None,
    obj: Mapping[str, Any],
) -> Handled:
    """A card was saved through a SetupIntent: sync its customer, then check that the card is
    stored, so that "the card I just saved" is never silently missing."""
    if customer_id is None:
        # Our setup sessions always name a customer; else use the account in the metadata.
        account_id = (obj.get("metadata") or {}).get("billing_account_id")
        account = uow.accounts.get(None, account_id) if isinstance(account_id, str) else None
        customer_id = account.stripe_customer_id if account else None
    if customer_id is None:
        return Handled(StripeEventStatus.SKIPPED, "a setup for no customer of ours")
    result = sync_customer(uow, deps.stripe, customer_id, deps.now())
    if result is None:
        return Handled(StripeEventStatus.SKIPPED, f"customer {customer_id} is not one of ours")
    if card_id is not None and uow.accounts.payment_method_by_stripe_id(card_id) is None:
        raise SetupCardMissing(
            f"card {card_id} was saved on customer {customer_id}, but Stripe does not list it "
            "on that customer (yet)"
        )
    return Handled(StripeEventStatus.PROCESSED, "changed" if result.changed else "already in sync")


def _id(value: Any) -> str | None:
    """An id field that may arrive expanded into its object."""
    if value is None or isinstance(value, str):
        return value or None
    found = value.get("id") if isinstance(value, Mapping) else None
    return str(found) if found is not None else None
