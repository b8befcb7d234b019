"""What operators watch beyond the per-process counters of `campaign_billing.metrics`: gauges
counted from the database at scrape time (so the API shows them whichever process did the work)
and the worker's own metrics server. docs/operations.md says what each one going wrong means."""
