"""The platform's side of an end-to-end test: people synced over HTTP, cards saved the way a
user saves them ("Continue to Stripe", then Stripe's webhook), campaigns, publishing."""

from __future__ import annotations

from typing import Any

from campaign_billing.stripe_server import StripeTestServer
from tests.e2e.harness import Api, wait_until

WORKSPACE = "ws_1"
OFFICE = "off_1"


class Platform:
    def __init__(self, api: Api, stripe: StripeTestServer) -> None:
        self.api = api
        self.stripe = stripe
        # The Stripe test server lives for the whole session: count only this test's charges.
        self._ledger_start = len(stripe.control.ledger())

    def office(self, workspace: str = WORKSPACE, office: str = OFFICE) -> Platform:
        self.api.put(f"/v1/workspaces/{workspace}", {"name": f"Workspace {workspace}"})
        self.api.put(f"/v1/offices/{office}", {"workspace_id": workspace, "name": "Downtown"})
        return self

    def user(
        self,
        user_id: str,
        name: str,
        role: str = "agent",
        *,
        consent: bool = False,
        office: str | None = OFFICE,
        workspace: str = WORKSPACE,
    ) -> None:
        self.api.put(
            f"/v1/users/{user_id}",
            {
                "workspace_id": workspace,
                "name": name,
                "email": f"{user_id}@example.com",
                "role": role,
                "office_id": office,
            },
        )
        if consent:
            self.api.put(f"/v1/users/{user_id}/billing-settings", {"allow_admin_invoicing": True})

    def open_account(self, owner_type: str, owner_id: str) -> dict[str, Any]:
        response = self.api.http.post(
            "/v1/billing-accounts", json={"owner_type": owner_type, "owner_id": owner_id}
        )
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def save_card(self, account_id: str, card: str = "4242424242424242") -> dict[str, Any]:
        """Account > Billing > Add a payment method > Continue to Stripe > Save."""
        before = len(self.account(account_id)["payment_methods"])
        session = self.api.http.post(
            f"/v1/billing-accounts/{account_id}/setup-session",
            json={
                "success_url": "https://app.example.com/saved",
                "cancel_url": "https://app.example.com/cancelled",
            },
        )
        assert session.status_code == 200, session.text
        self.stripe.control.complete_checkout_session(session.json()["session_id"], card=card)
        account: dict[str, Any] = wait_until(
            lambda: self._with_more_cards(account_id, before), timeout=20, what="card saved"
        )
        return account

    def _with_more_cards(self, account_id: str, before: int) -> dict[str, Any] | None:
        account = self.account(account_id)
        return account if len(account["payment_methods"]) > before else None

    def account_with_card(
        self, owner_type: str, owner_id: str, card: str = "4242424242424242"
    ) -> dict[str, Any]:
        return self.save_card(self.open_account(owner_type, owner_id)["id"], card)

    def account(self, account_id: str) -> dict[str, Any]:
        response = self.api.http.get(f"/v1/billing-accounts/{account_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def campaign(
        self,
        campaign_id: str,
        created_by: str,
        billing: dict[str, Any] | None = None,
        *,
        version: str = "v2",
        amount: int = 45_000,
    ) -> None:
        self.api.put(
            f"/v1/campaigns/{campaign_id}",
            {
                "office_id": OFFICE,
                "created_by": created_by,
                "version": version,
                "amount": amount,
                "currency": "usd",
                "billing": billing or {"type": "office"},
            },
        )

    def publish_and_wait(self, campaign_id: str, key: str | None = None) -> dict[str, Any]:
        response = self.api.publish(campaign_id, key)
        assert response.status_code in (200, 202), response.text
        return self.api.wait_terminal(response.json()["publish_request_id"])

    def new_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent created since this test began."""
        return self.stripe.control.ledger()[self._ledger_start :]

    def intents_for(self, publish_request_id: str) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.stripe.control.ledger()
            if entry["metadata"].get("publish_request_id") == publish_request_id
        ]
