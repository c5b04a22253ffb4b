"""Shared fixtures: databases (SQLite and PostgreSQL), the Asterisk sandbox, the backend in-process."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from db.engine import make_engine, upgrade_database
from db.seed import seed_reference_data

pytest_plugins = ["tests.support.fixtures"]

IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_URL = os.environ.get("PASOKH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def require(condition: bool, reason: str) -> None:
    """Skip locally when a service is missing; under CI=true that is a failure, never a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def _postgres_reachable() -> bool:
    try:
        engine = make_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _fresh_postgres_database() -> tuple[str, str]:
    """Create an empty database for one test; returns (its URL, its name)."""
    name = f"pasokh_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def _drop_postgres_database(name: str) -> None:
    admin = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pasokh.sqlite3'}"
        upgrade_database(url)
        yield url
        return
    require(_postgres_reachable(), f"PostgreSQL at {POSTGRES_ADMIN_URL}")
    url, name = _fresh_postgres_database()
    try:
        upgrade_database(url)
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        seed_reference_data(session)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
