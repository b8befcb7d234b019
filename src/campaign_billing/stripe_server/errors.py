"""Stripe's error responses, raised by handlers and rendered by the app.

Shape and types follow https://docs.stripe.com/api/errors: a JSON body `{"error": {...}}` whose
`type` is one of `api_error`, `card_error`, `idempotency_error`, `invalid_request_error`, with an
optional `code` (https://docs.stripe.com/error-codes), `param`, `decline_code` and `doc_url`.
"""

from typing import Any

from campaign_billing.stripe_server.types import JsonObject

API_ERROR = "api_error"
CARD_ERROR = "card_error"
IDEMPOTENCY_ERROR = "idempotency_error"
INVALID_REQUEST_ERROR = "invalid_request_error"


class StripeApiError(Exception):
    """Raised when a request must be answered with a Stripe error body instead of an object.

    `replayable` says whether the idempotency layer stores this answer under the request's key:
    Stripe saves a result only once an endpoint has begun executing, so a request that failed
    parameter validation can be retried with the same key (https://docs.stripe.com/idempotency).
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        details: JsonObject | None = None,
        headers: dict[str, str] | None = None,
        replayable: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.details = details or {}
        self.headers = headers or {}
        self.replayable = replayable

    def to_body(self, request_id: str) -> JsonObject:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = doc_url(self.code)
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        error.update(self.details)
        error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}


def doc_url(code: str) -> str:
    return f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"


def invalid_request(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    status: int = 400,
    replayable: bool = True,
) -> StripeApiError:
    return StripeApiError(
        status, INVALID_REQUEST_ERROR, message, code=code, param=param, replayable=replayable
    )


def invalid_param(message: str, param: str, code: str | None = None) -> StripeApiError:
    """A request whose parameters fail validation; never stored by the idempotency layer."""
    return invalid_request(message, param=param, code=code, replayable=False)


def parameter_missing(param: str) -> StripeApiError:
    return invalid_param(f"Missing required param: {param}.", param, "parameter_missing")


def parameter_unknown(param: str) -> StripeApiError:
    return invalid_param(f"Received unknown parameter: {param}", param, "parameter_unknown")


def resource_missing(label: str, object_id: str, param: str = "id") -> StripeApiError:
    return invalid_request(
        f"No such {label}: '{object_id}'",
        param=param,
        code="resource_missing",
        status=404,
        replayable=False,
    )


def unexpected_state(message: str, param: str | None = None) -> StripeApiError:
    return invalid_request(message, param=param, code="payment_intent_unexpected_state")


def idempotency_error(message: str) -> StripeApiError:
    return StripeApiError(400, IDEMPOTENCY_ERROR, message, replayable=False)


def rate_limited(message: str, headers: dict[str, str]) -> StripeApiError:
    # Stripe's rate limiter answers 429 with code `rate_limit`; its type is the generic
    # invalid_request_error (https://docs.stripe.com/rate-limits, https://docs.stripe.com/error-codes).
    return StripeApiError(
        429, INVALID_REQUEST_ERROR, message, code="rate_limit", headers=headers, replayable=False
    )


def api_error(message: str) -> StripeApiError:
    return StripeApiError(500, API_ERROR, message, replayable=False)


def authentication_failed(message: str) -> StripeApiError:
    return StripeApiError(401, INVALID_REQUEST_ERROR, message, replayable=False)
