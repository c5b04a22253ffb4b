"""Schemathesis against the running backend's /openapi.json, as every role and anonymously: no server error,
no answer the schema does not describe (status, content type, body).

Each role gets its own backend (web only: no Asterisk, so every action that needs AMI must answer its documented
503) on a fresh SQLite database, over real HTTP, logged in through the login form like a person. SQLite, not
PostgreSQL: the run is about the API's contract, which does not depend on the database kind, and SQLite keeps the
whole run (8 visitors x every operation, with the coverage phase) to about two minutes on two cores; the
database-specific failures it found (ids beyond 64 bits) have their own tests on both databases
(test_api_errors.py). A deeper run: PASOKH_SCHEMA_EXAMPLES=200 (examples per operation and visitor).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import ServerError
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import select

from agent_console.csrf import COOKIE as CSRF_COOKIE
from agent_console.csrf import FORM_FIELD as CSRF_FIELD
from agent_console.csrf import HEADER as CSRF_HEADER
from callcenter.bootstrap.app import create_app
from callcenter.intake.callbacks import request_callback
from callcenter.platform.security import hash_password
from callcenter.platform.settings import load_settings
from callcenter.tickets.store import create_ticket
from db.engine import make_engine, unit_of_work
from db.models import Category, Role, TicketCreate, Unit, User
from db.seed import seed_reference_data
from tests.support.backend import TEST_SECRETS, InProcessServer, free_port

# Examples per operation and visitor in `make test`; PASOKH_SCHEMA_EXAMPLES raises it for a deeper run.
EXAMPLES = int(os.environ.get("PASOKH_SCHEMA_EXAMPLES", "25"))
SEED = 137_1888
PASSWORD = "schema-walk-password"
ANONYMOUS = "anonymous"
CONFIG = SchemathesisConfig.from_dict({
    "seed": SEED,
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "generation": {"max-examples": EXAMPLES, "database": "none"},
})


@dataclass
class Visitor:
    """Who calls the API: a browser session (cookies) of one role, or of nobody."""

    base_url: str
    http: requests.Session

    def csrf_header(self) -> dict[str, str]:
        return {CSRF_HEADER: self.http.cookies.get(CSRF_COOKIE, "")}


def _seed(database_url: str) -> None:
    """Reference data, one account per role and a little of everything the routes read by id."""
    engine = make_engine(database_url)
    with unit_of_work(engine) as session:
        seed_reference_data(session)
        unit = session.exec(select(Unit)).first()
        assert unit is not None
        for number, role in enumerate(Role):
            session.add(User(username=f"schema-{role.value}", full_name=role.value, role=role,
                             extension=f"17{number}", password_hash=hash_password(PASSWORD),
                             unit_id=unit.id if role == Role.UNIT_LIAISON else None))
        session.commit()
        category = session.exec(select(Category)).first()
        assert category is not None and category.id is not None
        create_ticket(session, data=TicketCreate(category_id=category.id, unit_id=category.default_unit_id,
                                                 description="چراغ خیابان خاموش است", caller_number="09120000000"),
                      created_by=None)
        request_callback(session, line="137", caller_number="09120000001", linkedid="schema-1")
    engine.dispose()


@pytest.fixture(scope="module", params=[*Role, ANONYMOUS], ids=lambda role: str(role))
def visitor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            migrated_sqlite: Path) -> Iterator[Visitor]:
    """A fresh backend (web only, no Asterisk) per role over real HTTP, and that role's logged-in session."""
    tmp_path = tmp_path_factory.mktemp(f"schema-{request.param}")
    path = tmp_path / "pasokh.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    database_url = f"sqlite:///{path}"
    _seed(database_url)
    port = free_port()
    settings_ = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                              state_dir=tmp_path, web_port=port)
    server = InProcessServer(uvicorn.Config(create_app(settings_, telephony=False), host="127.0.0.1", port=port,
                                            log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="schema-backend", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    http = requests.Session()
    try:
        while not server.started:
            assert thread.is_alive(), "the backend did not start"
            threading.Event().wait(0.05)
        login_page = http.get(f"{base_url}/login", timeout=10)
        assert login_page.status_code == 200
        if request.param != ANONYMOUS:
            answer = http.post(f"{base_url}/login", allow_redirects=False, timeout=10, data={
                "username": f"schema-{request.param}", "password": PASSWORD,
                CSRF_FIELD: http.cookies.get(CSRF_COOKIE, "")})
            assert answer.status_code == 303, answer.text
        yield Visitor(base_url=base_url, http=http)
    finally:
        http.close()
        server.should_exit = True
        thread.join(timeout=30)


def _published_schema() -> dict[str, Any]:
    """The app's /openapi.json, read from the app object (building it opens nothing); the test checks it is what
    the running backend serves."""
    settings_ = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url="sqlite://")
    return create_app(settings_, telephony=False).openapi()


OPENAPI = _published_schema()


@schemathesis.check
def no_server_error_but_documented_ones(ctx: object, response: Response, case: schemathesis.Case) -> bool | None:
    """Never a 500 (a bug); another 5xx only where the operation documents it (503: Asterisk is away, which it
    is here: the backend runs without telephony)."""
    documented = OPENAPI["paths"][case.operation.path][case.operation.method.lower()]["responses"]
    if response.status_code >= 500 and str(response.status_code) not in documented:
        raise ServerError(operation=case.operation.label, status_code=response.status_code)
    return None


CHECKS = [no_server_error_but_documented_ones, status_code_conformance, content_type_conformance,
          response_schema_conformance]
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


def test_the_schema_under_test_is_the_one_the_backend_serves(visitor: Visitor) -> None:
    assert visitor.http.get(f"{visitor.base_url}/openapi.json", timeout=10).json() == OPENAPI


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_given_any_role_when_the_api_is_fuzzed_then_no_server_error_and_every_answer_is_documented(
    case: schemathesis.Case, visitor: Visitor,
) -> None:
    case.call_and_validate(base_url=visitor.base_url, session=visitor.http, headers=visitor.csrf_header(),
                           checks=CHECKS, timeout=30)


def test_given_the_body_limit_when_the_schema_is_read_then_every_state_changing_operation_documents_its_413() -> None:
    """The body-limit middleware answers 413 request-too-large on any route that takes a body: the schema says so."""
    undocumented = [f"{method.upper()} {path}" for path, operations in OPENAPI["paths"].items()
                    for method, operation in operations.items()
                    if method in {"post", "put", "patch", "delete"}
                    and "request-too-large" not in operation["responses"].get("413", {}).get("description", "")]
    assert undocumented == []
