"""Configuring the server from the environment, as `campaign-billing stripe-server` does."""

import pytest

from campaign_billing.stripe_server import StripeServerSettings, WebhookTarget


def test_the_environment_sets_latency_rate_limit_and_a_webhook_endpoint() -> None:
    settings = StripeServerSettings.from_env(
        {
            "STRIPE_TEST_SERVER_LATENCY_MS": "300",
            "STRIPE_TEST_SERVER_JITTER_MS": "50",
            "STRIPE_TEST_SERVER_RATE_LIMIT": "100",
            "STRIPE_TEST_SERVER_WEBHOOK_URL": "http://127.0.0.1:8000/webhooks/stripe",
            "STRIPE_TEST_SERVER_WEBHOOK_SECRET": "whsec_demo",
        }
    )

    assert (settings.latency_ms, settings.jitter_ms, settings.rate_limit_rps) == (300, 50, 100)
    assert settings.webhook_targets == (
        WebhookTarget("http://127.0.0.1:8000/webhooks/stripe", "whsec_demo"),
    )


def test_the_webhook_secret_defaults_to_the_services_first_signing_secret() -> None:
    settings = StripeServerSettings.from_env(
        {
            "STRIPE_TEST_SERVER_WEBHOOK_URL": "http://127.0.0.1:8000/webhooks/stripe",
            "STRIPE_WEBHOOK_SECRETS": "whsec_new,whsec_old",
        }
    )

    assert [target.secret for target in settings.webhook_targets] == ["whsec_new"]


def test_a_webhook_url_without_any_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="SECRET"):
        StripeServerSettings.from_env({"STRIPE_TEST_SERVER_WEBHOOK_URL": "http://x/webhooks"})


def test_an_empty_environment_gives_the_defaults() -> None:
    assert StripeServerSettings.from_env({}) == StripeServerSettings()
