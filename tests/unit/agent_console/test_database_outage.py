"""A database that cannot be reached is answered 503 database-unavailable (JSON to the API, a Persian page to a
browser); a statement that is wrong is still a bug, left to the bug handler."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent_console.database_outage import DatabaseOutageMiddleware
from callcenter.platform.errors import DatabaseUnavailable
from db.engine import is_database_outage, make_engine
from tests.support.backend import free_port


def app_reading(engine: sa.Engine, statement: str) -> TestClient:
    app = FastAPI()

    @app.get("/read")
    def read() -> int:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(statement)).scalar_one())

    app.add_middleware(DatabaseOutageMiddleware)
    return TestClient(app)


@pytest.fixture
def refusing() -> sa.Engine:
    """PostgreSQL's address with nothing listening: what a stopped server looks like."""
    return make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/pasokh")


def test_given_postgresql_refusing_when_the_api_reads_then_503_database_unavailable_with_retry_after(
    refusing: sa.Engine,
) -> None:
    answer = app_reading(refusing, "SELECT 1").get("/read", headers={"Accept": "application/json"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.json() == DatabaseUnavailable().as_dict()


def test_given_postgresql_refusing_when_a_page_is_loaded_then_a_persian_page_says_so(refusing: sa.Engine) -> None:
    answer = app_reading(refusing, "SELECT 1").get("/read", headers={"Accept": "text/html"})
    assert answer.status_code == 503 and DatabaseUnavailable.default_message in answer.text
    assert 'dir="rtl"' in answer.text


def test_given_a_wrong_statement_when_read_then_it_is_not_taken_for_an_outage(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(sa.exc.OperationalError) as raised:
        app_reading(engine, "SELECT count(*) FROM no_such_table").get("/read")
    assert not is_database_outage(raised.value)
