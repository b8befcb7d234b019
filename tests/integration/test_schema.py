"""The schema enforces what it can, on the real PostgreSQL, through the real migrations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from campaign_billing.adapters.database import make_session_factory
from campaign_billing.adapters.orm import (
    BillingAccountRow,
    CampaignRow,
    ChargeRow,
    OfficeRow,
    PaymentMethodRow,
    PublishRequestRow,
    UserRow,
    WorkspaceRow,
)
from campaign_billing.adapters.unit_of_work import UnitOfWork
from campaign_billing.domain.model import Workspace
from campaign_billing.migrations.runner import downgrade, upgrade
from tests.conftest import PG_ADMIN_URL

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def seeded(clean_db: None, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        s.add_all([WorkspaceRow(id="ws_a", name="A"), WorkspaceRow(id="ws_b", name="B")])
        s.flush()
        s.add_all(
            [
                OfficeRow(id="off_a", workspace_id="ws_a", name="Downtown"),
                OfficeRow(id="off_b", workspace_id="ws_b", name="Uptown"),
            ]
        )
        s.flush()
        s.add(
            UserRow(
                id="agent_a",
                workspace_id="ws_a",
                name="Jane",
                email="j@example.com",
                role="agent",
                office_id="off_a",
            )
        )
        s.flush()
        s.add(
            CampaignRow(
                id="cmp_a",
                workspace_id="ws_a",
                office_id="off_a",
                created_by="agent_a",
                version="v2",
                amount=5000,
                currency="usd",
                billing_type="office",
            )
        )
        s.add(
            BillingAccountRow(
                id="ba_a", workspace_id="ws_a", owner_type="office", office_id="off_a"
            )
        )
        s.commit()


def _fails(sessions: sessionmaker[Session], *rows: object) -> None:
    with sessions() as s:
        s.add_all(rows)
        with pytest.raises(IntegrityError):
            s.flush()


def test_migrations_upgrade_downgrade_and_upgrade_again_on_an_empty_database() -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = "campaign_billing_migrations_test"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        downgrade(url)
        engine = create_engine(url)
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        engine.dispose()
        upgrade(url)
        engine = create_engine(url)
        assert {"campaigns", "charges", "outbox", "stripe_events"} <= set(
            inspect(engine).get_table_names()
        )
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.usefixtures("seeded")
def test_a_user_cannot_belong_to_an_office_of_another_workspace(
    sessions: sessionmaker[Session],
) -> None:
    _fails(
        sessions,
        UserRow(
            id="intruder",
            workspace_id="ws_b",
            name="X",
            email="x@example.com",
            role="agent",
            office_id="off_a",
        ),
    )


@pytest.mark.usefixtures("seeded")
def test_an_agent_must_have_an_office(sessions: sessionmaker[Session]) -> None:
    _fails(
        sessions,
        UserRow(
            id="loose", workspace_id="ws_a", name="X", email="x@e.com", role="agent", office_id=None
        ),
    )


@pytest.mark.usefixtures("seeded")
def test_a_campaign_amount_must_be_positive(sessions: sessionmaker[Session]) -> None:
    _fails(
        sessions,
        CampaignRow(
            id="cmp_zero",
            workspace_id="ws_a",
            office_id="off_a",
            created_by="agent_a",
            version="v2",
            amount=0,
            currency="usd",
            billing_type="office",
        ),
    )


@pytest.mark.usefixtures("seeded")
def test_a_campaign_cannot_name_an_office_of_another_workspace(
    sessions: sessionmaker[Session],
) -> None:
    _fails(
        sessions,
        CampaignRow(
            id="cmp_x",
            workspace_id="ws_b",
            office_id="off_a",
            created_by="agent_a",
            version="v2",
            amount=100,
            currency="usd",
            billing_type="office",
        ),
    )


@pytest.mark.usefixtures("seeded")
def test_an_office_has_at_most_one_billing_account(sessions: sessionmaker[Session]) -> None:
    _fails(
        sessions,
        BillingAccountRow(id="ba_2", workspace_id="ws_a", owner_type="office", office_id="off_a"),
    )


def _card(pm_id: str, *, default: bool) -> PaymentMethodRow:
    return PaymentMethodRow(
        id=f"row_{pm_id}",
        billing_account_id="ba_a",
        stripe_payment_method_id=pm_id,
        brand="visa",
        last4="4242",
        exp_month=12,
        exp_year=2040,
        status="active",
        is_default=default,
    )


@pytest.mark.usefixtures("seeded")
def test_an_account_has_at_most_one_default_payment_method(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        s.add(_card("pm_1", default=True))
        s.add(_card("pm_2", default=False))
        s.commit()
    _fails(sessions, _card("pm_3", default=True))


def _request(request_id: str, status: str) -> PublishRequestRow:
    return PublishRequestRow(
        id=request_id,
        workspace_id="ws_a",
        campaign_id="cmp_a",
        request_key=request_id,
        status=status,
    )


@pytest.mark.usefixtures("seeded")
def test_a_campaign_has_at_most_one_open_publish_request(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        s.add(_request("pr_1", "failed"))
        s.add(_request("pr_2", "queued"))
        s.commit()
    _fails(sessions, _request("pr_3", "processing"))


def _charge(charge_id: str, request_id: str, status: str) -> ChargeRow:
    return ChargeRow(
        id=charge_id,
        workspace_id="ws_a",
        publish_request_id=request_id,
        campaign_id="cmp_a",
        billing_account_id="ba_a",
        payment_method_id="row_pm_1",
        amount=5000,
        currency="usd",
        idempotency_key=f"publish_request:{request_id}:charge",
        status=status,
    )


@pytest.mark.parametrize("live_status", ["pending", "unknown", "succeeded"])
@pytest.mark.usefixtures("seeded")
def test_a_campaign_never_has_two_live_charges(
    sessions: sessionmaker[Session], live_status: str
) -> None:
    with sessions() as s:
        s.add(_card("pm_1", default=True))
        s.add_all([_request("pr_1", "failed"), _request("pr_2", "failed")])
        s.flush()
        s.add(_charge("chg_1", "pr_1", live_status))
        s.commit()
    _fails(sessions, _charge("chg_2", "pr_2", "pending"))


@pytest.mark.usefixtures("seeded")
def test_a_failed_charge_does_not_block_the_next_attempt(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        s.add(_card("pm_1", default=True))
        s.add_all([_request("pr_1", "failed"), _request("pr_2", "processing")])
        s.flush()
        s.add(_charge("chg_1", "pr_1", "failed"))
        s.add(_charge("chg_2", "pr_2", "pending"))
        s.commit()


@pytest.fixture
def uow_factory(sessions: sessionmaker[Session]) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(sessions)


def test_the_unit_of_work_rolls_back_unless_committed(
    uow_factory: Callable[[], UnitOfWork],
) -> None:
    with uow_factory() as uow:
        uow.directory.upsert_workspace(Workspace("ws_lost", "Lost"))
    with uow_factory() as uow:
        uow.directory.upsert_workspace(Workspace("ws_kept", "Kept"))
        uow.commit()
    with uow_factory() as uow:
        assert not uow.directory.workspace_exists("ws_lost")
        assert uow.directory.workspace_exists("ws_kept")


def test_callbacks_run_only_after_the_commit(uow_factory: Callable[[], UnitOfWork]) -> None:
    sent: list[str] = []
    with uow_factory() as uow:
        uow.directory.upsert_workspace(Workspace("ws_1", "One"))
        uow.after_commit(lambda: sent.append("rolled back"))
    with uow_factory() as uow:
        uow.directory.upsert_workspace(Workspace("ws_2", "Two"))
        uow.after_commit(lambda: sent.append("committed"))
        assert sent == []
        uow.commit()
    assert sent == ["committed"]
