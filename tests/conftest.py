"""Fixtures shared by the integration and end-to-end tiers: a PostgreSQL database of our own
built by the real Alembic migrations, emptied before each test, and a Redis database of our own.

Unit tests (tests/unit) need none of this and never touch a service.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from campaign_billing.adapters.orm import Base
from campaign_billing.migrations.runner import upgrade
from campaign_billing.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# One database per test run (by process id), so runs side by side never share or drop one.
TEST_DB = os.environ.get("TEST_DB_NAME", f"campaign_billing_test_{os.getpid()}")
# Redis databases 8-15 for tests (0 stays the default for people running the service).
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{8 + os.getpid() % 8}")


def _admin_engine() -> Engine:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database built from scratch by `alembic upgrade head`, dropped at the end."""
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{TEST_DB}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{TEST_DB}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> None:
    """Every test starts from empty tables (isolation without per-test migrations)."""
    tables = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    # End-to-end tests truncate under a running relay and workers: their short transactions can
    # make PostgreSQL pick the TRUNCATE as a deadlock victim. It is safe to try again.
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield TEST_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        api_tokens="test-token",  # type: ignore[arg-type]
        stripe_webhook_secrets="whsec_test_secret",  # type: ignore[arg-type]
        stripe_api_key="sk_test_campaign_billing",  # type: ignore[arg-type]
    )
