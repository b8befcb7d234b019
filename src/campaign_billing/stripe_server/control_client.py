"""A small synchronous client for the test server's `/_test` control API."""

from collections.abc import Sequence
from typing import Any, Literal

import httpx

from campaign_billing.stripe_server.types import JsonObject


class ControlError(RuntimeError):
    """Raised when a control call is refused; `body` holds the server's error JSON."""

    def __init__(self, status_code: int, body: JsonObject) -> None:
        super().__init__(f"control call failed with HTTP {status_code}: {body}")
        self.status_code = status_code
        self.body = body


class ControlClient:
    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        method: str,
        path: str,
        body: JsonObject | None = None,
        params: dict[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> JsonObject:
        query = {key: value for key, value in (params or {}).items() if value is not None}
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_s is None else httpx.Timeout(timeout_s)
        response = self._http.request(method, path, json=body, params=query, timeout=timeout)
        payload: JsonObject = response.json()
        if response.status_code >= 400:
            raise ControlError(response.status_code, payload)
        return payload

    # --- whole server -------------------------------------------------------------------------

    def health(self) -> bool:
        return bool(self._call("GET", "/_test/health")["ok"])

    def reset(self) -> None:
        """Forgets every object, event, key, fault and log entry."""
        self._call("POST", "/_test/reset")

    # --- faults and rate limit ----------------------------------------------------------------

    def set_faults(
        self,
        *,
        latency_ms: float | None = None,
        jitter_ms: float | None = None,
        error_500_share: float | None = None,
        error_429_share: float | None = None,
        retry_after_s: float | None = None,
        reset_share: float | None = None,
        commit_then_drop_share: float | None = None,
        calls: int | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> JsonObject:
        """With `calls=None` changes the plan for the whole run (only the fields given);
        with `calls=N` queues a plan for the next N matching API calls."""
        fields = {
            "latency_ms": latency_ms,
            "jitter_ms": jitter_ms,
            "error_500_share": error_500_share,
            "error_429_share": error_429_share,
            "retry_after_s": retry_after_s,
            "reset_share": reset_share,
            "commit_then_drop_share": commit_then_drop_share,
            "calls": calls,
            "method": method,
            "path_prefix": path_prefix,
        }
        return self._call(
            "POST",
            "/_test/faults",
            {key: value for key, value in fields.items() if value is not None},
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "/_test/faults")

    def faults(self) -> JsonObject:
        return self._call("GET", "/_test/faults")

    def set_rate_limit(self, requests_per_second: float | None) -> None:
        self._call("POST", "/_test/rate_limit", {"requests_per_second": requests_per_second})

    # --- what the server saw ------------------------------------------------------------------

    def requests(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> list[JsonObject]:
        params = {"since": since, "until": until, "method": method, "path_prefix": path_prefix}
        data: list[JsonObject] = self._call("GET", "/_test/requests", params=params)["data"]
        return data

    def request_stats(
        self,
        *,
        bucket_s: float = 1.0,
        since: float | None = None,
        until: float | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> JsonObject:
        params = {
            "bucket_s": bucket_s,
            "since": since,
            "until": until,
            "method": method,
            "path_prefix": path_prefix,
        }
        return self._call("GET", "/_test/requests/stats", params=params)

    def ledger(self, *, status: str | None = None) -> list[JsonObject]:
        """Every PaymentIntent ever created, oldest first, with its idempotency key."""
        data: list[JsonObject] = self._call("GET", "/_test/ledger", params={"status": status})[
            "data"
        ]
        return data

    # --- acting as the customer or the card network -------------------------------------------

    def complete_checkout_session(
        self,
        session_id: str,
        *,
        card: str | None = None,
        payment_method: str | None = None,
        email: str | None = None,
        name: str | None = None,
    ) -> JsonObject:
        """Completes a Checkout Session as a customer would on the hosted page (a card number,
        or a PaymentMethod / test id such as `pm_card_visa`; 4242424242424242 by default)."""
        body = {"card": card, "payment_method": payment_method, "email": email, "name": name}
        return self._call(
            "POST",
            f"/_test/checkout/sessions/{session_id}/complete",
            {key: value for key, value in body.items() if value is not None},
        )

    def authenticate_payment_intent(self, intent_id: str, *, passes: bool = True) -> JsonObject:
        return self._call(
            "POST", f"/_test/payment_intents/{intent_id}/authenticate", {"passes": passes}
        )

    def authenticate_setup_intent(self, intent_id: str, *, passes: bool = True) -> JsonObject:
        return self._call(
            "POST", f"/_test/setup_intents/{intent_id}/authenticate", {"passes": passes}
        )

    def set_card_outcome(self, payment_method_id: str, outcome: str) -> JsonObject:
        """Makes a saved card's future charges end as `outcome`: succeed,
        authentication_required, generic_decline, insufficient_funds, expired_card,
        incorrect_cvc or processing_error."""
        return self._call(
            "POST", f"/_test/payment_methods/{payment_method_id}/outcome", {"outcome": outcome}
        )

    def automatically_update_card(
        self,
        payment_method_id: str,
        *,
        exp_month: int | None = None,
        exp_year: int | None = None,
        last4: str | None = None,
    ) -> JsonObject:
        body = {"exp_month": exp_month, "exp_year": exp_year, "last4": last4}
        return self._call(
            "POST",
            f"/_test/payment_methods/{payment_method_id}/automatic_update",
            {key: value for key, value in body.items() if value is not None},
        )

    # --- webhooks -----------------------------------------------------------------------------

    def add_webhook_endpoint(
        self, url: str, *, secret: str | None = None, enabled_events: Sequence[str] = ("*",)
    ) -> JsonObject:
        """Registers an endpoint with a chosen signing secret; the answer includes `secret`."""
        body: JsonObject = {"url": url, "enabled_events": list(enabled_events)}
        if secret is not None:
            body["secret"] = secret
        return self._call("POST", "/_test/webhook_endpoints", body)

    def configure_webhooks(
        self,
        *,
        duplicates: int | None = None,
        delay_ms: float | None = None,
        delay_jitter_ms: float | None = None,
        retry_delays_s: Sequence[float] | None = None,
        timeout_s: float | None = None,
    ) -> JsonObject:
        fields: JsonObject = {
            "duplicates": duplicates,
            "delay_ms": delay_ms,
            "delay_jitter_ms": delay_jitter_ms,
            "retry_delays_s": list(retry_delays_s) if retry_delays_s is not None else None,
            "timeout_s": timeout_s,
        }
        return self._call(
            "POST",
            "/_test/webhooks/config",
            {key: value for key, value in fields.items() if value is not None},
        )

    def pause_webhooks(self) -> None:
        self._call("POST", "/_test/webhooks/pause")

    def resume_webhooks(self, order: Literal["fifo", "reverse", "shuffle"] = "fifo") -> int:
        released: int = self._call("POST", "/_test/webhooks/resume", {"order": order})["released"]
        return released

    def flush_webhooks(self, order: Literal["fifo", "reverse", "shuffle"] = "fifo") -> int:
        released: int = self._call("POST", "/_test/webhooks/flush", {"order": order})["released"]
        return released

    def webhook_deliveries(self) -> list[JsonObject]:
        data: list[JsonObject] = self._call("GET", "/_test/webhooks/deliveries")["data"]
        return data

    def wait_for_webhooks(self, timeout_s: float = 10.0) -> bool:
        """Waits until no delivery (or scheduled retry) is in flight; False on timeout."""
        idle: bool = self._call("POST", "/_test/webhooks/wait_idle", {"timeout_s": timeout_s})[
            "idle"
        ]
        return idle

    # --- time and keys ------------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/_test/clock/advance", {"seconds": seconds})

    def set_idempotency_ttl(self, ttl_s: float) -> None:
        self._call("POST", "/_test/idempotency", {"ttl_s": ttl_s})
