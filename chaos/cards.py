"""Card changes during the run, made on Stripe's side as cardholders, Stripe's dashboard and
the card networks make them: a card attached, made the default, updated by the card updater
(sometimes to a past expiry), detached. Each one reaches the service only by webhook, so the
stored cards can only end equal to Stripe's if every event is processed, whatever the order,
duplication and crashes.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

import stripe

from campaign_billing.stripe_server import ControlClient
from chaos.population import Account

TEST_CARDS = ("pm_card_visa", "pm_card_mastercard")


@dataclass
class CardChurn:
    client: stripe.StripeClient
    control: ControlClient
    accounts: list[Account]
    every_seconds: float
    seed: int
    actions: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="card-churn", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        while not self._stop.wait(self.every_seconds):
            account = rng.choice(self.accounts)
            try:
                self._change(account, rng)
            except stripe.StripeError as error:
                # Stripe's injected faults reach us too; whatever happened is Stripe's state,
                # and that is what the service must end up with.
                self.actions[f"failed_{type(error).__name__}"] += 1

    def _change(self, account: Account, rng: random.Random) -> None:
        cards = self.client.v1.payment_methods.list(
            params={"customer": account.customer_id, "type": "card", "limit": 100}
        ).data
        ids = [card.id for card in cards]
        choices = ["attach"] if len(ids) < 4 else []
        if ids:
            choices += ["default", "update", "expire"]
        if len(ids) > 1:
            choices += ["detach", "detach"]
        action = rng.choice(choices)
        match action:
            case "attach":
                self.client.v1.payment_methods.attach(
                    rng.choice(TEST_CARDS), params={"customer": account.customer_id}
                )
            case "default":
                self.client.v1.customers.update(
                    account.customer_id,
                    params={"invoice_settings": {"default_payment_method": rng.choice(ids)}},
                )
            case "update":
                self.control.automatically_update_card(
                    rng.choice(ids), exp_month=rng.randint(1, 12), exp_year=rng.randint(2031, 2036)
                )
            case "expire":
                self.control.automatically_update_card(rng.choice(ids), exp_month=1, exp_year=2021)
            case "detach":
                self.client.v1.payment_methods.detach(rng.choice(ids))
        self.actions[action] += 1
