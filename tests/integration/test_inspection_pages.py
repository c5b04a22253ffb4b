"""The inspection console over HTTP on both databases: the queue and the case page answer only those who may see
the complaint (404 otherwise), the forms work without script and say a conflict in Persian, notes stay apart
from messages, and a liaison's information-request page and JSON reveal nothing of the complaint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jdatetime
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.complaints.names import GROUND_NAMES
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround, ComplaintNote, ComplaintStatus, InformationRequest, Role, User
from tests.support.backend import TEST_SECRETS
from tests.support.casework import COMPLAINANT, INSPECTION_OFFICE, file_complaint
from tests.support.console import log_in_sync
from tests.support.ticket_flow import GREENERY, PASSWORD, WASTE, add_staff

QUESTION = "برنامهٔ جمع‌آوری زباله در محلهٔ فردوسی در این ماه چه بوده است؟"


@dataclass
class Console:
    client: TestClient
    engine: sa.Engine
    settings: Settings
    users: dict[str, User]

    def as_user(self, name: str) -> TestClient:
        self.client.cookies.clear()
        self.client.headers.pop("X-CSRF-Token", None)
        assert log_in_sync(self.client, self.users[name].username, PASSWORD).status_code == 303
        return self.client

    def form(self, **fields: str) -> dict[str, str]:
        return {"csrf_token": self.client.cookies["pasokh_csrf"], **fields}


@pytest.fixture
def console(engine: sa.Engine, database_url: str, tmp_path: Path) -> Iterator[Console]:
    users = {
        "inspector": add_staff(engine, "insp.one", Role.INSPECTOR, unit=INSPECTION_OFFICE),
        "head": add_staff(engine, "insp.head", Role.HEAD_OF_INSPECTION, unit=INSPECTION_OFFICE),
        "mayor": add_staff(engine, "mayor.office", Role.VIEWER),
        "waste": add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE),
        "greenery": add_staff(engine, "green.liaison", Role.UNIT_LIAISON, unit=GREENERY),
    }
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Console(client=client, engine=engine, settings=settings, users=users)


def _in_ten_days() -> str:
    return persian_digits((jdatetime.date.today() + jdatetime.timedelta(days=10)).strftime("%Y/%m/%d"))


def test_given_inspection_staff_when_they_log_in_then_they_land_on_the_queue(console: Console) -> None:
    console.client.get("/login")
    response = console.client.post("/login", data={"username": "insp.head", "password": PASSWORD,
                                                   "csrf_token": console.client.cookies["pasokh_csrf"]},
                                   follow_redirects=False)
    assert response.headers["location"] == "/inspection"


def test_given_a_complaint_when_each_role_opens_it_then_only_its_desk_reads_it(console: Console) -> None:
    complaint = file_complaint(console.engine, console.settings, target_unit=WASTE)
    about_us = file_complaint(console.engine, console.settings, target_unit=INSPECTION_OFFICE)
    client = console.as_user("inspector")
    page = client.get(f"/inspection/complaints/{complaint.id}")
    assert page.status_code == 200 and complaint.description in page.text
    assert COMPLAINANT.mobile not in page.text and COMPLAINANT.name not in page.text  # the identity part shows it
    assert client.get(f"/inspection/complaints/{about_us.id}").status_code == 404
    queue = client.get("/inspection")
    assert persian_digits(complaint.tracking_code) in queue.text
    assert persian_digits(about_us.tracking_code) not in queue.text
    client = console.as_user("mayor")
    assert client.get(f"/inspection/complaints/{complaint.id}").status_code == 404
    assert client.get(f"/inspection/complaints/{about_us.id}").status_code == 200
    client = console.as_user("waste")
    assert client.get(f"/inspection/complaints/{complaint.id}").status_code == 403


def test_given_a_stale_page_when_its_form_is_sent_then_a_persian_conflict_and_what_was_typed_is_kept(
    console: Console,
) -> None:
    complaint = file_complaint(console.engine, console.settings, target_unit=WASTE,
                               assigned_to_id=console.users["inspector"].id)
    client = console.as_user("inspector")
    moved = client.post(f"/inspection/complaints/{complaint.id}/actions", follow_redirects=False,
                        data=console.form(action="start_review", expected_status="received"))
    assert moved.status_code == 303
    stale = client.post(f"/inspection/complaints/{complaint.id}/actions",
                        data=console.form(action="reject", expected_status="received", note="شکایت تکراری است"))
    assert stale.status_code == 409 and "کس دیگری" in stale.text and "شکایت تکراری است" in stale.text
    empty = client.post(f"/inspection/complaints/{complaint.id}/actions",
                        data=console.form(action="reject", expected_status="under_review", note=""))
    assert empty.status_code == 422 and "دلیل رد شکایت" in empty.text
    with unit_of_work(console.engine) as session:
        found = session.get(Complaint, complaint.id)
        assert found is not None and found.status == ComplaintStatus.UNDER_REVIEW


def test_given_a_note_and_a_message_when_written_then_each_is_in_its_own_list(console: Console) -> None:
    complaint = file_complaint(console.engine, console.settings, target_unit=WASTE,
                               status=ComplaintStatus.UNDER_REVIEW, assigned_to_id=console.users["inspector"].id)
    client = console.as_user("inspector")
    base = f"/inspection/complaints/{complaint.id}"
    assert client.post(f"{base}/notes", data=console.form(note_body="به نظر می‌رسد پیمانکار مقصر است"),
                       follow_redirects=False).status_code == 303
    assert client.post(f"{base}/messages", data=console.form(body="نشانی دقیق کوچه را بفرمایید"),
                       follow_redirects=False).status_code == 303
    page = client.get(base).text
    notes = page[page.index('id="notes"'):page.index('id="messages"')]
    messages = page[page.index('id="messages"'):page.index('id="information"')]
    assert "پیمانکار مقصر" in notes and "پیمانکار مقصر" not in messages
    assert "نشانی دقیق کوچه" in messages and "نشانی دقیق کوچه" not in notes
    assert "شاکی و واحدها این یادداشت‌ها را نمی‌بینند" in notes
    assert "شاکی این پیام‌ها را" in messages


def test_given_an_information_request_when_the_liaisons_read_their_pages_then_the_asked_one_sees_only_the_question(
    console: Console,
) -> None:
    complaint = file_complaint(console.engine, console.settings, target_unit=WASTE,
                               ground=ComplaintGround.PUBLIC_PROPERTY_WASTE, status=ComplaintStatus.UNDER_REVIEW,
                               assigned_to_id=console.users["inspector"].id)
    client = console.as_user("inspector")
    asked = client.post(f"/inspection/complaints/{complaint.id}/information-requests", follow_redirects=False,
                        data=console.form(unit_id=str(complaint.target_unit_id), question=QUESTION,
                                          due_on=_in_ten_days()))
    assert asked.status_code == 303, asked.text
    with unit_of_work(console.engine) as session:
        request = session.exec(select(InformationRequest)).one()
    secrets = [complaint.description, complaint.tracking_code, persian_digits(complaint.tracking_code),
               complaint.ground.value, GROUND_NAMES[complaint.ground], COMPLAINANT.mobile, COMPLAINANT.name,
               f"/inspection/complaints/{complaint.id}"]

    client = console.as_user("waste")
    page = client.get("/inbox/information-requests")
    data = client.get("/api/inbox/information-requests")
    assert QUESTION in page.text and [item["question"] for item in data.json()] == [QUESTION]
    assert set(data.json()[0]) == {"number", "question", "asked_at", "due_at", "answer", "answered_at"}
    for secret in secrets:
        assert secret not in page.text and secret not in data.text, secret
    assert 'href="/inbox/information-requests"' in client.get("/inbox").text

    other = console.as_user("greenery")
    assert QUESTION not in other.get("/inbox/information-requests").text
    assert other.get("/api/inbox/information-requests").json() == []
    assert other.post(f"/inbox/information-requests/{request.id}/answer",
                      data=console.form(answer="نمی‌دانیم")).status_code == 404

    client = console.as_user("waste")
    answered = client.post(f"/inbox/information-requests/{request.id}/answer", follow_redirects=False,
                           data=console.form(answer="دو نوبت در هفته، شنبه و سه‌شنبه"))
    assert answered.status_code == 303
    again = client.post(f"/inbox/information-requests/{request.id}/answer", data=console.form(answer="باز هم"))
    assert again.status_code == 409

    client = console.as_user("inspector")
    assert "دو نوبت در هفته، شنبه و سه‌شنبه" in client.get(f"/inspection/complaints/{complaint.id}").text


def test_given_the_sla_page_when_the_head_saves_then_the_limits_change_and_a_bad_value_is_refused(
    console: Console,
) -> None:
    client = console.as_user("head")
    page = client.get("/inspection/sla").text
    limits = dict(re.findall(r'name="([a-z_]+)" type="number"[^>]*value="(\d+)"', page))
    assert set(limits) == {ground.value for ground in ComplaintGround}
    saved = client.post("/inspection/sla", data=console.form(**{**limits, "delay": "۷"}), follow_redirects=False)
    assert saved.status_code == 303
    refused = client.post("/inspection/sla", data=console.form(**{**limits, "delay": "0"}))
    assert refused.status_code == 422 and "مهلت" in refused.text
    with unit_of_work(console.engine) as session:
        from callcenter.complaints.sla import limits as stored
        assert stored(session)[ComplaintGround.DELAY] == 7
    assert console.as_user("inspector").get("/inspection/sla").status_code == 403


def test_given_a_note_from_one_inspector_when_a_mayors_office_user_tries_to_add_one_then_not_found(
    console: Console,
) -> None:
    complaint = file_complaint(console.engine, console.settings, target_unit=WASTE)
    client = console.as_user("mayor")
    response = client.post(f"/inspection/complaints/{complaint.id}/notes", data=console.form(note_body="یادداشت"))
    assert response.status_code == 404
    with unit_of_work(console.engine) as session:
        assert session.exec(select(ComplaintNote)).all() == []
