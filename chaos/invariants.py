"""What must hold after the run, measured from the sources of truth: the service's database,
the Stripe test server's ledger and customers, the event stream, and what the API answered.

Each figure named in `BOUNDS` is checked against its bound; the others describe the run.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import stripe

from campaign_billing.stripe_server import ControlClient
from chaos.population import Account, CampaignPlan, Kind
from chaos.services import ChaosDatabase

TERMINAL = ("succeeded", "failed", "requires_action")
TERMINAL_EVENT = {
    "succeeded": "campaign.published",
    "failed": "campaign.publish_failed",
    "requires_action": "campaign.payment_action_required",
}
EVENT_STREAM = "campaign-billing.events"

# figure -> the largest value it may have (every other figure is a description).
BOUNDS: dict[str, int] = {
    "not_terminal": 0,
    "accepted_but_lost": 0,
    "max_payment_intents_per_request": 1,
    "succeeded_without_exactly_one_intent": 0,
    "charged_but_not_succeeded": 0,
    "succeeded_not_published": 0,
    "published_without_charge": 0,
    "campaigns_charged_twice": 0,
    "invalid_billing_charged": 0,
    "declining_card_succeeded": 0,
    "same_key_other_request": 0,
    "terminal_without_one_event": 0,
    "events_of_unknown_requests": 0,
    "outbox_unrelayed": 0,
    "webhook_events_unprocessed": 0,
    "webhook_events_parked": 0,
    "payment_method_mismatches": 0,
    "api_5xx": 0,
}


@dataclass(frozen=True, slots=True)
class Sources:
    database: ChaosDatabase
    control: ControlClient
    stripe: stripe.StripeClient
    redis_url: str
    accounts: list[Account]
    plans: list[CampaignPlan]
    accepted_request_ids: set[str]
    api_log_files: list[Path]


def measure(sources: Sources) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with sources.database.connect() as db:
        requests = {
            row[0]: {"campaign_id": row[1], "status": row[2], "failure": row[3]}
            for row in db.execute(
                "SELECT id, campaign_id, status, failure FROM publish_requests"
            ).fetchall()
        }
        published = dict(
            db.execute(
                "SELECT id, published_by_request_id FROM campaigns WHERE published_at IS NOT NULL"
            ).fetchall()
        )
        figures["outbox_unrelayed"] = _count(
            db, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL"
        )
        event_statuses = Counter(
            dict(
                db.execute("SELECT status, count(*) FROM stripe_events GROUP BY status").fetchall()
            )
        )
        stored_cards = _stored_cards(db)
    ledger = sources.control.ledger()

    figures.update(_requests(requests, sources.accepted_request_ids))
    figures.update(_charges(requests, published, ledger, sources.plans))
    figures.update(_stream(requests, sources.redis_url))
    figures["webhook_events_stored"] = sum(event_statuses.values())
    figures["webhook_events_by_status"] = dict(event_statuses)
    figures["webhook_events_unprocessed"] = event_statuses["received"] + event_statuses["failed"]
    figures["webhook_events_parked"] = event_statuses["parked"]
    figures.update(_cards(sources.stripe, sources.accounts, stored_cards))
    figures.update(_api_log(sources.api_log_files))
    return figures


def _count(db: Any, query: str) -> int:
    row = db.execute(query).fetchone()
    return int(row[0]) if row else 0


# -- publish requests -------------------------------------------------------------------------


def _requests(requests: dict[str, dict[str, Any]], accepted: set[str]) -> dict[str, Any]:
    statuses = Counter(r["status"] for r in requests.values())
    codes = Counter(
        (r["failure"] or {}).get("code", "?") for r in requests.values() if r["failure"]
    )
    return {
        "publish_requests": len(requests),
        "terminal": sum(statuses[s] for s in TERMINAL),
        "succeeded": statuses["succeeded"],
        "failed": statuses["failed"],
        "requires_action": statuses["requires_action"],
        "not_terminal": len(requests) - sum(statuses[s] for s in TERMINAL),
        "failure_codes": dict(codes.most_common()),
        "accepted_answers": len(accepted),
        "accepted_but_lost": len(accepted - set(requests)),
    }


# -- charges, from the Stripe test server's ledger ---------------------------------------------


def _charges(
    requests: dict[str, dict[str, Any]],
    published: dict[str, str | None],
    ledger: list[dict[str, Any]],
    plans: list[CampaignPlan],
) -> dict[str, Any]:
    intents: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for intent in ledger:
        intents[intent["metadata"].get("publish_request_id", "")].append(intent)
    stray = len(intents.pop("", []))
    succeeded_ids = {rid for rid, r in requests.items() if r["status"] == "succeeded"}
    charged = {
        rid
        for rid, found in intents.items()
        if any(intent["status"] == "succeeded" for intent in found)
    }
    kind_of = {plan.campaign_id: plan.kind for plan in plans}
    charged_campaigns = Counter(requests[rid]["campaign_id"] for rid in charged if rid in requests)
    by_kind: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for request in requests.values():
        kind = kind_of.get(request["campaign_id"])
        by_kind[kind.value if kind else "?"][request["status"]] += 1
    return {
        "payment_intents": len(ledger),
        "payment_intents_succeeded": sum(1 for i in ledger if i["status"] == "succeeded"),
        "payment_intents_without_request": stray,
        "max_payment_intents_per_request": max((len(v) for v in intents.values()), default=0),
        "succeeded_without_exactly_one_intent": sum(
            1
            for rid in succeeded_ids
            if len(intents.get(rid, [])) != 1 or intents[rid][0]["status"] != "succeeded"
        ),
        "charged_but_not_succeeded": len(charged - succeeded_ids),
        "succeeded_not_published": sum(
            1 for rid in succeeded_ids if requests[rid]["campaign_id"] not in published
        ),
        "published_campaigns": len(published),
        "published_without_charge": sum(
            1 for by_request in published.values() if by_request not in charged
        ),
        "campaigns_charged_twice": sum(1 for n in charged_campaigns.values() if n > 1),
        "invalid_billing_charged": sum(
            1
            for rid in charged
            if kind_of.get(requests[rid]["campaign_id"]) is Kind.INVALID_BILLING
        ),
        "declining_card_succeeded": sum(
            1
            for rid in succeeded_ids
            if kind_of.get(requests[rid]["campaign_id"]) is Kind.DECLINING_CARD
        ),
        "outcomes_by_kind": {kind: dict(counts) for kind, counts in sorted(by_kind.items())},
    }


# -- the event stream -------------------------------------------------------------------------


def _stream(requests: dict[str, dict[str, Any]], redis_url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(redis_url)
    try:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(EVENT_STREAM)  # type: ignore[assignment]
    finally:
        client.close()
    events = [json.loads(fields[b"event"]) for _id, fields in entries]
    unique = {event["id"]: event for event in events}
    terminal_events: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in unique.values():
        request_id = event["data"].get("publish_request_id")
        if request_id and event["type"] in TERMINAL_EVENT.values():
            terminal_events[request_id].append(event)
    wrong = 0
    corrected = 0
    for request_id, request in requests.items():
        if request["status"] not in TERMINAL:
            continue
        told = terminal_events.get(request_id, [])
        final = [e for e in told if e["type"] == TERMINAL_EVENT[request["status"]]]
        earlier = [e for e in told if e not in final]
        # A failure later found charged (a charge reconciled by the sweep or a late webhook)
        # is told twice: the failure, then `campaign.published` with `corrects_failure`.
        correction = (
            len(final) == 1
            and final[0]["data"].get("corrects_failure") is True
            and [e["type"] for e in earlier] == ["campaign.publish_failed"]
        )
        corrected += correction
        if len(final) != 1 or (earlier and not correction):
            wrong += 1
    return {
        "stream_entries": len(events),
        "stream_duplicate_entries": len(events) - len(unique),
        "stream_events": len(unique),
        "stream_events_by_type": dict(Counter(e["type"] for e in unique.values())),
        "terminal_without_one_event": wrong,
        "terminal_corrected_by_a_second_event": corrected,
        "events_of_unknown_requests": len(set(terminal_events) - set(requests)),
    }


# -- payment methods: stored against Stripe's ----------------------------------------------------


def _stored_cards(db: Any) -> dict[str, list[tuple[str, str, bool, int, int, str]]]:
    cards: defaultdict[str, list[tuple[str, str, bool, int, int, str]]] = defaultdict(list)
    rows = db.execute(
        "SELECT billing_account_id, stripe_payment_method_id, status, is_default, exp_month, "
        "exp_year, last4 FROM payment_methods ORDER BY created_at"
    ).fetchall()
    for account_id, pm, status, default, month, year, last4 in rows:
        cards[account_id].append((pm, status, default, month, year, last4))
    return cards


def _cards(
    client: stripe.StripeClient,
    accounts: Iterable[Account],
    stored: dict[str, list[tuple[str, str, bool, int, int, str]]],
) -> dict[str, Any]:
    """Per account, the stored cards must be what Stripe holds (docs/webhooks.md): each card
    Stripe lists stored with its expiry and last4, `active` or, past its month, `expired`; each
    card Stripe no longer lists `detached`; the default Stripe's, or else the oldest active."""
    now = datetime.now(UTC)
    mismatches: list[str] = []
    checked = 0
    for account in accounts:
        checked += 1
        customer = client.v1.customers.retrieve(account.customer_id)
        listed = list(
            reversed(
                client.v1.payment_methods.list(
                    params={"customer": account.customer_id, "type": "card", "limit": 100}
                ).data
            )
        )
        ours = {row[0]: row for row in stored.get(account.id, [])}
        expected_status = {}
        for card in listed:
            assert card.card is not None
            lapsed = (now.year, now.month) > (card.card.exp_year, card.card.exp_month)
            expected_status[card.id] = "expired" if lapsed else "active"
            row = ours.get(card.id)
            shape = (card.card.exp_month, card.card.exp_year, card.card.last4)
            if row is None or row[1] != expected_status[card.id] or row[3:] != shape:
                mismatches.append(f"{account.owner_id}: {card.id} stored as {row}")
        for pm, row in ours.items():
            if pm not in expected_status and row[1] != "detached":
                mismatches.append(f"{account.owner_id}: {pm} gone from Stripe, stored {row[1]}")
        settings = customer.invoice_settings
        named = settings.default_payment_method if settings else None
        named_id = named if isinstance(named, str) or named is None else named.id
        active = [pm for pm, status in expected_status.items() if status == "active"]
        held: list[str | None] = [*active, *expected_status, None]
        expected_default = named_id if named_id in expected_status else held[0]
        defaults = [pm for pm, row in ours.items() if row[2]]
        if defaults != ([expected_default] if expected_default else []):
            mismatches.append(
                f"{account.owner_id}: default {defaults}, Stripe's {expected_default}"
            )
    return {
        "payment_method_accounts_checked": checked,
        "payment_method_mismatches": len(mismatches),
        "payment_method_mismatch_details": mismatches[:20],
    }


# -- what the API answered, from its own access lines ---------------------------------------------


def _api_log(log_files: list[Path]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    server_errors: Counter[str] = Counter()
    for path in log_files:
        for line in path.read_text(errors="replace").splitlines():
            if '"http_request"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            status = int(entry.get("status", 0))
            statuses[status] += 1
            if status >= 500:
                server_errors[f"{entry.get('method')} {entry.get('route')} {status}"] += 1
    return {
        "api_answers": sum(statuses.values()),
        "api_answers_by_status": {str(k): v for k, v in sorted(statuses.items())},
        "api_5xx": sum(n for status, n in statuses.items() if status >= 500),
        "api_5xx_by_route": dict(server_errors),
    }


def violations(figures: dict[str, Any]) -> dict[str, int]:
    return {name: figures[name] for name, bound in BOUNDS.items() if figures.get(name, 0) > bound}
