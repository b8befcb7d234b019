"""Customers through stripe-python: create, retrieve, update, delete, and Stripe's errors."""

import pytest
import stripe


def test_a_created_customer_can_be_retrieved_with_its_fields(
    stripe_client: stripe.StripeClient,
) -> None:
    created = stripe_client.v1.customers.create(
        params={"email": "jane@example.com", "name": "Jane Doe", "metadata": {"office": "o_1"}}
    )

    fetched = stripe_client.v1.customers.retrieve(created.id)

    assert (fetched.id, fetched.email, fetched.name, fetched.to_dict()["metadata"]) == (
        created.id,
        "jane@example.com",
        "Jane Doe",
        {"office": "o_1"},
    )
    assert created.id.startswith("cus_")
    assert created.livemode is False


def test_updating_metadata_merges_keys_and_an_empty_value_removes_one(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create(params={"metadata": {"a": "1", "b": "2"}})

    updated = stripe_client.v1.customers.update(
        customer.id, params={"metadata": {"b": "", "c": "3"}}
    )

    assert updated.to_dict()["metadata"] == {"a": "1", "c": "3"}


def test_the_default_payment_method_is_set_through_invoice_settings(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})

    updated = stripe_client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )

    assert updated.invoice_settings is not None
    assert updated.invoice_settings.default_payment_method == card.id


def test_a_default_payment_method_must_be_attached_to_the_customer(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create()
    stranger = stripe_client.v1.customers.create()
    card = stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": stranger.id})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.customers.update(
            customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
        )

    assert raised.value.param == "invoice_settings[default_payment_method]"


def test_a_customer_created_with_a_test_payment_method_has_it_attached_as_default(
    stripe_client: stripe.StripeClient,
) -> None:
    customer = stripe_client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )

    cards = stripe_client.v1.customers.payment_methods.list(customer.id)

    assert customer.invoice_settings is not None
    assert [card.id for card in cards.data] == [customer.invoice_settings.default_payment_method]


def test_a_deleted_customer_is_retrieved_as_deleted(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()

    deleted = stripe_client.v1.customers.delete(customer.id)
    fetched = stripe_client.v1.customers.retrieve(customer.id)

    assert deleted.deleted is True
    assert fetched.to_dict()["deleted"] is True


def test_an_unknown_customer_is_a_404_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.customers.retrieve("cus_doesnotexist")

    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")
    assert raised.value.error is not None
    assert raised.value.error.type == "invalid_request_error"
    assert raised.value.error.message == "No such customer: 'cus_doesnotexist'"


def test_an_unknown_parameter_is_rejected_as_stripe_does(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.customers.create(params={"emial": "typo@example.com"})  # type: ignore[arg-type]

    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "emial")


def test_customers_list_newest_first_and_paginate(stripe_client: stripe.StripeClient) -> None:
    created = [stripe_client.v1.customers.create().id for _ in range(3)]

    first = stripe_client.v1.customers.list(params={"limit": 2})
    rest = stripe_client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})

    assert [c.id for c in first.data] + [c.id for c in rest.data] == created[::-1]
    assert (first.has_more, rest.has_more) == (True, False)


def test_customers_can_be_searched_by_email(stripe_client: stripe.StripeClient) -> None:
    wanted = stripe_client.v1.customers.create(params={"email": "agent@example.com"})
    stripe_client.v1.customers.create(params={"email": "admin@example.com"})

    found = stripe_client.v1.customers.search(params={"query": "email:'agent@example.com'"})

    assert [c.id for c in found.data] == [wanted.id]


def test_every_response_carries_a_request_id(stripe_client: stripe.StripeClient) -> None:
    customer = stripe_client.v1.customers.create()

    assert customer.last_response is not None
    assert customer.last_response.request_id is not None
    assert customer.last_response.request_id.startswith("req_")


def test_a_customer_created_with_a_declining_card_is_not_created(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.CardError):
        stripe_client.v1.customers.create(
            params={"email": "nope@example.com", "payment_method": "pm_card_chargeDeclined"}
        )

    assert stripe_client.v1.customers.list().data == []
