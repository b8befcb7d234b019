"""Stripe's search query language, as the /search endpoints parse and apply it."""

import pytest

from campaign_billing.stripe_server.errors import StripeApiError
from campaign_billing.stripe_server.search import FieldKind, matches, parse_query, validate

FIELDS = {
    "amount": FieldKind.NUMBER,
    "status": FieldKind.STRING,
    "customer": FieldKind.STRING,
    "metadata": FieldKind.METADATA,
}
INTENT = {"amount": 4900, "status": "succeeded", "customer": "cus_1", "metadata": {"pr": "pr_123"}}


def found(query: str) -> bool:
    parsed = parse_query(query)
    validate(parsed, FIELDS)
    return matches(parsed, INTENT, FIELDS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metadata['pr']:'pr_123'", True),
        ('metadata["pr"]:"pr_123"', True),
        ("metadata['pr']:'pr_999'", False),
        ("metadata['other']:null", True),
        ("-metadata['pr']:null", True),
        ("status:'SUCCEEDED'", True),
        ("status~'cceed'", True),
        ("amount>4000 AND amount<=4900", True),
        ("amount=4901", False),
        ("status:'failed' OR customer:'cus_1'", True),
        ("status:'failed' AND customer:'cus_1'", False),
        ("-status:'succeeded'", False),
    ],
)
def test_a_query_selects_what_stripes_language_says(query: str, expected: bool) -> None:
    assert found(query) is expected


@pytest.mark.parametrize(
    "query",
    [
        "status:'a' AND amount>1 OR customer:'c'",
        "unknown:'x'",
        "metadata:'x'",
        "amount~'12'",
        "status~'ab'",
        "status:'unterminated",
        "status",
        " AND status:'x'",
    ],
)
def test_a_malformed_query_is_a_400_about_the_query(query: str) -> None:
    with pytest.raises(StripeApiError) as raised:
        found(query)

    assert (raised.value.status, raised.value.param) == (400, "query")
