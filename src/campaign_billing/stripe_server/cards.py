"""The catalogue of Stripe's test cards: what each looks like and how its charges end.

Sources (Stripe's testing guide and decline-code reference):
- https://docs.stripe.com/testing#cards (brands, `pm_card_*` test PaymentMethod ids)
- https://docs.stripe.com/testing#declined-payments (4000000000000002 generic decline,
  4000000000009995 insufficient funds, 4000000000000069 expired card, 4000000000000127 incorrect
  CVC, 4000000000000119 processing error, 4000000000000341 "decline after attaching": attaching to
  a Customer succeeds, every charge fails)
- https://docs.stripe.com/testing#authentication-and-setup (4000002760003184 always requires
  authentication; 4000002500003155 requires it unless the card was set up for off-session use)
- https://docs.stripe.com/declines/codes (decline codes and their customer-facing messages)

Attaching a card validates it with the issuer, which is why the plain decline cards cannot be
attached to a Customer and why 4000000000000341 exists (see the testing guide above).
"""

from dataclasses import dataclass
from enum import Enum

from campaign_billing.stripe_server.errors import CARD_ERROR, StripeApiError, doc_url, invalid_param
from campaign_billing.stripe_server.types import JsonObject


@dataclass(frozen=True)
class Decline:
    """How the issuer refuses a charge: the fields of a `card_error`."""

    code: str
    decline_code: str | None
    message: str
    param: str | None = None


GENERIC_DECLINE = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT_FUNDS = Decline(
    "card_declined", "insufficient_funds", "Your card has insufficient funds."
)
EXPIRED_CARD = Decline("expired_card", "expired_card", "Your card has expired.", "exp_month")
INCORRECT_CVC = Decline(
    "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"
)
PROCESSING_ERROR = Decline(
    "processing_error",
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
)
AUTHENTICATION_REQUIRED = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)
INCORRECT_NUMBER = Decline("incorrect_number", None, "Your card number is incorrect.", "number")

DECLINES_BY_NAME: dict[str, Decline] = {
    "generic_decline": GENERIC_DECLINE,
    "insufficient_funds": INSUFFICIENT_FUNDS,
    "expired_card": EXPIRED_CARD,
    "incorrect_cvc": INCORRECT_CVC,
    "processing_error": PROCESSING_ERROR,
}


class Authentication(Enum):
    """When the issuer asks for 3D Secure."""

    NEVER = "never"
    ALWAYS = "always"
    UNLESS_SET_UP = "unless_set_up"


@dataclass(frozen=True)
class CardProfile:
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    payment_method_ids: tuple[str, ...] = ()
    charge_decline: Decline | None = None
    authentication: Authentication = Authentication.NEVER
    attachable: bool = True

    @property
    def last4(self) -> str:
        return self.number[-4:]


