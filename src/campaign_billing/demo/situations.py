"""The help-centre article's situations, played through the HTTP API as the platform's apps
and its users would: sync people, save cards through "Continue to Stripe", publish, and read
the outcome, the events and the explanation."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from redis import Redis

from campaign_billing.stripe_server import StripeTestServer

WORKSPACE = "ws_harbour"
OFFICE = "off_downtown"


@dataclass(frozen=True)
class Situation:
    title: str
    article: str
    campaign_id: str
    expected: str  # "succeeded", a failure code, or "requires_action"
    # What people do before publishing, beyond the world everyone shares.
    prepare: Callable[[DemoClient], None] | None = None


@dataclass
class Outcome:
    situation: Situation
    status: str
    failure: dict[str, Any] | None
    charge: dict[str, Any] | None
    events: list[str]
    explanation: list[str] = field(default_factory=list)
    payer: str | None = None

    @property
    def as_expected(self) -> bool:
        code = self.failure["code"] if self.failure else self.status
        return code == self.situation.expected or self.status == self.situation.expected


SITUATIONS = (
    Situation(
        "Office billing",
        "Billing Types > Office Billing",
        "cmp_office",
        "succeeded",
    ),
    Situation(
        "Agent billing: the agent pays for their own campaign",
        "Billing Types > Agent Billing",
        "cmp_agent_own",
        "succeeded",
    ),
    Situation(
        "An admin creates a campaign on an agent's behalf, with consent",
        "Allowing admins to create campaigns on behalf of agents (enabled)",
        "cmp_admin_consent",
        "succeeded",
    ),
    Situation(
        "An admin creates a campaign on an agent's behalf, without consent",
        "Allowing admins to create campaigns on behalf of agents (disabled)",
        "cmp_admin_no_consent",
        "delegation_not_allowed",
    ),
    Situation(
        "The agent has no billing account",
        "Important: each agent who pays individually requires their own billing account",
        "cmp_no_account",
        "billing_account_missing",
    ),
    Situation(
        "The agent's billing account has no card yet",
        "Important: a payment method must be attached before the account can be used",
        "cmp_no_card",
        "billing_account_inactive",
    ),
    Situation(
        "The agent saves a card through Stripe, and publishes again",
        "Creating a Billing Account: Add a payment method > Continue to Stripe > Save",
        "cmp_no_card",
        "succeeded",
        prepare=lambda client: client.save_card_for("u_noor", "4242424242424242"),
    ),
    Situation(
        "A Campaign V1 with agent billing",
        "Common Confusion > Wrong person is being charged (Campaign V1)",
        "cmp_v1_agent",
        "agent_billing_unavailable_v1",
    ),
    Situation(
        "The bank declines the card",
        "Checkout never fails silently",
        "cmp_declined",
        "card_declined",
    ),
    Situation(
        "The bank wants the cardholder to authenticate",
        "Checkout never fails silently",
        "cmp_auth",
        "requires_action",
    ),
)


class DemoClient:
    def __init__(self, api_url: str, token: str, stripe: StripeTestServer, redis: Redis) -> None:
        self.http = httpx.Client(
            base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.stripe = stripe
        self.redis = redis
        self.accounts: dict[str, str] = {}

    def _ok(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise RuntimeError(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text}"
            )
        body: dict[str, Any] = response.json()
        return body

    def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.http.put(path, json=body))

    def get(self, path: str) -> dict[str, Any]:
        return self._ok(self.http.get(path))

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._ok(self.http.post(path, json=body or {}))

    # -- the platform's people --------------------------------------------------------------
    def user(self, user_id: str, name: str, role: str, *, consent: bool = False) -> None:
        self.put(
            f"/v1/users/{user_id}",
            {
                "workspace_id": WORKSPACE,
                "name": name,
                "email": f"{user_id}@harbour.example",
                "role": role,
                "office_id": OFFICE,
            },
        )
        if role == "agent":
            self.put(f"/v1/users/{user_id}/billing-settings", {"allow_admin_invoicing": consent})

    def billing_account(self, owner_type: str, owner_id: str, card: str | None) -> str:
        """Account > Billing > Add a payment method > Continue to Stripe > Save."""
        account = self.post(
            "/v1/billing-accounts", {"owner_type": owner_type, "owner_id": owner_id}
        )
        self.accounts[owner_id] = str(account["id"])
        if card is not None:
            self.save_card(str(account["id"]), card)
        return str(account["id"])

    def save_card(self, account_id: str, card: str) -> None:
        session = self.post(
            f"/v1/billing-accounts/{account_id}/setup-session",
            {
                "success_url": "https://app.example.com/billing/saved",
                "cancel_url": "https://app.example.com/billing",
            },
        )
        # The cardholder types the card on Stripe's page; Stripe tells us by webhook.
        self.stripe.control.complete_checkout_session(session["session_id"], card=card)
        self.wait(
            lambda: self.get(f"/v1/billing-accounts/{account_id}")["status"] == "active",
            f"billing account {account_id} to become active",
        )

    def campaign(
        self, campaign_id: str, created_by: str, billing: dict[str, Any], version: str = "v2"
    ) -> None:
        self.put(
            f"/v1/campaigns/{campaign_id}",
            {
                "office_id": OFFICE,
                "created_by": created_by,
                "version": version,
                "amount": 45_000,
                "currency": "usd",
                "billing": billing,
            },
        )

    def save_card_for(self, owner_id: str, card: str) -> None:
        self.save_card(self.accounts[owner_id], card)

    def publish(self, situation: Situation) -> Outcome:
        if situation.prepare is not None:
            situation.prepare(self)
        accepted = self.post(f"/v1/campaigns/{situation.campaign_id}/publish")
        request_id = accepted["publish_request_id"]
        final = self.wait(
            lambda: self._terminal(request_id), f"publish request {request_id} to end"
        )
        events = self.wait(
            lambda: self._events_of(request_id, final["status"]), f"events of {request_id}"
        )
        explanation = self.get(f"/v1/campaigns/{situation.campaign_id}/billing-explanation")
        steps = [
            ("ok  " if step["passed"] else "FAIL") + " " + step["detail"]
            for step in explanation["steps"]
        ]
        return Outcome(
            situation,
            final["status"],
            final["failure"],
            final["charge"],
            events,
            explanation=[*steps, explanation["outcome"]["summary"]],
        )

    def _terminal(self, request_id: str) -> dict[str, Any] | None:
        body = self.get(f"/v1/publish-requests/{request_id}")
        return body if body["status"] in ("succeeded", "failed", "requires_action") else None

    def _events_of(self, request_id: str, status: str) -> list[str] | None:
        types = [
            event["type"]
            for event in self.stream()
            if event["data"].get("publish_request_id") == request_id
        ]
        terminal = {
            "campaign.published",
            "campaign.publish_failed",
            "campaign.payment_action_required",
        }
        return types if terminal & set(types) else None

    def stream(self) -> list[dict[str, Any]]:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = self.redis.xrange(  # type: ignore[assignment]
            "campaign-billing.events"
        )
        return [json.loads(fields[b"event"]) for _id, fields in entries]

    @staticmethod
    def wait(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.05)


def build_world(client: DemoClient) -> None:
    """Harbour Realty's Downtown office, its people, and the cards they saved."""
    client.put(f"/v1/workspaces/{WORKSPACE}", {"name": "Harbour Realty"})
    client.put(f"/v1/offices/{OFFICE}", {"workspace_id": WORKSPACE, "name": "Downtown"})
    client.user("u_sam", "Sam Lee", "admin")
    client.user("u_jane", "Jane Doe", "agent", consent=True)
    client.user("u_omar", "Omar Haddad", "agent", consent=False)
    client.user("u_priya", "Priya Shah", "agent")
    client.user("u_noor", "Noor Ali", "agent")
    client.user("u_kim", "Kim Park", "agent")
    client.user("u_leo", "Leo Martin", "agent")
    client.billing_account("office", OFFICE, card="4242424242424242")
    client.billing_account("agent", "u_jane", card="5555555555554444")
    client.billing_account("agent", "u_omar", card="4242424242424242")
    client.billing_account("agent", "u_noor", card=None)
    # Attaches fine, then every charge is declined (Stripe's 4000000000000341).
    client.billing_account("agent", "u_kim", card="4000000000000341")
    # Always asks the cardholder to authenticate (Stripe's 4000002760003184).
    client.billing_account("agent", "u_leo", card="4000002760003184")

    client.campaign("cmp_office", "u_jane", {"type": "office"})
    client.campaign("cmp_agent_own", "u_jane", {"type": "agent", "billing_user_id": "u_jane"})
    client.campaign("cmp_admin_consent", "u_sam", {"type": "agent", "billing_user_id": "u_jane"})
    client.campaign("cmp_admin_no_consent", "u_sam", {"type": "agent", "billing_user_id": "u_omar"})
    client.campaign("cmp_no_account", "u_priya", {"type": "agent", "billing_user_id": "u_priya"})
    client.campaign("cmp_no_card", "u_noor", {"type": "agent", "billing_user_id": "u_noor"})
    client.campaign(
        "cmp_v1_agent", "u_jane", {"type": "agent", "billing_user_id": "u_jane"}, version="v1"
    )
    client.campaign("cmp_declined", "u_kim", {"type": "agent", "billing_user_id": "u_kim"})
    client.campaign("cmp_auth", "u_sam", {"type": "agent", "billing_user_id": "u_leo"})
    client.put("/v1/users/u_leo/billing-settings", {"allow_admin_invoicing": True})
