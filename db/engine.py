"""Engine creation for SQLite (default) or PostgreSQL, and applying migrations before any process serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(database_url: str) -> Engine:
    """One engine per process; SQLite gets WAL and foreign keys so it behaves like the server database."""
    url = _driver_url(database_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _driver_url(database_url: str) -> str:
    """``postgresql://`` means psycopg 3 here (psycopg2 is not a dependency)."""
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        return "postgresql+psycopg://" + database_url.split("://", 1)[1]
    return database_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", _driver_url(database_url).replace("%", "%%"))
    return config


def upgrade_database(database_url: str) -> None:
    """Apply every migration (idempotent); the CLI calls this once, before it starts any process."""
    if database_url.startswith("sqlite"):
        make_engine(database_url).dispose()  # creates the folder of the file
    command.upgrade(alembic_config(database_url), "head")


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the latest migration: a process checks this at start, it does not migrate."""
    heads = set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads
