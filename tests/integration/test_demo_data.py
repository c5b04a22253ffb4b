"""Years of demo data (callcenter/bootstrap/demo_data.py) on PostgreSQL: the app's own read paths find the generated
tickets as they find filed ones (a code over HTTP, the caller's history, the liaison's inbox, the duplicate check,
the citizen's status page), and every derived row is what the app's writers would have kept (the unit's clock, the
address words, verification tasks, escalations). On SQLite the command refuses, saying why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from callcenter.bootstrap.app import create_app
from callcenter.bootstrap.cli import main
from callcenter.bootstrap.demo_data import DemoDataOptions, DemoDataReport, busiest_caller_number, generate_demo_data
from callcenter.citizens.links import status_path
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.notifier import Notifier
from callcenter.platform.persian import normalize_text, persian_digits
from callcenter.platform.settings import load_settings
from callcenter.reports.scorecard import compute_scorecard, compute_scorecard_from_history
from callcenter.tickets.escalation import Escalator
from callcenter.tickets.lifecycle import FINAL_STATUSES
from callcenter.tickets.store import DUPLICATE_WINDOW, address_words, possible_duplicates, tickets_for_caller
from callcenter.tickets.tracking_code import format_for_reading, is_valid
from db.engine import unit_of_work
from db.models import (
    AT_A_UNIT,
    Role,
    Ticket,
    TicketAction,
    TicketAddressWord,
    TicketStatus,
    TicketTransition,
    VerificationTask,
)
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, RecordingBus, add_staff, unit_id

TICKETS = 2_000
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def generated(engine: sa.Engine) -> DemoDataReport:
    add_staff(engine, "demo.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "demo.operator", Role.OPERATOR)
    return generate_demo_data(engine, DemoDataOptions(tickets=TICKETS, now=NOW, batch=700), progress=lambda _: None)


@pytest.fixture
def client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield client


def tickets(engine: sa.Engine) -> list[Ticket]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(Ticket).order_by(col(Ticket.id))).all())


@postgresql_only
def test_given_generated_years_when_counted_then_every_ticket_has_its_steps_calls_and_a_unique_valid_code(
    engine: sa.Engine, generated: DemoDataReport,
) -> None:
    rows = tickets(engine)
    codes = [t.tracking_code for t in rows]

    assert generated.tickets == len(rows) == TICKETS
    assert len(set(codes)) == TICKETS and all(is_valid(code) and len(code) == 9 for code in codes)
    assert 3 * TICKETS <= generated.transitions <= 6 * TICKETS  # a verified ticket takes five steps
    assert 0.9 * TICKETS <= generated.calls <= 1.5 * TICKETS
    assert all(t.address == normalize_text(t.address) and t.description == normalize_text(t.description)
               for t in rows)
    assert all(t.caller_number is None or (t.caller_number.isascii() and t.caller_number.isdigit()) for t in rows)
    spread = max(t.created_at for t in rows) - min(t.created_at for t in rows)
    assert spread.days > 600 and max(t.created_at for t in rows) <= NOW
    statuses = {t.status for t in rows}
    assert TicketStatus.VERIFIED in statuses and statuses & set(AT_A_UNIT)
    # Ids follow filing order, as the address-word purge relies on.
    assert [t.created_at for t in rows] == sorted(t.created_at for t in rows)


@postgresql_only
def test_given_generated_years_when_each_ticket_is_replayed_from_its_steps_then_its_row_is_what_the_lifecycle_left(
    engine: sa.Engine, generated: DemoDataReport,
) -> None:
    with unit_of_work(engine) as session:
        steps: dict[int, list[TicketTransition]] = {}
        for step in session.exec(select(TicketTransition).order_by(col(TicketTransition.ticket_id),
                                                                   col(TicketTransition.at))).all():
            steps.setdefault(step.ticket_id, []).append(step)
        words = {(w.ticket_id, w.word) for w in session.exec(select(TicketAddressWord)).all()}
        open_tasks = {task.ticket_id for task in session.exec(select(VerificationTask).where(
            col(VerificationTask.status).in_(("pending", "calling", "gave_up")))).all()}
    for ticket in tickets(engine):
        history = steps[ticket.id]  # type: ignore[index]
        assert history[0].from_status == TicketStatus.REGISTERED
        assert all(a.to_status == b.from_status for a, b in pairwise(history))
        assert ticket.status == history[-1].to_status and ticket.unit_id == history[-1].to_unit_id
        referrals = [s for s in history if s.action in (TicketAction.REFER, TicketAction.RE_REFER)]
        assert ticket.referred_at == referrals[-1].at
        if ticket.created_at >= NOW - DUPLICATE_WINDOW:
            assert {w for t, w in words if t == ticket.id} == set(address_words(ticket.address))
        waiting_on_citizen = ticket.status in (TicketStatus.DONE, TicketStatus.AWAITING_VERIFICATION)
        assert (ticket.id in open_tasks) == (waiting_on_citizen and ticket.caller_number is not None)
    assert {t for t, _ in words} and all(ticket_id >= generated.first_ticket_id for ticket_id, _ in words)


@postgresql_only
def test_given_generated_years_when_the_escalation_job_runs_then_no_overdue_round_is_left_to_escalate(
    engine: sa.Engine, generated: DemoDataReport,
) -> None:
    escalator = Escalator(engine=engine, notifier=Notifier(bus=RecordingBus()), now=lambda: NOW)

    escalated, _ = escalator.escalate_batch(NOW)

    assert generated.escalations > 0 and escalated == []


@postgresql_only
def test_given_generated_years_when_an_operator_reads_a_code_and_the_callers_history_then_the_app_finds_them(
    engine: sa.Engine, generated: DemoDataReport, client: TestClient,
) -> None:
    assert log_in_sync(client, "demo.operator", PASSWORD).status_code == 303
    ticket = tickets(engine)[TICKETS // 2]

    by_code = client.get(f"/api/tickets/{ticket.tracking_code}", headers={"Accept": "application/json"})
    with unit_of_work(engine) as session:
        history = tickets_for_caller(session, busiest_caller_number())
        everything = session.exec(select(Ticket).where(Ticket.caller_number == busiest_caller_number())
                                  .order_by(col(Ticket.created_at).desc())).all()

    assert by_code.status_code == 200 and by_code.json()["id"] == ticket.id
    assert len(everything) > 1 and [t.id for t in history] == [t.id for t in everything[:20]]


@postgresql_only
def test_given_generated_years_when_the_waste_liaison_opens_the_inbox_then_its_count_and_order_are_the_units(
    engine: sa.Engine, generated: DemoDataReport, client: TestClient,
) -> None:
    assert log_in_sync(client, "demo.liaison", PASSWORD).status_code == 303
    waste = unit_id(engine, WASTE)
    at_unit = [t for t in tickets(engine) if t.unit_id == waste and t.status in AT_A_UNIT]

    page = client.get("/api/inbox", headers={"Accept": "application/json"}).json()

    assert page["total"] == len(at_unit) > 0
    shown = [item["ticket"]["id"] for item in page["items"]]
    assert shown and set(shown) <= {t.id for t in at_unit}


@postgresql_only
def test_given_a_recent_open_generated_ticket_when_the_same_caller_or_address_is_checked_then_it_is_a_duplicate(
    engine: sa.Engine, generated: DemoDataReport,
) -> None:
    recent = [t for t in tickets(engine) if t.created_at >= NOW - DUPLICATE_WINDOW and t.status not in FINAL_STATUSES
              and t.caller_number and address_words(t.address)]
    ticket = recent[-1]

    with unit_of_work(engine) as session:
        by_caller = possible_duplicates(session, category_id=None, address="", caller_number=ticket.caller_number,
                                        now=NOW)
        by_address = possible_duplicates(session, category_id=ticket.category_id, address=ticket.address,
                                         caller_number=None, now=NOW)

    assert ticket.id in {t.id for t in by_caller} and ticket.id in {t.id for t in by_address}


@postgresql_only
def test_given_a_generated_ticket_when_the_citizen_opens_its_status_link_then_the_timeline_shows_its_steps(
    engine: sa.Engine, generated: DemoDataReport, client: TestClient,
) -> None:
    ticket = tickets(engine)[-1]

    page = client.get(status_path(TEST_SECRETS["secret_key"], ticket.tracking_code))

    assert page.status_code == 200
    assert persian_digits(format_for_reading(ticket.tracking_code)) in page.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_given_sqlite_when_demo_data_is_asked_for_then_it_refuses_and_says_to_use_postgresql(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PASOKH_ENVIRONMENT", "development")

    with pytest.raises(SystemExit) as refused:
        main(["demo-data", "--tickets", "10"])
    with pytest.raises(ConfigurationError):
        generate_demo_data(engine, DemoDataOptions(tickets=10))

    assert "PostgreSQL" in str(refused.value)
    with unit_of_work(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Ticket)).one() == 0


@postgresql_only
def test_given_generated_years_when_the_mayor_opens_a_month_of_the_scorecard_then_the_receipts_agree_with_the_history(
    engine: sa.Engine, generated: DemoDataReport
) -> None:
    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    with unit_of_work(engine) as session:
        from_receipts = compute_scorecard(session, start=start, end=end, now=NOW)
        from_history = compute_scorecard_from_history(session, start=start, end=end, now=NOW)
    assert from_receipts.units, "the generated month referred nothing"
    assert from_receipts == from_history
