"""`python -m campaign_billing.stripe_server --host H --port P`: the test server on its own."""

import argparse

from campaign_billing.stripe_server.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Stripe test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    args = parser.parse_args()
    serve(
        args.host,
        args.port,
        args.latency_ms,
        args.jitter_ms,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )


if __name__ == "__main__":
    main()
