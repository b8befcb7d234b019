"""The fault and abuse run (`make chaos`): the service as real processes, publishing and card
changes at load, while workers are SIGKILLed, Redis is restarted, PostgreSQL connections are
terminated and the Stripe test server fails on purpose; then the invariants, as figures.

docs/reliability.md says what it proves and how to read `chaos/results/latest.json`.
"""
