"""The upstream platform syncs workspaces, offices, users, billing settings and campaigns."""

from __future__ import annotations

from .api_harness import ApiClient, World, campaign_body


def test_a_workspace_is_created_then_replaced(api: ApiClient) -> None:
    created = api.put("/v1/workspaces/ws_new", json={"name": "New Realty"})
    replaced = api.put("/v1/workspaces/ws_new", json={"name": "Renamed Realty"})

    assert created.status_code == 200
    assert created.json() == {"id": "ws_new", "name": "New Realty"}
    assert replaced.json() == {"id": "ws_new", "name": "Renamed Realty"}


def test_an_office_is_stored_in_the_workspace_its_body_names(api: ApiClient, world: World) -> None:
    response = api.put("/v1/offices/office_2", json={"workspace_id": world.ws_a, "name": "Uptown"})

    assert response.status_code == 200
    assert response.json() == {"id": "office_2", "workspace_id": world.ws_a, "name": "Uptown"}


def test_an_office_of_an_unknown_workspace_is_refused_with_what_to_sync_first(
    api: ApiClient,
) -> None:
    response = api.put("/v1/offices/office_x", json={"workspace_id": "ws_nowhere", "name": "X"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_workspace"
    assert "PUT /v1/workspaces/ws_nowhere" in error["message"]


def test_an_id_of_another_workspace_is_a_workspace_mismatch(api: ApiClient, world: World) -> None:
    response = api.put(
        f"/v1/offices/{world.office_b}", json={"workspace_id": world.ws_a, "name": "Stolen"}
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "workspace_mismatch"


def test_a_user_is_stored_with_the_consent_setting_they_had(api: ApiClient, world: World) -> None:
    api.put(f"/v1/users/{world.agent_a}/billing-settings", json={"allow_admin_invoicing": True})

    response = api.put(
        f"/v1/users/{world.agent_a}",
        json={
            "workspace_id": world.ws_a,
            "name": "Jane Smith",
            "email": "jane.smith@example.com",
            "role": "agent",
            "office_id": world.office_a,
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": world.agent_a,
        "workspace_id": world.ws_a,
        "name": "Jane Smith",
        "email": "jane.smith@example.com",
        "role": "agent",
        "office_id": world.office_a,
        "allow_admin_invoicing": True,
    }


def test_an_agent_without_an_office_is_refused_with_a_clear_message(
    api: ApiClient, world: World
) -> None:
    response = api.put(
        "/v1/users/agent_x",
        json={
            "workspace_id": world.ws_a,
            "name": "No Office",
            "email": "x@example.com",
            "role": "agent",
            "office_id": None,
        },
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "office_id is required for an agent" in error["message"]


def test_a_user_in_an_office_of_another_workspace_is_refused_as_unknown_office(
    api: ApiClient, world: World
) -> None:
    response = api.put(
        "/v1/users/agent_x",
        json={
            "workspace_id": world.ws_a,
            "name": "Wrong Office",
            "email": "x@example.com",
            "role": "agent",
            "office_id": world.office_b,
        },
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_office"


def test_an_agent_enables_and_disables_admin_invoicing(api: ApiClient, world: World) -> None:
    url = f"/v1/users/{world.agent_a}/billing-settings"

    enabled = api.put(url, json={"allow_admin_invoicing": True})
    disabled = api.put(url, json={"allow_admin_invoicing": False})

    assert enabled.status_code == 200
    assert enabled.json() == {
        "user_id": world.agent_a,
        "workspace_id": world.ws_a,
        "allow_admin_invoicing": True,
    }
    assert disabled.json()["allow_admin_invoicing"] is False


def test_billing_settings_of_an_unknown_user_are_not_found(api: ApiClient) -> None:
    response = api.put("/v1/users/nobody/billing-settings", json={"allow_admin_invoicing": True})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_campaign_is_stored_with_its_currency_in_lower_case(api: ApiClient, world: World) -> None:
    body = campaign_body(
        world.ws_a,
        world.office_a,
        world.agent_a,
        amount=2500,
        currency="EUR",
        billing={"type": "agent", "billing_user_id": world.agent_a, "payment_method_id": "pm_1"},
    )

    response = api.put("/v1/campaigns/campaign_new", json=body)

    assert response.status_code == 200
    assert response.json() == {
        "id": "campaign_new",
        "workspace_id": world.ws_a,
        "office_id": world.office_a,
        "created_by": world.agent_a,
        "version": "v2",
        "amount": 2500,
        "currency": "eur",
        "billing": {
            "type": "agent",
            "billing_user_id": world.agent_a,
            "payment_method_id": "pm_1",
        },
        "published": False,
    }


def test_office_billing_ignores_agent_fields_and_unknown_fields(
    api: ApiClient, world: World
) -> None:
    body = campaign_body(
        world.ws_a,
        world.office_a,
        world.admin_a,
        billing={"type": "office", "billing_user_id": world.agent_a},
        added_by_a_newer_app={"anything": [1, 2, 3]},
    )

    response = api.put(f"/v1/campaigns/{world.campaign_a}", json=body)

    assert response.status_code == 200
    assert response.json()["billing"] == {
        "type": "office",
        "billing_user_id": None,
        "payment_method_id": None,
    }


def test_agent_billing_without_a_billing_user_is_stored_so_publishing_can_explain_it(
    api: ApiClient, world: World
) -> None:
    body = campaign_body(world.ws_a, world.office_a, world.agent_a, billing={"type": "agent"})

    response = api.put(f"/v1/campaigns/{world.campaign_a}", json=body)

    assert response.status_code == 200
    assert response.json()["billing"]["billing_user_id"] is None


def test_a_campaign_of_an_office_the_workspace_does_not_have_is_refused(
    api: ApiClient, world: World
) -> None:
    body = campaign_body(world.ws_a, world.office_b, world.agent_a)

    response = api.put("/v1/campaigns/campaign_x", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_office"


def test_a_campaign_cannot_move_to_another_workspace(api: ApiClient, world: World) -> None:
    body = campaign_body(world.ws_a, world.office_a, world.agent_a)

    response = api.put(f"/v1/campaigns/{world.campaign_b}", json=body)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "workspace_mismatch"
