"""The service desk over HTTP, on both databases: the form files an in-person ticket that the routing table
refers in the staff member's name, the mobile is optional, a double submit makes one ticket, a refused form
comes back as typed, and the receipt (page and PDF) is the filer's (or a supervisor's) only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.citizens.desk import BAD_MOBILE, NO_DESCRIPTION
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.persian import normalize_text, persian_digits
from callcenter.platform.settings import load_settings
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import (
    Category,
    Role,
    SmsMessage,
    Ticket,
    TicketAction,
    TicketSource,
    TicketStatus,
    TicketTransition,
    Unit,
    User,
)
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket

FLOODING = "آب‌گرفتگی معابر و جوی‌ها"  # in district two the district's own unit takes it (db/seed.py)
DISTRICT_TWO = "منطقه دو"
MOBILE = "09121234567"
ADDRESS = "خیابان پیروزی، نبش کوچه ۷"
DESCRIPTION = "آب جلوی مدرسه جمع شده است"


@dataclass
class Desk:
    client: TestClient
    engine: sa.Engine

    def as_user(self, username: str) -> TestClient:
        self.client.cookies.clear()
        self.client.headers.pop("X-CSRF-Token", None)
        assert log_in_sync(self.client, username, PASSWORD).status_code == 303
        return self.client

    def form(self, **fields: str) -> dict[str, str]:
        """The desk form as served (its request id included), filled with a flooding report in district two."""
        page = self.client.get("/desk")
        assert page.status_code == 200, page.text
        found = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert found is not None
        with unit_of_work(self.engine) as session:
            category = session.exec(select(Category).where(Category.name == FLOODING)).one()
            district = session.exec(select(Unit).where(Unit.name == DISTRICT_TWO)).one()
            form = {"category_id": str(category.id), "district_id": str(district.id), "address": ADDRESS,
                    "description": DESCRIPTION, "mobile": "", "request_id": found.group(1)}
        form.update(fields)
        return form

    def file(self, form: dict[str, str]) -> str:
        """Post the form; the tracking code of the receipt it sends the browser to."""
        response = self.client.post("/desk", data=form, follow_redirects=False)
        assert response.status_code == 303, response.text
        found = re.fullmatch(r"/desk/receipts/(\d{9})", response.headers["location"])
        assert found is not None, response.headers["location"]
        return found.group(1)

    def ticket(self, code: str) -> Ticket:
        with unit_of_work(self.engine) as session:
            ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
            session.expunge(ticket)
            return ticket

    def tickets(self) -> int:
        with unit_of_work(self.engine) as session:
            return len(session.exec(select(Ticket)).all())


@pytest.fixture
def desk(engine: sa.Engine, database_url: str, tmp_path: object) -> Iterator[Desk]:
    add_staff(engine, "counter.one", Role.DESK)
    add_staff(engine, "counter.two", Role.DESK)
    add_staff(engine, "desk.operator", Role.OPERATOR)
    add_staff(engine, "desk.supervisor", Role.SUPERVISOR)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Desk(client=client, engine=engine)


def test_given_a_desk_account_when_it_logs_in_then_it_lands_on_the_desk_form(desk: Desk) -> None:
    desk.client.get("/login")
    response = desk.client.post("/login", data={"username": "counter.one", "password": PASSWORD,
                                                "csrf_token": desk.client.cookies["pasokh_csrf"]},
                                follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/desk")


def test_given_the_desk_when_it_files_a_report_with_a_mobile_then_in_person_referred_by_the_routing_table_in_its_name(
    desk: Desk,
) -> None:
    desk.as_user("counter.one")
    code = desk.file(desk.form(mobile=persian_digits(MOBILE)))

    ticket = desk.ticket(code)
    with unit_of_work(desk.engine) as session:
        counter = session.exec(select(User).where(User.username == "counter.one")).one()
        district_unit = session.exec(select(Unit).where(Unit.name == DISTRICT_TWO)).one()
        steps = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id)).all()
        texts = session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).all()
    assert (ticket.source, ticket.status, ticket.unit_id) == (TicketSource.IN_PERSON, TicketStatus.REFERRED,
                                                              district_unit.id)
    assert (ticket.created_by_id, ticket.caller_number, ticket.address) == (counter.id, MOBILE, normalize_text(ADDRESS))
    assert [(s.action, s.actor_id, s.actor_role, s.to_unit_id) for s in steps] == [
        (TicketAction.REFER, counter.id, Role.DESK, district_unit.id)]
    assert [text.to_number for text in texts] == [MOBILE]


def test_given_no_mobile_when_the_desk_files_then_the_ticket_keeps_no_number_and_no_sms_is_queued(
    desk: Desk,
) -> None:
    desk.as_user("counter.one")
    code = desk.file(desk.form())

    ticket = desk.ticket(code)
    with unit_of_work(desk.engine) as session:
        texts = session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).all()
    assert (ticket.source, ticket.caller_number, ticket.status) == (TicketSource.IN_PERSON, None,
                                                                    TicketStatus.REFERRED)
    assert texts == []


def test_given_the_same_form_when_submitted_twice_then_one_ticket_and_both_answers_show_its_receipt(
    desk: Desk,
) -> None:
    desk.as_user("counter.one")
    before = desk.tickets()
    form = desk.form(mobile=MOBILE)

    first, second = desk.file(form), desk.file(form)

    assert first == second
    assert desk.tickets() == before + 1
    with unit_of_work(desk.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == first)).one()
        assert len(session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).all()) == 1


@pytest.mark.parametrize(("fields", "message"), [({"description": "  "}, NO_DESCRIPTION),
                                                 ({"mobile": "۰۲۱۱۲۳۴۵"}, BAD_MOBILE)])
def test_given_a_form_the_desk_must_refuse_when_submitted_then_a_persian_error_and_everything_typed_comes_back(
    desk: Desk, fields: dict[str, str], message: str,
) -> None:
    desk.as_user("counter.one")
    before = desk.tickets()
    form = desk.form(**fields)

    response = desk.client.post("/desk", data=form, follow_redirects=False)

    assert response.status_code == 422
    assert message in response.text
    marked = re.findall(r'name="(\w+)"[^>]*aria-invalid="true"', response.text)
    assert marked == [next(iter(fields))]  # the field at fault, and only it, is marked for screen readers
    for name in ("address", "mobile", "request_id"):
        assert f'name="{name}" value="{form[name]}"' in response.text, name
    assert re.search(rf'<option value="{form["category_id"]}" selected>', response.text)
    assert re.search(rf'<option value="{form["district_id"]}" selected>', response.text)
    assert desk.tickets() == before
    fixed = {**form, "description": DESCRIPTION, "mobile": ""}
    assert desk.ticket(desk.file(fixed)).request_id == form["request_id"]  # the same form, now filed once


def test_given_a_filed_desk_ticket_when_its_receipt_is_opened_then_code_category_district_and_no_mobile(
    desk: Desk,
) -> None:
    client = desk.as_user("counter.one")
    code = desk.file(desk.form(mobile=MOBILE))

    page = client.get(f"/desk/receipts/{code}")
    pdf = client.get(f"/desk/receipts/{code}.pdf")

    assert page.status_code == 200
    filed_on, _clock = jalali_timestamp(desk.ticket(code).created_at)  # e.g. «۱۴۰۵/۰۹/۱۱»
    assert re.fullmatch(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", filed_on)
    for text in (persian_digits(format_for_reading(code)), FLOODING, DISTRICT_TWO, "شهرداری قزوین", filed_on,
                 "<svg"):
        assert text in page.text, text
    assert MOBILE not in page.text and persian_digits(MOBILE) not in page.text
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert f"receipt-{code}.pdf" in pdf.headers["content-disposition"]
    text = pdf_text(pdf.content)
    assert persian_digits(format_for_reading(code)) in text and DISTRICT_TWO in text and filed_on in text
    assert MOBILE not in text and persian_digits(MOBILE) not in text


def pdf_text(content: bytes) -> str:
    document = pypdfium2.PdfDocument(content)
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_given_a_desk_account_when_it_reaches_for_other_staff_pages_or_others_receipts_then_refused(
    desk: Desk,
) -> None:
    client = desk.as_user("counter.two")
    others = desk.file(desk.form())
    with unit_of_work(desk.engine) as session:
        operator = session.exec(select(User).where(User.username == "desk.operator")).one()
        session.expunge(operator)
    phoned = referred_ticket(desk.engine, by=operator, unit=WASTE)
    client = desk.as_user("counter.one")

    for path in ("/console", "/inbox", "/wallboard", "/admin", "/verifications", "/scorecard",
                 f"/api/tickets/{others}", f"/api/tickets/{others}/history", f"/desk/receipts/{others}",
                 f"/desk/receipts/{others}.pdf"):
        response = client.get(path, headers={"Accept": "application/json"})
        assert (response.status_code, response.json()["error_id"]) == (403, "permission-denied"), path
    refused = client.get(f"/desk/receipts/{phoned.tracking_code}", headers={"Accept": "application/json"})
    assert (refused.status_code, refused.json()["error_id"]) == (404, "not-found")
    assert client.post("/api/tickets", json={}).status_code == 403


def test_given_an_operator_at_the_counter_when_filing_then_their_receipt_and_a_supervisor_may_reprint_it(
    desk: Desk,
) -> None:
    client = desk.as_user("desk.operator")
    code = desk.file(desk.form())
    assert client.get(f"/desk/receipts/{code}").status_code == 200
    with unit_of_work(desk.engine) as session:
        operator = session.exec(select(User).where(User.username == "desk.operator")).one()
        assert desk.ticket(code).created_by_id == operator.id

    client = desk.as_user("desk.supervisor")
    assert client.get(f"/desk/receipts/{code}.pdf").status_code == 200
    assert desk.as_user("counter.one").get(f"/desk/receipts/{code}").status_code == 403
