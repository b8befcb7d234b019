"""The platform's people, accounts and cards for a run, synced over HTTP the way upstream apps
sync them, cards saved the way a user saves them ("Continue to Stripe", then Stripe's webhook);
and the campaigns to publish, a mix of every kind of outcome.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from campaign_billing.stripe_server import ControlClient
from chaos.client import ApiClient
from chaos.services import wait_until

VISA = "4242424242424242"
DECLINES_AFTER_ATTACH = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002760003184"


class Kind(StrEnum):
    """What a campaign's billing is set up to do."""

    OFFICE = "office"  # office billing, the office's good card: succeeds
    AGENT = "agent"  # agent billing with a good card (self or delegated): succeeds
    INVALID_BILLING = "invalid_billing"  # refused by the billing rules: no Stripe call
    DECLINING_CARD = "declining_card"  # Stripe declines: failed, card_declined
    AUTHENTICATION_CARD = "authentication_card"  # requires_action, with a payment link
    CHURNING_CARD = "churning_card"  # billed to a card being attached/detached meanwhile


WEIGHTS = {
    Kind.OFFICE: 0.35,
    Kind.AGENT: 0.15,
    Kind.INVALID_BILLING: 0.15,
    Kind.DECLINING_CARD: 0.15,
    Kind.AUTHENTICATION_CARD: 0.10,
    Kind.CHURNING_CARD: 0.10,
}


@dataclass
class Office:
    workspace_id: str
    office_id: str
    admin: str
    good_agent: str
    declining_agent: str
    authentication_agent: str
    no_consent_agent: str
    no_account_agent: str
    pending_agent: str
    churn_agents: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    customer_id: str
    owner_type: str
    owner_id: str


@dataclass
class Population:
    offices: list[Office]
    accounts: list[Account]
    churn_accounts: list[Account]


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    campaign_id: str
    kind: Kind
    body: dict[str, Any]


def build_population(
    api: ApiClient, control: ControlClient, workspaces: int, offices: int, churn_agents: int
) -> Population:
    built: list[Office] = []
    for w in range(1, workspaces + 1):
        workspace = f"ws_{w}"
        api.ok("PUT", f"/v1/workspaces/{workspace}", {"name": f"Realty {w}"})
        for o in range(1, offices + 1):
            built.append(_office(api, workspace, f"off_{w}_{o}", churn_agents))
    wanted: list[tuple[str, str, str | None]] = []
    for office in built:
        wanted += [
            ("office", office.office_id, VISA),
            ("agent", office.good_agent, VISA),
            ("agent", office.declining_agent, DECLINES_AFTER_ATTACH),
            ("agent", office.authentication_agent, NEEDS_AUTHENTICATION),
            ("agent", office.no_consent_agent, VISA),
            ("agent", office.pending_agent, None),
        ]
        wanted += [("agent", agent, VISA) for agent in office.churn_agents]
    with ThreadPoolExecutor(max_workers=6) as pool:
        accounts = list(pool.map(lambda w: _account(api, control, *w), wanted))
    churners = {agent for office in built for agent in office.churn_agents}
    return Population(
        offices=built,
        accounts=accounts,
        churn_accounts=[a for a in accounts if a.owner_id in churners],
    )


def _office(api: ApiClient, workspace: str, office_id: str, churn_agents: int) -> Office:
    api.ok("PUT", f"/v1/offices/{office_id}", {"workspace_id": workspace, "name": office_id})
    office = Office(
        workspace_id=workspace,
        office_id=office_id,
        admin=f"adm_{office_id}",
        good_agent=f"good_{office_id}",
        declining_agent=f"decl_{office_id}",
        authentication_agent=f"auth_{office_id}",
        no_consent_agent=f"nocons_{office_id}",
        no_account_agent=f"noacct_{office_id}",
        pending_agent=f"pend_{office_id}",
        churn_agents=[f"churn{n}_{office_id}" for n in range(1, churn_agents + 1)],
    )
    _user(api, workspace, office_id, office.admin, "admin", consent=False)
    for agent in (
        office.good_agent,
        office.declining_agent,
        office.authentication_agent,
        office.no_account_agent,
        office.pending_agent,
        *office.churn_agents,
    ):
        _user(api, workspace, office_id, agent, "agent", consent=True)
    _user(api, workspace, office_id, office.no_consent_agent, "agent", consent=False)
    return office


