"""Shared fixtures: databases (SQLite and PostgreSQL), the Asterisk sandbox, the backend in-process."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from db.engine import make_engine, unit_of_work, upgrade_database
from db.seed import seed_reference_data
from tests.support import hypothesis_profiles as hypothesis_profiles  # registers and loads the profiles
from tests.support.argon2_cost import use_cheap_argon2
from tests.support.markers import resolved_fixtures, service_markers

pytest_plugins = ["tests.support.fixtures", "tests.support.argon2_cost", "pytester"]
use_cheap_argon2()  # before any fixture or module hashes a password

IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_URL = os.environ.get("PASOKH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test gets the markers of the services it uses (tests/support/markers.py), so ``-m`` selects tiers."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        for marker in sorted(service_markers(item.path, resolved_fixtures(item), params)):
            if item.get_closest_marker(marker) is None:
                item.add_marker(marker)


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


def _admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                            isolation_level="AUTOCOMMIT")


def _create_postgres_database(name: str, *, template: str | None = None) -> str:
    """An empty database (a copy of ``template`` when given); returns its URL."""
    admin = _admin_engine()
    with admin.connect() as connection:
        copy_of = f' TEMPLATE "{template}"' if template else ""
        connection.execute(sa.text(f'CREATE DATABASE "{name}"{copy_of}'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per run; each test gets a copy (running Alembic per test cost minutes)."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """A migrated template database, created once per run; each test's database is a copy of it."""
    require(_postgres_reachable(), f"PostgreSQL at {POSTGRES_ADMIN_URL}")
    name = f"pasokh_tpl_{uuid.uuid4().hex[:12]}"
    upgrade_database(_create_postgres_database(name))
    try:
        yield name
    finally:
        _drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of each kind, the test's own."""
    if request.param == "sqlite":
        path = tmp_path / "pasokh.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("migrated_postgres")
    name = f"pasokh_t_{uuid.uuid4().hex[:12]}"
    url = _create_postgres_database(name, template=template)
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    with unit_of_work(engine) as session:
        seed_reference_data(session)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
