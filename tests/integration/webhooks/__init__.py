"""Stripe webhooks: ingest through the real endpoint, processing, convergence, replay."""