def _user(
    api: ApiClient, workspace: str, office_id: str, user_id: str, role: str, *, consent: bool
) -> None:
    api.ok(
        "PUT",
        f"/v1/users/{user_id}",
        {
            "workspace_id": workspace,
            "name": user_id.replace("_", " ").title(),
            "email": f"{user_id}@example.com",
            "role": role,
            "office_id": office_id,
        },
    )
    if consent:
        api.ok("PUT", f"/v1/users/{user_id}/billing-settings", {"allow_admin_invoicing": True})


def _account(
    api: ApiClient, control: ControlClient, owner_type: str, owner_id: str, card: str | None
) -> Account:
    opened = api.ok(
        "POST", "/v1/billing-accounts", {"owner_type": owner_type, "owner_id": owner_id}
    )
    account = Account(opened["id"], opened["stripe_customer_id"], owner_type, owner_id)
    if card is None:
        return account
    session = api.ok(
        "POST",
        f"/v1/billing-accounts/{account.id}/setup-session",
        {
            "success_url": "https://app.example.com/saved",
            "cancel_url": "https://app.example.com/cancelled",
        },
    )
    control.complete_checkout_session(session["session_id"], card=card)
    wait_until(
        lambda: api.ok("GET", f"/v1/billing-accounts/{account.id}")["payment_methods"],
        timeout=60,
        what=f"the card of {owner_id}",
        interval=0.2,
    )
    return account


def plan_campaigns(population: Population, count: int, rng: random.Random) -> list[CampaignPlan]:
    kinds = list(WEIGHTS)
    weights = [WEIGHTS[k] for k in kinds]
    plans = []
    for number in range(1, count + 1):
        kind = rng.choices(kinds, weights)[0]
        office = rng.choice(population.offices)
        plans.append(CampaignPlan(f"cmp_{number:05d}", kind, _campaign_body(kind, office, rng)))
    return plans


def _campaign_body(kind: Kind, office: Office, rng: random.Random) -> dict[str, Any]:
    creator = office.admin
    version = "v2"
    billing: dict[str, Any] = {"type": "office"}
    match kind:
        case Kind.OFFICE:
            creator = rng.choice([office.admin, office.good_agent])
        case Kind.AGENT:
            creator = rng.choice([office.admin, office.good_agent])
            billing = {"type": "agent", "billing_user_id": office.good_agent}
        case Kind.INVALID_BILLING:
            creator, version, billing = rng.choice(
                [
                    (office.good_agent, "v1", _agent(office.good_agent)),  # V1 + agent billing
                    (office.admin, "v2", _agent(office.no_consent_agent)),  # no delegation
                    (office.no_account_agent, "v2", _agent(office.no_account_agent)),
                    (office.pending_agent, "v2", _agent(office.pending_agent)),  # no card yet
                    (office.admin, "v2", _agent(office.admin)),  # billing user not an agent
                    (office.good_agent, "v2", _agent(office.declining_agent)),  # not theirs
                    (office.good_agent, "v2", {"type": "agent"}),  # no billing user
                ]
            )
        case Kind.DECLINING_CARD:
            creator = rng.choice([office.admin, office.declining_agent])
            billing = _agent(office.declining_agent)
        case Kind.AUTHENTICATION_CARD:
            creator = rng.choice([office.admin, office.authentication_agent])
            billing = _agent(office.authentication_agent)
        case Kind.CHURNING_CARD:
            agent = rng.choice(office.churn_agents)
            creator, billing = agent, _agent(agent)
    return {
        "office_id": office.office_id,
        "created_by": creator,
        "version": version,
        "amount": rng.randrange(5_000, 90_000, 100),
        "currency": "usd",
        "billing": billing,
    }


def _agent(user_id: str) -> dict[str, Any]:
    return {"type": "agent", "billing_user_id": user_id}
