"""One payment attempt on a PaymentIntent: authenticate, decline or succeed, with its charge.

https://docs.stripe.com/payments/paymentintents/lifecycle and https://docs.stripe.com/declines:
- a decline is HTTP 402 `card_error` carrying `code`, `decline_code`, `charge`, the PaymentMethod
  and the PaymentIntent, which is left in `requires_payment_method` with `last_payment_error`;
- a card that needs 3D Secure, confirmed off-session (or with `error_on_requires_action`), fails
  with the decline code `authentication_required`; on-session it moves to `requires_action`
  (https://docs.stripe.com/payments/save-and-reuse#charge-saved-payment-method);
- each attempt creates a charge and emits `charge.succeeded` / `charge.failed`, then
  `payment_intent.succeeded` / `.payment_failed` / `.requires_action`.
"""

from campaign_billing.stripe_server.cards import (
    AUTHENTICATION_REQUIRED,
    Authentication,
    Decline,
    card_error,
    last_payment_error,
)
from campaign_billing.stripe_server.errors import invalid_request, unexpected_state
from campaign_billing.stripe_server.event_log import Origin
from campaign_billing.stripe_server.ids import new_id
from campaign_billing.stripe_server.resources.charges import record_charge
from campaign_billing.stripe_server.resources.payment_methods import (
    attach,
    card_profile,
    ensure_usable,
)
from campaign_billing.stripe_server.snapshot import snapshot
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject


def check_owner(intent: JsonObject, payment_method: JsonObject) -> None:
    owner = payment_method["customer"]
    if owner is not None and owner != intent["customer"]:
        raise invalid_request(
            f"The provided PaymentMethod {payment_method['id']} is attached to customer {owner}, "
            f"not to this PaymentIntent's customer ({intent['customer']}).",
            param="payment_method",
        )


def confirm(
    state: AccountState,
    intent: JsonObject,
    payment_method: JsonObject,
    origin: Origin,
    *,
    off_session: bool = False,
    error_on_requires_action: bool = False,
    cardholder_authenticates: bool = False,
) -> JsonObject:
    """One payment attempt. `cardholder_authenticates` stands for a customer present to pass
    3D Secure (Checkout, or the test authenticate control)."""
    ensure_usable(state, payment_method, "payment_method")
    check_owner(intent, payment_method)
    intent["payment_method"] = payment_method["id"]
    profile = card_profile(state, payment_method)
    needs_authentication = profile.authentication is Authentication.ALWAYS or (
        profile.authentication is Authentication.UNLESS_SET_UP
        and payment_method["id"] not in state.set_up_for_off_session
    )
    if needs_authentication and not cardholder_authenticates:
        if off_session or error_on_requires_action:
            fail(state, intent, payment_method, AUTHENTICATION_REQUIRED, origin)
        intent["status"] = "requires_action"
        intent["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {"type": "three_d_secure_redirect", "source": new_id("src_")},
        }
        state.event_log.emit("payment_intent.requires_action", intent, origin)
        return intent
    if profile.charge_decline is not None:
        fail(state, intent, payment_method, profile.charge_decline, origin)
    return succeed(state, intent, payment_method, origin)


def succeed(
    state: AccountState, intent: JsonObject, payment_method: JsonObject, origin: Origin
) -> JsonObject:
    charge = record_charge(state, intent, payment_method, None, origin)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
        payment_method=payment_method["id"],
    )
    _settle_payment_method(state, intent, payment_method, origin)
    state.event_log.emit("payment_intent.succeeded", intent, origin)
    return intent


def fail(
    state: AccountState,
    intent: JsonObject,
    payment_method: JsonObject,
    decline: Decline,
    origin: Origin,
) -> None:
    """Records a declined attempt and raises the 402 Stripe answers with."""
    charge = record_charge(state, intent, payment_method, decline, origin)
    intent.update(
        status="requires_payment_method",
        last_payment_error={
            **last_payment_error(decline),
            "charge": charge["id"],
            "payment_method": snapshot(payment_method),
        },
        latest_charge=charge["id"],
        next_action=None,
        payment_method=None,
    )
    if payment_method["customer"] is None:
        state.spent_payment_methods.add(payment_method["id"])
    state.event_log.emit("payment_intent.payment_failed", intent, origin)
    raise card_error(
        decline,
        {
            "charge": charge["id"],
            "payment_intent": snapshot(intent),
            "payment_method": snapshot(payment_method),
        },
    )


def _settle_payment_method(
    state: AccountState, intent: JsonObject, payment_method: JsonObject, origin: Origin
) -> None:
    """After a success, `setup_future_usage` saves the card to the customer; a card used
    without a customer cannot be used again."""
    if intent["setup_future_usage"] and intent["customer"]:
        attach(state, payment_method, intent["customer"], origin)
        state.set_up_for_off_session.add(payment_method["id"])
    elif payment_method["customer"] is None:
        state.spent_payment_methods.add(payment_method["id"])


# --- test-only --------------------------------------------------------------------------------

AUTHENTICATION_FAILED = Decline(
    "payment_intent_authentication_failure",
    None,
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data "
    "or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
)


def authenticate(
    state: AccountState, intent: JsonObject, *, passes: bool, origin: Origin
) -> JsonObject:
    """The cardholder answers the 3D Secure challenge of a `requires_action` PaymentIntent."""
    if intent["status"] != "requires_action":
        raise unexpected_state(
            f"This PaymentIntent's status is {intent['status']}; only one in requires_action "
            "can be authenticated."
        )
    payment_method = state.payment_methods.require(intent["payment_method"], "payment_method")
    if not passes:
        fail(state, intent, payment_method, AUTHENTICATION_FAILED, origin)
    return confirm(state, intent, payment_method, origin, cardholder_authenticates=True)
