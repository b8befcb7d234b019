"""The project's own Stripe test server: the parts of Stripe's API this service depends on,
behaving as Stripe documents (idempotency, declines, webhooks), plus injectable faults.

See docs/stripe-test-server.md.
"""

from campaign_billing.stripe_server.app import StripeTestApp, create_app
from campaign_billing.stripe_server.control_client import ControlClient, ControlError
from campaign_billing.stripe_server.server import StripeTestServer, serve
from campaign_billing.stripe_server.settings import StripeServerSettings, WebhookTarget

__all__ = [
    "ControlClient",
    "ControlError",
    "StripeServerSettings",
    "StripeTestApp",
    "StripeTestServer",
    "WebhookTarget",
    "create_app",
    "serve",
]
