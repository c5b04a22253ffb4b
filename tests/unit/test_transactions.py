"""Transactions at the edge (ADR 0043): only the edges control transactions, and filing is all or nothing."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from agent_console.deps import SessionDep
from callcenter.intake.ivr_requests import DatabaseIntake
from callcenter.platform.bus import InProcessBus
from callcenter.platform.notifier import Notifier
from callcenter.tickets.filing import file_with_referral
from callcenter.tickets.store import VoiceMessage
from db.engine import unit_of_work
from db.models import (
    Call,
    CallOutcome,
    Category,
    Line,
    Role,
    SmsMessage,
    Ticket,
    TicketAction,
    TicketCreate,
    TicketTransition,
    Unit,
    UnitKind,
)
from tests.support.outbox import OutboxDown, outbox_refusing
from tests.support.paths import REPO_ROOT
from tests.support.ticket_flow import add_staff

ROOT = REPO_ROOT
PACKAGES = ("callcenter", "ivr", "db", "agent_console")
# The edges ADR 0043 names, listed once: only here is a session opened, a transaction begun, committed or rolled
# back. Everything else adds and flushes in the session its caller gives it (or opens one through unit_of_work).
EDGES = {
    "db/engine.py": "the unit of work itself",
    "agent_console": "the HTTP routes: the request's unit of work, and a commit before telling others",
    "callcenter/bootstrap": "the composition root, the CLI and provisioning",
    "callcenter/platform/scheduler.py": "the scheduler's run leases, each its own transaction",
    "callcenter/staff/login_throttle.py": "a counted login attempt stands even when the login is refused",
}
TRANSACTION_CONTROL = frozenset({"commit", "rollback", "begin"})


def transaction_control(source: str) -> list[tuple[int, str]]:
    """Where ``source`` opens a session (``Session(...)``) or begins, commits or rolls back a transaction."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in TRANSACTION_CONTROL:
            found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Session":
            found.append((node.lineno, "Session(...)"))
    return sorted(found)


def is_edge(relative: str) -> bool:
    return any(relative == edge or relative.startswith(edge + "/") for edge in EDGES)


def python_files() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith("db/migrations/"):  # alembic runs each migration in its own transaction
                yield relative, path


def test_given_the_packages_then_only_the_named_edges_open_begin_commit_or_roll_back() -> None:
    offenders = [f"{relative}:{line}: {what}"
                 for relative, path in python_files() if not is_edge(relative)
                 for line, what in transaction_control(path.read_text(encoding="utf-8"))]
    assert offenders == [], "domain code only adds and flushes; the edge commits (ADR 0043)"


def test_given_each_named_edge_then_it_exists_and_does_control_transactions() -> None:
    for edge in EDGES:
        files = [path for relative, path in python_files() if relative == edge or relative.startswith(edge + "/")]
        assert files, f"{edge} is listed as an edge but does not exist"
        assert any(transaction_control(path.read_text(encoding="utf-8")) for path in files), (
            f"{edge} is listed as an edge but controls no transaction: take it off the list")


def test_given_a_domain_function_committing_its_callers_session_then_the_scan_names_it() -> None:
    source = ("def close(session):\n    session.add(row)\n    session.commit()\n\n"
              "def read(engine):\n    with Session(engine) as s, engine.begin():\n        s.rollback()\n")
    assert transaction_control(source) == [(3, ".commit"), (6, ".begin"), (6, "Session(...)"), (7, ".rollback")]
    assert not is_edge("callcenter/tickets/store.py") and is_edge("agent_console/deps.py")


# --- Filing a ticket is one transaction ---------------------------------------------------------------------------

