"""Decoding Stripe's form encoding, as stripe-python writes it."""

import pytest

from campaign_billing.stripe_server.errors import StripeApiError
from campaign_billing.stripe_server.forms import decode_form


def test_nested_keys_become_hashes() -> None:
    decoded = decode_form("metadata[campaign_id]=c_1&card[number]=4242&card[exp_month]=12")

    assert decoded == {
        "metadata": {"campaign_id": "c_1"},
        "card": {"number": "4242", "exp_month": "12"},
    }


def test_indexed_keys_become_arrays_in_index_order() -> None:
    decoded = decode_form("expand[1]=customer&expand[0]=latest_charge")

    assert decoded == {"expand": ["latest_charge", "customer"]}


def test_empty_brackets_append_to_an_array() -> None:
    assert decode_form("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}


def test_arrays_of_hashes_nest() -> None:
    decoded = decode_form(
        "line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=2"
        "&line_items[1][price_data][unit_amount]=100"
    )

    assert decoded == {
        "line_items": [
            {"price_data": {"unit_amount": "500"}, "quantity": "2"},
            {"price_data": {"unit_amount": "100"}},
        ]
    }


def test_digit_keys_with_gaps_stay_a_hash() -> None:
    assert decode_form("metadata[5]=x") == {"metadata": {"5": "x"}}


def test_percent_encoded_brackets_and_values_are_decoded() -> None:
    decoded = decode_form("metadata%5Bnote%5D=a+b%26c&created%5Bgte%5D=10")

    assert decoded == {"metadata": {"note": "a b&c"}, "created": {"gte": "10"}}


def test_empty_values_are_kept_so_they_can_unset() -> None:
    assert decode_form("metadata=&description=") == {"metadata": "", "description": ""}


def test_a_key_that_is_both_a_value_and_a_hash_is_a_400() -> None:
    with pytest.raises(StripeApiError) as raised:
        decode_form("card=x&card[number]=4242")

    assert raised.value.status == 400
