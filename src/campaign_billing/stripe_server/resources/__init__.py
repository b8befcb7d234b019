"""The Stripe API resources the test server serves, one module each."""

from campaign_billing.stripe_server.resources import (
    charges,
    checkout_sessions,
    customers,
    events,
    payment_intents,
    payment_methods,
    setup_intents,
    webhook_endpoints,
)
from campaign_billing.stripe_server.routing import Route

API_ROUTES: tuple[Route, ...] = (
    *customers.ROUTES,
    *payment_methods.ROUTES,
    *setup_intents.ROUTES,
    *payment_intents.ROUTES,
    *charges.ROUTES,
    *checkout_sessions.ROUTES,
    *events.ROUTES,
    *webhook_endpoints.ROUTES,
)