def counts(engine: sa.Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {model.__name__: session.exec(select(func.count()).select_from(model)).one()
                for model in (Ticket, TicketTransition, SmsMessage)}


def a_filing(engine: sa.Engine) -> TicketCreate:
    with Session(engine) as session:
        category = session.exec(select(Category).where(Category.line == Line.SERVICES)).first()
        assert category is not None and category.id is not None
        return TicketCreate(category_id=category.id, unit_id=category.default_unit_id, description="چاله در خیابان",
                            caller_number="09121234567", request_id="form-tx-1")


def test_given_a_console_filing_when_it_succeeds_then_ticket_referral_and_sms_are_stored_together(
    engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "tx-operator", Role.OPERATOR)
    with unit_of_work(engine) as session:
        submission = file_with_referral(session, data=a_filing(engine), by=operator)
    with Session(engine) as session:
        [step] = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == submission.ticket.id)).all()
        [sms] = session.exec(select(SmsMessage).where(SmsMessage.ticket_id == submission.ticket.id)).all()
    assert step.action == TicketAction.REFER and sms.to_number == "09121234567"


def test_given_the_outbox_insert_fails_when_a_ticket_is_filed_then_nothing_is_written_and_the_caller_hears(
    engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "tx-operator", Role.OPERATOR)
    before = counts(engine)
    with outbox_refusing(), pytest.raises(OutboxDown), unit_of_work(engine) as session:
        file_with_referral(session, data=a_filing(engine), by=operator)
    assert counts(engine) == before == {"Ticket": 0, "TicketTransition": 0, "SmsMessage": 0}


def voice_message(linkedid: str) -> VoiceMessage:
    return VoiceMessage(line="137", linkedid=linkedid, caller_number="09121234567", recording=f"{linkedid}.wav")


async def test_given_the_outbox_insert_fails_when_the_ivr_takes_a_message_then_nothing_is_written_or_announced(
    engine: sa.Engine,
) -> None:
    bus = InProcessBus()
    intake = DatabaseIntake(engine=engine, notifier=Notifier(bus=bus))
    with unit_of_work(engine) as session:
        session.add(Call(linkedid="tx-voice", line="137", caller_number="09121234567", started_at=datetime.now(UTC)))

    with outbox_refusing(), pytest.raises(OutboxDown):
        await intake.leave_message(voice_message("tx-voice"))

    assert counts(engine) == {"Ticket": 0, "TicketTransition": 0, "SmsMessage": 0}
    with Session(engine) as session:
        call = session.exec(select(Call).where(Call.linkedid == "tx-voice")).one()
    assert call.outcome == CallOutcome.IN_PROGRESS  # not settled as a message that was never kept
    assert bus.last_seq == 0  # the consoles hear of no ticket


# --- The request's unit of work commits before the response is sent ----------------------------------------------

def unit_app(engine: sa.Engine, *, refuse_commit: bool) -> FastAPI:
    """The console's session dependency on a route that adds a unit and returns 201."""
    app = FastAPI()
    app.state.web = SimpleNamespace(engine=engine)  # the web container, as far as the session dependency reads it

    @app.post("/units", status_code=201)
    def add(session: SessionDep) -> dict[str, str]:
        session.add(Unit(name="واحد آزمایش تراکنش", kind=UnitKind.DEPARTMENT))
        if refuse_commit:
            sa.event.listen(session, "before_commit", _refuse)
        return {"stored": "yes"}

    return app


class CommitRefused(Exception):
    """The database refusing the commit (a serialization failure, a lost connection...)."""


def _refuse(_session: Session) -> None:
    raise CommitRefused("the database refused the commit")


def stored_units(engine: sa.Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Unit).where(Unit.name == "واحد آزمایش تراکنش")).all())


@pytest.mark.parametrize("refuse_commit", [False, True], ids=["commit succeeds", "commit fails"])
def test_given_a_route_that_writes_when_its_commit_fails_then_the_client_gets_an_error_not_a_2xx(
    engine: sa.Engine, refuse_commit: bool,
) -> None:
    client = TestClient(unit_app(engine, refuse_commit=refuse_commit), raise_server_exceptions=False)
    response = client.post("/units")
    # The commit runs when the route returns, before the response: a failed one can only be a 500.
    assert (response.status_code, stored_units(engine)) == ((500, 0) if refuse_commit else (201, 1))
