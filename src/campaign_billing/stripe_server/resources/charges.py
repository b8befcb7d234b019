"""Charges: one per confirmation attempt of a PaymentIntent (https://docs.stripe.com/api/charges).

The service never creates charges itself; they exist so that a PaymentIntent's `latest_charge`
can be retrieved or expanded, and so that `charge.succeeded` / `charge.failed` are emitted as
Stripe emits them.
"""

from campaign_billing.stripe_server.cards import Decline
from campaign_billing.stripe_server.event_log import Origin
from campaign_billing.stripe_server.ids import new_id
from campaign_billing.stripe_server.listing import LIST_PARAMS, created_filter, list_page
from campaign_billing.stripe_server.routing import COMMON_PARAMS, ApiRequest, Route
from campaign_billing.stripe_server.state import AccountState
from campaign_billing.stripe_server.types import JsonObject


def _outcome(decline: Decline | None) -> JsonObject:
    if decline is None:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": decline.decline_code or decline.code,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def record_charge(
    state: AccountState,
    payment_intent: JsonObject,
    payment_method: JsonObject,
    decline: Decline | None,
    origin: Origin,
) -> JsonObject:
    """Creates the charge for one attempt and emits `charge.succeeded` or `charge.failed`."""
    charge_id = new_id("ch_")
    succeeded = decline is None
    card = payment_method["card"]
    charge: JsonObject = {
        "id": charge_id,
        "object": "charge",
        "amount": payment_intent["amount"],
        "amount_captured": payment_intent["amount"] if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": payment_method["billing_details"],
        "calculated_statement_descriptor": "CAMPAIGN BILLING TEST",
        "captured": succeeded,
        "created": state.clock.timestamp(),
        "currency": payment_intent["currency"],
        "customer": payment_intent["customer"],
        "description": payment_intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None if decline is None else decline.code,
        "failure_message": None if decline is None else decline.message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(payment_intent["metadata"]),
        "on_behalf_of": None,
        "outcome": _outcome(decline),
        "paid": succeeded,
        "payment_intent": payment_intent["id"],
        "payment_method": payment_method["id"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "checks": card["checks"],
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "last4": card["last4"],
                "network": card["brand"],
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": payment_intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": payment_intent["statement_descriptor"],
        "statement_descriptor_suffix": payment_intent["statement_descriptor_suffix"],
        "status": "succeeded" if succeeded else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }
    state.charges.add(charge)
    state.event_log.emit("charge.succeeded" if succeeded else "charge.failed", charge, origin)
    return charge


def retrieve_charge(state: AccountState, request: ApiRequest) -> JsonObject:
    return state.charges.require(request.path_param("charge"))


def list_charges(state: AccountState, request: ApiRequest) -> JsonObject:
    params = request.params
    customer = params.text("customer")
    payment_intent = params.text("payment_intent")
    in_range = created_filter(params)
    matching = [
        charge
        for charge in state.charges.newest_first()
        if (not customer or charge["customer"] == customer)
        and (not payment_intent or charge["payment_intent"] == payment_intent)
        and in_range(charge)
    ]
    return list_page(matching, params, "/v1/charges", state.charges)


ROUTES = (
    Route("GET", "/v1/charges/{charge}", retrieve_charge, COMMON_PARAMS),
    Route(
        "GET",
        "/v1/charges",
        list_charges,
        COMMON_PARAMS | LIST_PARAMS | {"customer", "payment_intent", "transfer_group"},
    ),
)
