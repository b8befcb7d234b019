"""The data a figure needs, made the way the platform makes it: people and campaigns synced over
HTTP, cards saved through "Continue to Stripe" and Stripe's webhook."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import httpx
from sqlalchemy import Table

from bench.processes import wait_until
from bench.stack import TOKEN, WEBHOOK_SECRET, Stack
from campaign_billing.adapters.orm import CampaignRow

WORKSPACE = "ws_bench"
OFFICE = "off_bench"
ADMIN = "u_admin"
# An agent who never allowed admins to bill them: every campaign an admin makes for them fails
# resolution with delegation_not_allowed, before any Stripe call.
NO_CONSENT_AGENT = "u_agent_no_consent"
CARD = "4242424242424242"


def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


class Platform:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(base_url=stack.api_url, headers=auth_headers(), timeout=60)
        self.office_account: dict[str, Any] = {}
        self.agent_accounts: list[dict[str, Any]] = []

    def close(self) -> None:
        self.http.close()

    def _put(self, path: str, body: dict[str, Any]) -> None:
        response = self.http.put(path, json=body)
        response.raise_for_status()

    def people(self, agents: int) -> None:
        self._put(f"/v1/workspaces/{WORKSPACE}", {"name": "Bench Realty"})
        self._put(f"/v1/offices/{OFFICE}", {"workspace_id": WORKSPACE, "name": "Downtown"})
        for user_id, name, role in [
            (ADMIN, "Alex Admin", "admin"),
            (NO_CONSENT_AGENT, "Nora Noconsent", "agent"),
            *((f"u_agent_{i}", f"Agent {i}", "agent") for i in range(agents)),
        ]:
            self._put(
                f"/v1/users/{user_id}",
                {
                    "workspace_id": WORKSPACE,
                    "name": name,
                    "email": f"{user_id}@example.com",
                    "role": role,
                    "office_id": OFFICE,
                },
            )

    def accounts(self, agents: int) -> None:
        """The office's account (every charged campaign bills it) and one account per agent
        (the customers the webhook events are about), each with a saved card."""
        self.stack.control.add_webhook_endpoint(
            f"{self.stack.api_url}/webhooks/stripe",
            secret=WEBHOOK_SECRET,
            # Only what saving a card needs: charge events would add webhook load to figures
            # that are not about webhooks.
            enabled_events=["checkout.session.completed"],
        )
        owners = [("office", OFFICE)] + [("agent", f"u_agent_{i}") for i in range(agents)]
        with ThreadPoolExecutor(8) as pool:
            accounts = list(pool.map(lambda owner: self._account_with_card(*owner), owners))
        self.office_account, self.agent_accounts = accounts[0], accounts[1:]

    def _account_with_card(self, owner_type: str, owner_id: str) -> dict[str, Any]:
        opened = self.http.post(
            "/v1/billing-accounts", json={"owner_type": owner_type, "owner_id": owner_id}
        )
        opened.raise_for_status()
        account_id = opened.json()["id"]
        session = self.http.post(
            f"/v1/billing-accounts/{account_id}/setup-session",
            json={"success_url": "https://app.example/ok", "cancel_url": "https://app.example/no"},
        )
        session.raise_for_status()
        self.stack.control.complete_checkout_session(session.json()["session_id"], card=CARD)

        def saved() -> dict[str, Any] | None:
            account: dict[str, Any] = self.http.get(f"/v1/billing-accounts/{account_id}").json()
            return account if account["payment_methods"] else None

        result: dict[str, Any] = wait_until(saved, 60, f"a card on {account_id}", interval=0.1)
        return result

    def campaigns(self, ids: list[str], *, failing: bool = False) -> None:
        """Office-billed V2 campaigns made by the admin; `failing`: billed to the agent who gave
        no consent (fails resolution with delegation_not_allowed).

        Seeded straight into the campaigns table, in one transaction: the figures need
        thousands, `PUT /v1/campaigns/{id}` makes about a hundred a second on this machine, and
        no figure is about it (the people and the accounts above do go through HTTP)."""
        rows: list[dict[str, object]] = [
            {
                "id": campaign_id,
                "workspace_id": WORKSPACE,
                "office_id": OFFICE,
                "created_by": ADMIN,
                "version": "v2",
                "amount": 45_000,
                "currency": "usd",
                "billing_type": "agent" if failing else "office",
                "billing_user_id": NO_CONSENT_AGENT if failing else None,
                "payment_method_id": None,
            }
            for campaign_id in ids
        ]
        self.stack.insert_rows(cast(Table, CampaignRow.__table__), rows)