CATALOGUE: tuple[CardProfile, ...] = (
    CardProfile("4242424242424242", "visa", payment_method_ids=("pm_card_visa",)),
    CardProfile(
        "4000056655665556", "visa", funding="debit", payment_method_ids=("pm_card_visa_debit",)
    ),
    CardProfile("5555555555554444", "mastercard", payment_method_ids=("pm_card_mastercard",)),
    CardProfile(
        "5200828282828210",
        "mastercard",
        funding="debit",
        payment_method_ids=("pm_card_mastercard_debit",),
    ),
    CardProfile("378282246310005", "amex", payment_method_ids=("pm_card_amex",)),
    CardProfile("6011111111111117", "discover", payment_method_ids=("pm_card_discover",)),
    CardProfile(
        "4000000000000002",
        "visa",
        payment_method_ids=("pm_card_chargeDeclined", "pm_card_visa_chargeDeclined"),
        charge_decline=GENERIC_DECLINE,
        attachable=False,
    ),
    CardProfile(
        "4000000000009995",
        "visa",
        payment_method_ids=(
            "pm_card_chargeDeclinedInsufficientFunds",
            "pm_card_visa_chargeDeclinedInsufficientFunds",
        ),
        charge_decline=INSUFFICIENT_FUNDS,
        attachable=False,
    ),
    CardProfile(
        "4000000000000069",
        "visa",
        payment_method_ids=("pm_card_chargeDeclinedExpiredCard",),
        charge_decline=EXPIRED_CARD,
        attachable=False,
    ),
    CardProfile(
        "4000000000000127",
        "visa",
        payment_method_ids=("pm_card_chargeDeclinedIncorrectCvc",),
        charge_decline=INCORRECT_CVC,
        attachable=False,
    ),
    CardProfile(
        "4000000000000119",
        "visa",
        payment_method_ids=("pm_card_chargeDeclinedProcessingError",),
        charge_decline=PROCESSING_ERROR,
        attachable=False,
    ),
    CardProfile(
        "4000000000000341",
        "visa",
        payment_method_ids=("pm_card_chargeCustomerFail",),
        charge_decline=GENERIC_DECLINE,
    ),
    CardProfile(
        "4000002760003184",
        "visa",
        payment_method_ids=("pm_card_authenticationRequired",),
        authentication=Authentication.ALWAYS,
    ),
    CardProfile(
        "4000002500003155",
        "visa",
        payment_method_ids=(
            "pm_card_authenticationRequiredOnSetup",
            "pm_card_threeDSecure2Required",
        ),
        authentication=Authentication.UNLESS_SET_UP,
    ),
)

_BY_NUMBER = {card.number: card for card in CATALOGUE}
_BY_PAYMENT_METHOD_ID = {pm_id: card for card in CATALOGUE for pm_id in card.payment_method_ids}

# Leading digits of the brands Stripe's test numbers use (https://docs.stripe.com/testing#cards).
_BRAND_PREFIXES = (
    ("34", "amex"),
    ("37", "amex"),
    ("6011", "discover"),
    ("65", "discover"),
    ("35", "jcb"),
    ("36", "diners"),
    ("30", "diners"),
    ("62", "unionpay"),
    ("2", "mastercard"),
    ("5", "mastercard"),
    ("4", "visa"),
)


class CardNumberError(ValueError):
    """Raised when a card number fails the Luhn check, as Stripe's `incorrect_number` does."""


def card_for_payment_method_id(payment_method_id: str) -> CardProfile | None:
    return _BY_PAYMENT_METHOD_ID.get(payment_method_id)


def card_for_number(number: str) -> CardProfile:
    """The catalogue card, or a plain succeeding card of the brand its digits name."""
    digits = number.replace(" ", "")
    known = _BY_NUMBER.get(digits)
    if known is not None:
        return known
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_valid(digits):
        raise CardNumberError(number)
    brand = next((name for prefix, name in _BRAND_PREFIXES if digits.startswith(prefix)), "unknown")
    return CardProfile(digits, brand)


def decline_by_name(name: str) -> Decline:
    try:
        return DECLINES_BY_NAME[name]
    except KeyError:
        raise invalid_param(
            f"Unknown outcome {name!r}; use one of {sorted(DECLINES_BY_NAME)}", "outcome"
        ) from None


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_error(decline: Decline, details: JsonObject | None = None) -> StripeApiError:
    """A decline as Stripe answers it: HTTP 402, `type: card_error`
    (https://docs.stripe.com/api/errors#errors-type)."""
    return StripeApiError(
        402,
        CARD_ERROR,
        decline.message,
        code=decline.code,
        param=decline.param,
        decline_code=decline.decline_code,
        details=details,
    )


def last_payment_error(decline: Decline) -> JsonObject:
    """The error object Stripe stores on an intent (`last_payment_error`, `last_setup_error`)."""
    error: JsonObject = {
        "type": CARD_ERROR,
        "code": decline.code,
        "doc_url": doc_url(decline.code),
        "message": decline.message,
    }
    if decline.decline_code is not None:
        error["decline_code"] = decline.decline_code
    if decline.param is not None:
        error["param"] = decline.param
    return error
