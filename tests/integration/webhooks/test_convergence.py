"""Whatever order Stripe's events arrive in, and however often, the stored cards end equal to
what the Stripe test server holds.

Hypothesis generates a sequence of attach / update / set-default / detach actions on one
customer of the Stripe test server, and interleaves with them deliveries of the events those
actions made, in any order and with duplicates, to our real endpoint (signed the way Stripe
signs), each processed as a worker would. After the last action every event is delivered at
least once; the stored state must then equal Stripe's.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign_billing.domain.model import AccountStatus, BillingAccount, OwnerType
from campaign_billing.ids import new_id
from campaign_billing.stripe_server import ControlClient
from campaign_billing.wiring import Container
from tests.integration.webhooks.webhook_harness import (
    Broker,
    ServedEndpoint,
    card_rows,
    outbox,
    signed_headers,
)
from tests.support.world import World

TEST_CARDS = ("pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_discover")
ACTIONS = ("attach", "attach", "update", "card_updater", "set_default", "unset_default", "detach")


@dataclass
class Scenario:
    """One customer on the Stripe test server, its account here, and the events made so far."""

    container: Container
    control: ControlClient
    endpoint: ServedEndpoint
    broker: Broker
    account: BillingAccount
    attached_in_order: list[str] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)

    @property
    def customer_id(self) -> str:
        assert self.account.stripe_customer_id is not None
        return self.account.stripe_customer_id

    @property
    def stripe(self) -> Any:
        return self.container.stripe_client.v1

    def on_customer(self) -> list[str]:
        listed = self.stripe.customers.payment_methods.list(self.customer_id, params={"limit": 100})
        return [pm.id for pm in listed.data]

    def collect_events(self) -> None:
        for event in self.stripe.events.list(params={"limit": 100}).data:
            self.events.setdefault(event.id, event.to_dict())

    def deliver(self, event_id: str) -> None:
        body = json.dumps(self.events[event_id])
        response = httpx.post(self.endpoint.url, content=body, headers=signed_headers(body))
        assert response.status_code == 200, response.text
        self.delivered[event_id] += 1
        self.broker.run_stripe_events()


def _act(scenario: Scenario, action: str, data: st.DataObject) -> None:
    stripe, customer_id = scenario.stripe, scenario.customer_id
    attached = scenario.on_customer()
    if action == "attach" or not attached:
        card = data.draw(st.sampled_from(TEST_CARDS), label="card")
        method = stripe.payment_methods.attach(card, params={"customer": customer_id})
        scenario.attached_in_order.append(method.id)
        return
    target = data.draw(st.sampled_from(attached), label="target")
    if action == "update":
        month = data.draw(st.integers(1, 12), label="exp_month")
        year = data.draw(st.integers(datetime.now(UTC).year + 1, 2040), label="exp_year")
        stripe.payment_methods.update(
            target, params={"card": {"exp_month": month, "exp_year": year}}
        )
    elif action == "card_updater":
        # The network may also report a card that has since run out (a past expiry).
        year = data.draw(st.integers(2019, 2035), label="updated_exp_year")
        scenario.control.automatically_update_card(target, exp_month=1, exp_year=year)
    elif action == "set_default":
        stripe.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": target}}
        )
    elif action == "unset_default":
        stripe.customers.update(
            customer_id, params={"invoice_settings": {"default_payment_method": ""}}
        )
    else:
        stripe.payment_methods.detach(target)


def _expected(scenario: Scenario, now: datetime) -> dict[str, dict[str, Any]]:
    """Stripe's state, read independently of the code under test: every card ever seen active
    or expired if still on the customer, else detached; the default Stripe names, or else the
    earliest attached card that is still active, or else still held."""
    customer = scenario.stripe.customers.retrieve(scenario.customer_id)
    on_customer = {
        pm.id: pm
        for pm in scenario.stripe.customers.payment_methods.list(
            scenario.customer_id, params={"limit": 100}
        ).data
    }

    def status(pm_id: str) -> str:
        pm = on_customer.get(pm_id)
        if pm is None:
            return "detached"
        lapsed = (now.year, now.month) > (pm.card.exp_year, pm.card.exp_month)
        return "expired" if lapsed else "active"

    named = customer.invoice_settings.default_payment_method
    held = [pm_id for pm_id in scenario.attached_in_order if pm_id in on_customer]
    active = [pm_id for pm_id in held if status(pm_id) == "active"]
    default = named if named in on_customer else (active or held or [None])[0]
    return {
        pm_id: {
            "status": status(pm_id),
            "is_default": pm_id == default,
            **(
                {
                    "last4": on_customer[pm_id].card.last4,
                    "exp_month": on_customer[pm_id].card.exp_month,
                    "exp_year": on_customer[pm_id].card.exp_year,
                }
                if pm_id in on_customer
                else {}
            ),
        }
        for pm_id in scenario.attached_in_order
    }


def _new_account(scenario_world: World, container: Container) -> BillingAccount:
    customer = container.stripe_client.v1.customers.create(params={"name": "Jane Doe"})
    account = BillingAccount(
        new_id("ba"),
        scenario_world.workspace_id,
        OwnerType.AGENT,
        scenario_world.user(new_id("agent"), "Jane Doe").id,
        AccountStatus.PENDING_SETUP,
        customer.id,
    )
    with container.uow() as uow:
        uow.accounts.add(account)
        uow.commit()
    return account


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_stored_cards_converge_to_stripe_for_every_order_of_events(
    data: st.DataObject,
    endpoint: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    world: World,
) -> None:
    control.reset()
    scenario = Scenario(container, control, endpoint, broker, _new_account(world, container))

    for _ in range(data.draw(st.integers(1, 8), label="actions")):
        _act(scenario, data.draw(st.sampled_from(ACTIONS), label="action"), data)
        scenario.collect_events()
        # Some of the events made so far arrive now, in any order, some more than once.
        early = data.draw(st.lists(st.sampled_from(sorted(scenario.events)), max_size=4))
        for event_id in early:
            scenario.deliver(event_id)

    undelivered = [event_id for event_id in scenario.events if not scenario.delivered[event_id]]
    for event_id in data.draw(st.permutations(undelivered), label="late deliveries"):
        scenario.deliver(event_id)

    expected = _expected(scenario, datetime.now(UTC))
    stored = {
        row.stripe_payment_method_id: row for row in card_rows(container, scenario.account.id)
    }
    for pm_id, want in expected.items():
        if pm_id not in stored:
            # Only a card gone before any event about it was processed is never stored.
            assert want["status"] == "detached", f"{pm_id} is on Stripe but not stored"
            continue
        assert {key: getattr(stored[pm_id], key) for key in want} == want, pm_id
    _assert_each_change_told_once(container, scenario.account.id)


def _assert_each_change_told_once(container: Container, account_id: str) -> None:
    """Duplicates and reordering never tell the stream twice that a card came or went."""
    told: Counter[tuple[str, str]] = Counter()
    for row in outbox(container):
        if row.data.get("billing_account_id") == account_id and "payment_method" in row.data:
            told[(row.type, row.data["payment_method"]["stripe_payment_method_id"])] += 1
    for (event_type, pm_id), count in told.items():
        if event_type != "payment_method.updated":
            assert count == 1, f"{event_type} told {count} times for {pm_id}"
        if event_type == "payment_method.detached":
            assert told[("payment_method.attached", pm_id)] == 1


@pytest.mark.parametrize("order", ["reverse", "shuffle"])
def test_the_stripe_test_server_reordering_and_duplicating_deliveries_changes_nothing(
    delivering: ServedEndpoint,
    container: Container,
    control: ControlClient,
    broker: Broker,
    jane_account: BillingAccount,
    order: str,
) -> None:
    stripe, customer_id = container.stripe_client.v1, jane_account.stripe_customer_id
    assert customer_id is not None
    first = stripe.payment_methods.attach("pm_card_visa", params={"customer": customer_id})
    assert control.wait_for_webhooks()
    broker.run_stripe_events()
    assert card_rows(container, jane_account.id)[0].is_default

    control.configure_webhooks(duplicates=2)
    control.pause_webhooks()
    second = stripe.payment_methods.attach("pm_card_mastercard", params={"customer": customer_id})
    stripe.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": second.id}}
    )
    stripe.payment_methods.update(second.id, params={"card": {"exp_month": 3, "exp_year": 2039}})
    stripe.payment_methods.detach(first.id)

    control.resume_webhooks(order=order)  # type: ignore[arg-type]
    assert control.wait_for_webhooks()
    broker.run_stripe_events()

    rows = {row.stripe_payment_method_id: row for row in card_rows(container, jane_account.id)}
    assert (rows[first.id].status, rows[first.id].is_default) == ("detached", False)
    kept = rows[second.id]
    assert (kept.status, kept.is_default, kept.exp_month, kept.exp_year) == (
        "active",
        True,
        3,
        2039,
    )
