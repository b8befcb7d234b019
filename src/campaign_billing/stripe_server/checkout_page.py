"""A bare hosted-Checkout page at a session's `url`, so a person (or a browser test) can open
the link the service sends and pay or save a card with a test card number."""

import html
from urllib.parse import parse_qsl

from campaign_billing.stripe_server.asgi import HttpRequest, Receive, Send, read_body, respond
from campaign_billing.stripe_server.errors import StripeApiError
from campaign_billing.stripe_server.ids import new_request_id
from campaign_billing.stripe_server.params import Params
from campaign_billing.stripe_server.parts import ServerParts
from campaign_billing.stripe_server.resources.checkout_sessions import (
    complete_session,
    expire_if_due,
)
from campaign_billing.stripe_server.resources.payment_methods import payment_method_from_card_params

_PREFIX = "/checkout/pay/"
_CARDS = (
    ("4242424242424242", "Visa, succeeds"),
    ("4000002760003184", "Visa, asks for 3D Secure (you pass it)"),
    ("4000000000000341", "Visa, saves but every charge is declined"),
    ("4000000000009995", "Visa, insufficient funds"),
    ("4000000000000002", "Visa, declined"),
)


def handles(path: str) -> bool:
    return path.startswith(_PREFIX)


class CheckoutPage:
    def __init__(self, parts: ServerParts) -> None:
        self._parts = parts

    async def serve(self, http: HttpRequest, receive: Receive, send: Send) -> None:
        session = self._parts.state.checkout_sessions.get(http.path[len(_PREFIX) :])
        if session is None:
            await _page(send, 404, "Checkout", "<p>No such Checkout Session.</p>")
            return
        expire_if_due(self._parts.state, session)
        if http.method == "POST" and session["status"] == "open":
            form = dict(parse_qsl((await read_body(receive)).decode()))
            try:
                payment_method = payment_method_from_card_params(
                    self._parts.state, Params({"number": form.get("card", "")}, "card")
                )
                complete_session(
                    self._parts.state, session, payment_method, email=form.get("email") or None
                )
            except StripeApiError as error:
                await _page(
                    send,
                    402,
                    "Checkout",
                    f"<p>{html.escape(error.message)}</p>{_form(session['id'])}",
                )
                return
            if session["success_url"]:
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                headers = [("Location", target), ("Request-Id", new_request_id())]
                await respond(send, 303, b"", headers, "text/html")
                return
        if session["status"] != "open":
            await _page(
                send, 200, "Checkout", f"<p>This session is {html.escape(session['status'])}.</p>"
            )
            return
        what = (
            f"Pay {session['amount_total'] / 100:.2f} {str(session['currency']).upper()}"
            if session["mode"] == "payment"
            else "Save a card for later payments"
        )
        await _page(send, 200, "Checkout", f"<h1>{html.escape(what)}</h1>{_form(session['id'])}")


def _form(session_id: str) -> str:
    options = "".join(
        f'<option value="{number}">{number}: {html.escape(label)}</option>'
        for number, label in _CARDS
    )
    return (
        f'<form method="post" action="{_PREFIX}{html.escape(session_id)}">'
        f'<label>Card <select name="card">{options}</select></label> '
        '<label>Email <input name="email" type="email"></label> '
        '<button type="submit">Submit</button></form>'
    )


async def _page(send: Send, status: int, title: str, body: str) -> None:
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body>{body}<p><small>Stripe test server: no real payment.</small></p>"
        "</body></html>"
    )
    headers = [("Request-Id", new_request_id())]
    await respond(send, status, document.encode(), headers, "text/html; charset=utf-8")
