"""Everything one test Stripe account holds, in memory.

All reads and writes happen on the server's event loop and handlers never await in the middle of
a change, so each request's change is atomic without locks.
"""

from dataclasses import dataclass

from campaign_billing.stripe_server.cards import CardProfile
from campaign_billing.stripe_server.clock import Clock
from campaign_billing.stripe_server.collection import Collection
from campaign_billing.stripe_server.event_log import EventLog
from campaign_billing.stripe_server.types import JsonObject


@dataclass(frozen=True)
class LedgerEntry:
    """How a PaymentIntent came to exist: the request and idempotency key that created it."""

    payment_intent_id: str
    request_id: str | None
    idempotency_key: str | None
    created_at: float


class AccountState:
    def __init__(self, clock: Clock, api_version: str, max_events: int) -> None:
        self.clock = clock
        self.event_log = EventLog(clock, api_version, max_events)
        self.customers = Collection("customer")
        self.payment_methods = Collection("PaymentMethod")
        self.setup_intents = Collection("setupintent")
        self.payment_intents = Collection("payment_intent")
        self.charges = Collection("charge")
        self.checkout_sessions = Collection("checkout.session")
        self.webhook_endpoints = Collection("webhook endpoint")
        self.deleted_customers: set[str] = set()
        self.card_of_payment_method: dict[str, CardProfile] = {}
        # Cards confirmed through a SetupIntent (or Checkout in setup mode): issuers exempt their
        # later off-session charges from authentication (https://docs.stripe.com/payments/save-and-reuse).
        self.set_up_for_off_session: set[str] = set()
        # PaymentMethods that were detached, or used without being attached to a customer: Stripe
        # refuses to charge or attach them again (https://docs.stripe.com/api/payment_methods/detach).
        self.spent_payment_methods: set[str] = set()
        self.webhook_secrets: dict[str, str] = {}
        # What a payment-mode Checkout Session passes to the PaymentIntent it creates on completion
        # (`payment_intent_data[...]`), by session id.
        self.checkout_intent_data: dict[str, JsonObject] = {}
        self.ledger: list[LedgerEntry] = []

    def clear(self) -> None:
        for collection in (
            self.customers,
            self.payment_methods,
            self.setup_intents,
            self.payment_intents,
            self.charges,
            self.checkout_sessions,
            self.webhook_endpoints,
        ):
            collection.clear()
        self.event_log.clear()
        self.deleted_customers.clear()
        self.card_of_payment_method.clear()
        self.set_up_for_off_session.clear()
        self.spent_payment_methods.clear()
        self.webhook_secrets.clear()
        self.checkout_intent_data.clear()
        self.ledger.clear()
