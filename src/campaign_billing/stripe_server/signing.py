"""The `Stripe-Signature` header on webhook deliveries.

https://docs.stripe.com/webhooks#verify-manually: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, the
HMAC keyed with the endpoint's signing secret (the whole `whsec_...` string) over
`"<t>.<raw JSON body>"`. stripe-python's `Webhook.construct_event` checks exactly this.
"""

import hashlib
import hmac


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
