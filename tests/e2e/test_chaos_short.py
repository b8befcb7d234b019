"""The chaos run at CI's size (chaos/config.py `SHORT`): 120 campaigns published through the
real processes while workers are SIGKILLed (some between Stripe's answer and the commit), the
run's own Redis is restarted, the service's PostgreSQL connections are terminated and the
Stripe test server fails 12% of calls; then every invariant of `make chaos` at its bound.

It runs on processes and a database of its own (not the e2e stack of the other tests), so the
kills touch nothing else. About a minute."""

from __future__ import annotations

import os

import pytest
from chaos.config import SHORT
from chaos.invariants import BOUNDS
from chaos.run import render, run_chaos

pytestmark = pytest.mark.timeout(240)


def test_under_kills_restarts_and_stripe_faults_nothing_is_lost_or_charged_twice() -> None:
    config = SHORT.with_overrides(database=f"campaign_billing_chaos_ci_{os.getpid()}")

    figures = run_chaos(config, say=lambda _message: None)

    report = render(figures)
    assert figures["settled"], report
    assert figures["violations"] == {}, report
    assert figures["missing_faults"] == [], report
    assert figures["publish_requests"] >= config.publishes
    assert figures["terminal"] == figures["publish_requests"]
    assert figures["max_payment_intents_per_request"] == BOUNDS["max_payment_intents_per_request"]
    assert figures["succeeded"] == figures["published_campaigns"] > 0
    assert figures["workers_killed_after_stripe_answered"] >= 1
