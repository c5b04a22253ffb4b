"""Engine creation for SQLite (default) or PostgreSQL, the unit of work, and migrations run before serving."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

P = ParamSpec("P")
R = TypeVar("R")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(database_url: str) -> Engine:
    """One engine per process; SQLite gets WAL and foreign keys so it behaves like the server database."""
    url = _driver_url(database_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "savepoint", _sqlite_transaction_before_savepoint)
        return engine
    # A database whose machine is gone (packets dropped, not refused) must fail a connection in seconds, not in
    # the kernel's minutes: requests answer database-unavailable and the IVR falls back (ADR 0087).
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=10,
                            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (refused, cut, timed out, SQLite locked), rather
    than that the statement was wrong: what is answered as database-unavailable and worth retrying unchanged."""
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, sa.exc.InterfaceError):
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("psycopg"):
        return True  # psycopg's OperationalError: the server is unreachable, shutting down or cancelled us
    return "database is locked" in str(error.orig) or "unable to open" in str(error.orig)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction for an edge (a request, a dialer step, an IVR request, a job, the CLI): committed when the
    block ends normally, rolled back when it raises; domain code inside only adds and flushes (ADR 0043).

    Loaded objects stay readable after the commit: the edge hands them on (to the IVR, to announcements) after the
    session has closed, and expiring them would make every such read a detached-instance error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def all_or_nothing(step: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """A domain step that may refuse after it started writing runs in a savepoint: a refusal its caller handles
    (and goes on) undoes this step only, leaving the caller's transaction as it was before the step."""
    @functools.wraps(step)
    def run(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with session.begin_nested():  # flushes the caller's changes first, so none is lost below
                return step(session, *args, **kwargs)
        except BaseException:
            session.expire_all()  # what the step changed in memory but never flushed must not be written later
            raise
    return run


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


def _sqlite_transaction_before_savepoint(connection: sa.Connection, _name: str | None) -> None:
    """pysqlite begins a transaction only before a data change, so a savepoint taken first would open the
    transaction itself and its release would commit everything so far (SQLite's rule for the outermost savepoint):
    the unit of work would no longer be one. A savepoint is where a domain step is about to write, so the
    transaction begins here, taking the write lock at once (IMMEDIATE) as the step's first change would anyway;
    a deferred one would read a snapshot that a concurrent commit could make impossible to write from."""
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


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
