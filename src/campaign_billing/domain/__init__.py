"""The billing domain: entities, the billing-resolution rules and the failures they end in.

Standard library only; see `model`, `resolution` and `errors`.
"""

from campaign_billing.domain.errors import FAILURE_CLASSES, BillingFailure
from campaign_billing.domain.resolution import (
    Payer,
    PayerContext,
    Resolution,
    Step,
    explain,
    resolve_payer,
)

__all__ = [
    "FAILURE_CLASSES",
    "BillingFailure",
    "Payer",
    "PayerContext",
    "Resolution",
    "Step",
    "explain",
    "resolve_payer",
]
