"""The one edge where this service meets Stripe.

Every Stripe call goes through `StripeGateway._call`: it takes a token from the account-wide
rate limiter, passes our own idempotency key (stripe-python only invents keys for its own
retries, https://docs.stripe.com/api/idempotent_requests), retries what is transient with
exponential backoff and jitter under the *same* key, and sorts every Stripe error into card /
transient / rejected here, so nothing above this module imports `stripe`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import stripe
import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from campaign_billing.adapters.rate_limit import RateLimited, RateLimiter
from campaign_billing.domain.model import Money

log = structlog.get_logger(__name__)
T = TypeVar("T")


class ChargeOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    AUTHENTICATION_REQUIRED = "authentication_required"
    REJECTED = "rejected"
    # Every attempt was refused before Stripe executed it (429s): certainly no charge.
    NOT_EXECUTED = "not_executed"
    # The last attempts ended in network errors or 5xx: Stripe may hold a charge we cannot see.
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    customer_id: str
    payment_method_id: str
    price: Money
    idempotency_key: str
    metadata: Mapping[str, str]
    description: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    outcome: ChargeOutcome
    payment_intent_id: str | None = None
    decline_code: str | None = None
    stripe_code: str | None = None
    stripe_message: str | None = None
    stripe_request_id: str | None = None
    attempts: int = 1


class PaymentGateway(Protocol):
    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def find_charge(
        self, customer_id: str, publish_request_id: str, created_after: int
    ) -> ChargeResult | None: ...


class TransientStripeError(Exception):
    """Raised when a Stripe call may succeed if tried again with the same idempotency key:
    a network error, a 5xx, a 409 (the same key in flight) or a 429 (rate limited)."""

    def __init__(self, cause: Exception, *, executed_maybe: bool, retry_after: float = 0.0):
        super().__init__(str(cause))
        self.cause = cause
        self.executed_maybe = executed_maybe
        self.retry_after = retry_after


class StripeRejected(Exception):
    """Raised when Stripe refuses the request itself (invalid parameters, authentication,
    permissions, idempotency key reused with other parameters): retrying cannot help."""

    def __init__(self, cause: stripe.StripeError) -> None:
        super().__init__(cause.user_message or str(cause))
        self.cause = cause
        self.code = getattr(cause, "code", None)
        self.request_id = cause.request_id


def classify(error: Exception) -> Exception:
    """Sorts an exception from stripe-python into card (returned as is), transient or rejected."""
    if isinstance(error, stripe.CardError):
        return error
    if isinstance(error, stripe.RateLimitError):
        retry_after = _retry_after(error.headers)
        return TransientStripeError(error, executed_maybe=False, retry_after=retry_after)
    if isinstance(error, stripe.APIConnectionError):
        return TransientStripeError(error, executed_maybe=True)
    if isinstance(error, stripe.StripeError):
        status = error.http_status or 0
        if status == 409 or status >= 500:
            return TransientStripeError(error, executed_maybe=status >= 500)
        return StripeRejected(error)
    if isinstance(error, RateLimited):
        return TransientStripeError(error, executed_maybe=False, retry_after=error.wait_seconds)
    return error


def _retry_after(headers: Mapping[str, str] | None) -> float:
    values = {k.lower(): v for k, v in (headers or {}).items()}
    try:
        return float(values.get("retry-after") or 0)
    except (TypeError, ValueError):
        return 0.0


@dataclass
class _Attempts:
    count: int = 0
    executed_maybe: bool = False
    waits: list[float] = field(default_factory=list)


def _wait(backoff: wait_exponential_jitter) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hint = error.retry_after if isinstance(error, TransientStripeError) else 0.0
        return max(hint, backoff(state))

    return wait


class StripeGateway:
    def __init__(
        self,
        client: stripe.StripeClient,
        limiter: RateLimiter,
        *,
        max_attempts: int = 4,
        initial_backoff: float = 0.25,
        max_backoff: float = 4.0,
        on_call: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._max_attempts = max_attempts
        self._backoff = wait_exponential_jitter(
            multiplier=initial_backoff, max=max_backoff, jitter=initial_backoff
        )
        # Metrics hook: (operation, result, seconds).
        self._on_call = on_call or (lambda _op, _result, _seconds: None)

    # -- the retry edge ---------------------------------------------------------------------
    def _call(self, operation: str, fn: Callable[[], T], attempts: _Attempts | None = None) -> T:
        tally = attempts if attempts is not None else _Attempts()

        def once() -> T:
            tally.count += 1
            started = time.monotonic()
            try:
                self._limiter.acquire()
                result = fn()
            except Exception as error:
                sorted_error = classify(error)
                self._on_call(operation, type(sorted_error).__name__, time.monotonic() - started)
                if isinstance(sorted_error, TransientStripeError):
                    tally.executed_maybe = sorted_error.executed_maybe
                    log.warning(
                        "stripe_call_transient_error",
                        operation=operation,
                        attempt=tally.count,
                        error=type(error).__name__,
                        stripe_request_id=getattr(error, "request_id", None),
                    )
                raise sorted_error from error
            self._on_call(operation, "ok", time.monotonic() - started)
            return result

        retrying = Retrying(
            retry=retry_if_exception_type(TransientStripeError),
            stop=stop_after_attempt(self._max_attempts),
            wait=_wait(self._backoff),
            reraise=True,
        )
        return retrying(once)

    # -- customers and Checkout ---------------------------------------------------------------
    def create_customer(
        self, *, name: str, email: str | None, metadata: Mapping[str, str], idempotency_key: str
    ) -> str:
        params: dict[str, Any] = {"name": name, "metadata": dict(metadata)}
        if email:
            params["email"] = email
        customer = self._call(
            "customers.create",
            lambda: self._client.v1.customers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ),
        )
        return str(customer.id)

    def create_payment_session(
        self,
        *,
        customer_id: str,
        price: Money,
        product_name: str,
        metadata: Mapping[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> tuple[str, str]:
        """A Checkout Session in payment mode, for a cardholder to pay with the bank present
        (https://docs.stripe.com/api/checkout/sessions/create). Returns (id, url)."""
        params: dict[str, Any] = {
            "mode": "payment",
            "customer": customer_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": price.currency,
                        "unit_amount": price.amount,
                        "product_data": {"name": product_name},
                    },
                }
            ],
            "metadata": dict(metadata),
            "payment_intent_data": {"metadata": dict(metadata)},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        return self._create_checkout_session(params, idempotency_key)

    def _create_checkout_session(
        self, params: dict[str, Any], idempotency_key: str
    ) -> tuple[str, str]:
        session = self._call(
            "checkout.sessions.create",
            lambda: self._client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            ),
        )
        return str(session.id), str(session.url)

    def expire_session(self, session_id: str) -> tuple[str, str | None]:
        """Expires an open Checkout Session so it can no longer be paid. Returns the session's
        status afterwards ("expired", or "complete" when the cardholder paid first) and its
        PaymentIntent id."""
        try:
            session = self._call(
                "checkout.sessions.expire",
                lambda: self._client.v1.checkout.sessions.expire(session_id),
            )
        except StripeRejected:
            # Only an open session can be expired; read what it became instead.
            session = self._call(
                "checkout.sessions.retrieve",
                lambda: self._client.v1.checkout.sessions.retrieve(session_id),
            )
        intent = session.payment_intent
        intent_id = intent if isinstance(intent, str) or intent is None else intent.id
        return str(session.status), intent_id

    # -- charges ------------------------------------------------------------------------------
    def charge(self, request: ChargeRequest) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": request.price.amount,
            "currency": request.price.currency,
            "customer": request.customer_id,
            "payment_method": request.payment_method_id,
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            # The cardholder is not present: Stripe answers authentication_required instead of
            # starting 3-D Secure (https://docs.stripe.com/payments/save-and-reuse).
            "off_session": True,
            "metadata": dict(request.metadata),
            "description": request.description,
        }
        tally = _Attempts()
        try:
            intent = self._call(
                "payment_intents.create",
                lambda: self._client.v1.payment_intents.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": request.idempotency_key},
                ),
                tally,
            )
        except stripe.CardError as error:
            return _card_failure(error, tally.count)
        except StripeRejected as error:
            if error.code == "idempotency_error":
                # Our key already made a request with other parameters: Stripe may hold a
                # charge for it. Never call that "rejected"; let reconciliation look.
                log.error("stripe_idempotency_key_conflict", stripe_request_id=error.request_id)
                return ChargeResult(
                    ChargeOutcome.UNKNOWN,
                    stripe_code=error.code,
                    stripe_message=str(error),
                    stripe_request_id=error.request_id,
                    attempts=tally.count,
                )
            return ChargeResult(
                ChargeOutcome.REJECTED,
                stripe_code=error.code,
                stripe_message=str(error),
                stripe_request_id=error.request_id,
                attempts=tally.count,
            )
        except TransientStripeError as error:
            outcome = ChargeOutcome.UNKNOWN if tally.executed_maybe else ChargeOutcome.NOT_EXECUTED
            return ChargeResult(outcome, stripe_message=str(error), attempts=tally.count)
        return _intent_result(intent, tally.count)

    def find_charge(
        self, customer_id: str, publish_request_id: str, created_after: int
    ) -> ChargeResult | None:
        """The PaymentIntent made for a publish request, if Stripe has one. Lists the customer's
        intents (list is strongly consistent; search may lag by a minute:
        https://docs.stripe.com/search#data-freshness)."""
        for intent in self._intents_of(customer_id, created_after):
            metadata: Mapping[str, Any] = intent.metadata or {}  # type: ignore[assignment]
            if metadata.get("publish_request_id") == publish_request_id:
                return _intent_result(intent, 1)
        return None

    def _lister(self, params: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self._client.v1.payment_intents.list(params=params)  # type: ignore[arg-type]

    def _intents_of(self, customer_id: str, created_after: int) -> Iterator[stripe.PaymentIntent]:
        params: dict[str, Any] = {
            "customer": customer_id,
            "created": {"gte": created_after},
            "limit": 100,
        }
        while True:
            page = self._call("payment_intents.list", self._lister(dict(params)))
            yield from page.data
            if not page.has_more or not page.data:
                return
            params["starting_after"] = page.data[-1].id

    # == Payment-method sync, setup sessions and the Events list (webhooks) ====================
    # Used by services/payment_method_sync.py, billing_setup.py and backfill.py. Everything
    # returns the plain dataclasses at the end of this module, so no caller touches `stripe`.

    def retrieve_customer(self, customer_id: str) -> StripeCustomer:
        """The customer's default payment method, or `deleted=True`: Stripe still answers a
        retrieve of a deleted customer, with `{id, deleted: true}`
        (https://docs.stripe.com/api/customers/delete)."""
        customer = self._call(
            "customers.retrieve", lambda: self._client.v1.customers.retrieve(customer_id)
        ).to_dict()
        if customer.get("deleted"):
            return StripeCustomer(id=customer_id, deleted=True, default_payment_method_id=None)
        settings = customer.get("invoice_settings")
        default = settings.get("default_payment_method") if settings else None
        if default is not None and not isinstance(default, str):
            default = default.get("id")  # expanded by someone's default expand settings
        return StripeCustomer(
            id=str(customer["id"]), deleted=False, default_payment_method_id=default
        )

    def list_card_payment_methods(self, customer_id: str) -> list[StripeCard]:
        """Every card attached to the customer, newest first as Stripe lists them
        (https://docs.stripe.com/api/payment_methods/customer_list), all pages."""
        params: dict[str, Any] = {"type": "card", "limit": 100}
        cards: list[StripeCard] = []
        while True:
            page = self._call(
                "customers.payment_methods.list", self._card_lister(customer_id, dict(params))
            )
            cards.extend(_stripe_card(pm.to_dict()) for pm in page.data if pm.card)
            if not page.has_more or not page.data:
                return cards
            params["starting_after"] = page.data[-1].id

    def _card_lister(self, customer_id: str, params: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self._client.v1.customers.payment_methods.list(
            customer_id,
            params=params,  # type: ignore[arg-type]
        )

    def retrieve_setup_intent(self, setup_intent_id: str) -> StripeSetupIntent:
        intent = self._call(
            "setup_intents.retrieve",
            lambda: self._client.v1.setup_intents.retrieve(setup_intent_id),
        ).to_dict()
        return StripeSetupIntent(
            id=str(intent["id"]),
            status=str(intent["status"]),
            customer_id=_id_of(intent.get("customer")),
            payment_method_id=_id_of(intent.get("payment_method")),
        )

    def create_setup_session(
        self,
        *,
        customer_id: str,
        metadata: Mapping[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> tuple[str, str]:
        """A Checkout Session in setup mode: the cardholder saves a card on the customer, which
        Stripe attaches when the session completes
        (https://docs.stripe.com/payments/save-and-reuse?platform=checkout). Cards only, so no
        `currency` is needed. Returns (id, url)."""
        params: dict[str, Any] = {
            "mode": "setup",
            "customer": customer_id,
            "allowed_payment_method_types": ["card"],
            "metadata": dict(metadata),
            "setup_intent_data": {"metadata": dict(metadata)},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        return self._create_checkout_session(params, idempotency_key)

    def list_events(self, *, created_gte: int, types: Sequence[str]) -> list[dict[str, Any]]:
        """Events of `types` created at or after `created_gte`, oldest first, as plain dicts (the
        same JSON a webhook delivers). Stripe keeps 30 days of events and lists them newest
        first (https://docs.stripe.com/api/events/list); `types` takes at most 20."""
        params: dict[str, Any] = {
            "created": {"gte": created_gte},
            "types": list(types),
            "limit": 100,
        }
        events: list[dict[str, Any]] = []
        while True:
            page = self._call("events.list", self._event_lister(dict(params)))
            events.extend(event.to_dict() for event in page.data)
            if not page.has_more or not page.data:
                events.reverse()
                return events
            params["starting_after"] = page.data[-1].id

    def _event_lister(self, params: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self._client.v1.events.list(params=params)  # type: ignore[arg-type]


def _intent_result(intent: stripe.PaymentIntent, attempts: int) -> ChargeResult:
    request_id = getattr(getattr(intent, "last_response", None), "request_id", None)
    match intent.status:
        case "succeeded":
            return ChargeResult(
                ChargeOutcome.SUCCEEDED, intent.id, stripe_request_id=request_id, attempts=attempts
            )
        case "requires_action":
            return ChargeResult(
                ChargeOutcome.AUTHENTICATION_REQUIRED,
                intent.id,
                stripe_code="authentication_required",
                stripe_request_id=request_id,
                attempts=attempts,
            )
        case "requires_payment_method":
            error = intent.last_payment_error
            code = getattr(error, "code", None) if error else None
            if code == "authentication_required":
                return ChargeResult(
                    ChargeOutcome.AUTHENTICATION_REQUIRED,
                    intent.id,
                    stripe_code=code,
                    attempts=attempts,
                )
            return ChargeResult(
                ChargeOutcome.DECLINED,
                intent.id,
                decline_code=getattr(error, "decline_code", None) if error else None,
                stripe_code=code,
                stripe_message=getattr(error, "message", None) if error else None,
                stripe_request_id=request_id,
                attempts=attempts,
            )
        case _:
            # processing / requires_confirmation / canceled: no definite card outcome yet.
            return ChargeResult(
                ChargeOutcome.UNKNOWN, intent.id, stripe_request_id=request_id, attempts=attempts
            )


def _card_failure(error: stripe.CardError, attempts: int) -> ChargeResult:
    body = error.json_body or {}
    detail = body.get("error", {}) if isinstance(body, dict) else {}
    intent = detail.get("payment_intent") or {}
    intent_id = intent.get("id") if isinstance(intent, dict) else None
    if error.code == "authentication_required":
        return ChargeResult(
            ChargeOutcome.AUTHENTICATION_REQUIRED,
            intent_id,
            stripe_code=error.code,
            stripe_message=error.user_message,
            stripe_request_id=error.request_id,
            attempts=attempts,
        )
    return ChargeResult(
        ChargeOutcome.DECLINED,
        intent_id,
        decline_code=detail.get("decline_code") or error.code,
        stripe_code=error.code,
        stripe_message=error.user_message,
        stripe_request_id=error.request_id,
        attempts=attempts,
    )


# == Payment-method sync, setup sessions and the Events list (webhooks): what Stripe answers ====


@dataclass(frozen=True, slots=True)
class StripeCustomer:
    id: str
    deleted: bool
    # `invoice_settings.default_payment_method`: the card Stripe names as the customer's default.
    default_payment_method_id: str | None


@dataclass(frozen=True, slots=True)
class StripeCard:
    """A card PaymentMethod as Stripe reports it (never the number)."""

    id: str
    customer_id: str | None
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class StripeSetupIntent:
    id: str
    status: str
    customer_id: str | None
    payment_method_id: str | None


def _id_of(value: Any) -> str | None:
    """An id field that may come expanded into its object."""
    if value is None or isinstance(value, str):
        return value
    found = value.get("id")
    return str(found) if found is not None else None


def _stripe_card(payment_method: dict[str, Any]) -> StripeCard:
    card = payment_method["card"]
    return StripeCard(
        id=str(payment_method["id"]),
        customer_id=_id_of(payment_method.get("customer")),
        brand=str(card["brand"]),
        last4=str(card["last4"]),
        exp_month=int(card["exp_month"]),
        exp_year=int(card["exp_year"]),
    )
