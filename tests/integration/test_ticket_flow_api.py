"""The lifecycle over HTTP on both databases: actions as the logged-in user, refusals, conflicts, the history's
readers, the inbox's deadlines and words, the liaison's unit on the admin form, and where a liaison lands."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.platform.settings import load_settings
from callcenter.tickets.inbox import inbox_for
from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import Category, Role, TicketAction, TicketCreate, TicketStatus, User
from tests.support.backend import TEST_SECRETS
from tests.support.console import log_in_sync
from tests.support.ticket_flow import (
    GREENERY,
    LIGHTING,
    PASSWORD,
    WASTE,
    Filed,
    add_staff,
    referred_ticket,
    status_of,
    steps_of,
    unit_id,
)

S, A = TicketStatus, TicketAction


@dataclass
class Site:
    app_client: TestClient
    engine: sa.Engine
    operator: User

    def as_user(self, username: str) -> TestClient:
        """A fresh login on the same app (each call replaces the previous identity of the shared client)."""
        client = self.app_client
        client.cookies.clear()
        response = log_in_sync(client, username, PASSWORD)
        assert response.status_code == 303, response.text
        return client


@pytest.fixture
def site(engine: sa.Engine, database_url: str) -> Iterator[Site]:
    operator = add_staff(engine, "flow.operator", Role.OPERATOR)
    add_staff(engine, "flow.supervisor", Role.SUPERVISOR)
    add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    add_staff(engine, "green.liaison", Role.UNIT_LIAISON, unit=GREENERY)
    add_staff(engine, "light.liaison", Role.UNIT_LIAISON, unit=LIGHTING)
    for role in (Role.FIELD_SUPERVISOR, Role.INSPECTOR, Role.VIEWER, Role.ADMIN):
        add_staff(engine, f"flow.{role.value}", role)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield Site(app_client=client, engine=engine, operator=operator)


def act(client: TestClient, ticket: Filed, action: str, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post(f"/api/tickets/{ticket.tracking_code}/actions", json={"action": action, **body},
                           headers={"Accept": "application/json"})
    return response.status_code, response.json()


def test_given_a_referred_ticket_when_its_liaison_accepts_and_reports_done_over_http_then_status_and_history_follow(
    site: Site,
) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    subscription = site.app_client.app.state.services.bus.subscribe()  # type: ignore[attr-defined]
    client = site.as_user("waste.liaison")

    code, accepted = act(client, ticket, "accept", expected_status="referred")
    assert (code, accepted["status"], accepted["tracking_code"]) == (200, "accepted", ticket.tracking_code)
    code, done = act(client, ticket, "report_done", note="سطل‌ها خالی و شسته شد", expected_status="accepted")
    assert (code, done["status"], done["unit_name"]) == (200, "done", WASTE)

    assert status_of(site.engine, ticket) == S.DONE
    assert steps_of(site.engine, ticket)[1:] == [(A.ACCEPT, S.REFERRED, S.ACCEPTED, ""),
                                                 (A.REPORT_DONE, S.ACCEPTED, S.DONE, "سطل‌ها خالی و شسته شد")]
    events = [asyncio.run(asyncio.wait_for(subscription.get(), 1)) for _ in range(2)]
    assert [(e.name, e.data["action"], e.data["ticket"]["status"]) for e in events] == [
        ("ticket_changed", "accept", "accepted"), ("ticket_changed", "report_done", "done")]
    subscription.close()


@pytest.mark.parametrize(("username", "action", "why"), [
    ("flow.viewer", "accept", "نقش شما فقط اجازه خواندن"),          # not a ticket actor at all
    ("flow.admin", "accept", "نقش شما فقط اجازه خواندن"),
    ("flow.inspector", "cancel", "نقش شما فقط اجازه خواندن"),
    ("flow.operator", "accept", "نقش شما اجازه «پذیرش» را ندارد"),  # an actor, but not of this action
    ("green.liaison", "accept", "به واحد شما ارجاع نشده"),           # a liaison of another unit
    ("flow.field_supervisor", "accept", "نقش شما اجازه «پذیرش» را ندارد"),
])
def test_given_a_referred_ticket_when_someone_not_entitled_acts_then_403_in_persian_and_nothing_moves(
    site: Site, username: str, action: str, why: str,
) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    code, body = act(site.as_user(username), ticket, action, note="تکراری")
    assert (code, body["error_id"]) == (403, "permission-denied")
    assert why in str(body["message"])
    assert status_of(site.engine, ticket) == S.REFERRED and len(steps_of(site.engine, ticket)) == 1


def test_given_a_referred_ticket_when_the_liaison_reports_it_done_unaccepted_then_409_invalid_transition(
    site: Site,
) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    code, body = act(site.as_user("waste.liaison"), ticket, "report_done", note="انجام شد")
    assert (code, body["error_id"]) == (409, "invalid-transition")
    assert "ارجاع‌شده به واحد" in str(body["message"])
    assert status_of(site.engine, ticket) == S.REFERRED


def test_given_a_screen_showing_an_old_status_when_the_liaison_acts_on_it_then_409_conflict(site: Site) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    client = site.as_user("waste.liaison")
    assert act(client, ticket, "accept", expected_status="referred")[0] == 200
    code, body = act(client, ticket, "decline", note="مربوط به ما نیست", expected_status="referred")
    assert (code, body["error_id"]) == (409, "conflict")
    assert status_of(site.engine, ticket) == S.ACCEPTED


def test_given_a_decline_without_a_note_when_sent_then_422_with_the_persian_reason(site: Site) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    code, body = act(site.as_user("waste.liaison"), ticket, "decline")
    assert (code, body["error_id"]) == (422, "invalid-data")
    assert "چرا این درخواست به این واحد مربوط نیست" in str(body["message"])


def test_given_a_ticket_moved_from_one_unit_to_another_when_reading_its_history_then_only_the_right_people_may(
    site: Site,
) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    code, _ = act(site.as_user("flow.operator"), ticket, "re_refer", unit_id=unit_id(site.engine, GREENERY))
    assert code == 200
    readers = ("flow.operator", "flow.supervisor", "flow.admin",
               "waste.liaison", "green.liaison")  # the earlier unit and the current one
    for username in readers:
        response = site.as_user(username).get(f"/api/tickets/{ticket.tracking_code}/history")
        assert response.status_code == 200, (username, response.text)
        assert [step["action"] for step in response.json()] == ["refer", "re_refer"]
        assert response.json()[1]["to_unit_name"] == GREENERY
    # Another unit; the mayor's office; a field supervisor (never disputed); the inspection office (decision 26).
    for username in ("light.liaison", "flow.viewer", "flow.field_supervisor", "flow.inspector"):
        response = site.as_user(username).get(f"/api/tickets/{ticket.tracking_code}/history")
        assert (response.status_code, response.json()["error_id"]) == (403, "permission-denied"), username


def test_given_a_ticket_when_looked_up_by_code_then_the_citizens_data_reaches_only_those_who_may_read_its_history(
    site: Site,
) -> None:
    ticket = referred_ticket(site.engine, by=site.operator, unit=WASTE)
    for username in ("flow.operator", "flow.supervisor", "flow.admin"):
        response = site.as_user(username).get(f"/api/tickets/{ticket.tracking_code}")
        assert response.status_code == 200, (username, response.text)
        assert response.json()["caller_number"] == "09121234567"
    liaison = site.as_user("waste.liaison").get(f"/api/tickets/{ticket.tracking_code}")  # the words, not who called
    assert liaison.status_code == 200 and liaison.json()["description"] == "سطل زباله پر است"
    assert liaison.json()["caller_number"] is None and "09121234567" not in liaison.text
    # Another unit; the mayor's office; a field supervisor (never disputed); the inspection office.
    for username in ("light.liaison", "flow.viewer", "flow.field_supervisor", "flow.inspector"):
        response = site.as_user(username).get(f"/api/tickets/{ticket.tracking_code}")
        assert (response.status_code, response.json()["error_id"]) == (403, "permission-denied"), username
        assert "09121234567" not in response.text


def test_given_a_ticket_filed_for_a_unit_but_never_referred_there_then_that_units_liaison_cannot_read_it(
    site: Site,
) -> None:
    with unit_of_work(site.engine) as session:  # an administrator files it with a unit in mind; nobody referred it yet
        admin = session.exec(select(User).where(User.username == "flow.admin")).one()
        category = session.exec(select(Category).where(Category.name == "جمع‌آوری زباله")).one()
        filed = create_ticket(session, data=TicketCreate(
            category_id=category.id or 0, unit_id=unit_id(site.engine, WASTE), description="سطل زباله پر است",
            address="خیابان فردوسی", caller_number="09121234567"), created_by=admin)
        code = filed.tracking_code
        assert filed.status == TicketStatus.REGISTERED
    for path in (f"/api/tickets/{code}", f"/api/tickets/{code}/history"):
        response = site.as_user("waste.liaison").get(path)
        assert (response.status_code, response.json()["error_id"]) == (403, "permission-denied"), path


def test_given_tickets_of_several_kinds_when_the_liaison_opens_the_inbox_then_theirs_with_deadline_and_words(
    site: Site,
) -> None:
    mine = referred_ticket(site.engine, by=site.operator, unit=WASTE)  # 24 h to act
    reopened = referred_ticket(site.engine, by=site.operator, unit=WASTE, description="نخاله رها شده",
                               category="نخاله و مصالح ساختمانی رهاشده")
    referred_ticket(site.engine, by=site.operator, unit=GREENERY)  # another unit's
    liaison = _user(site, "waste.liaison")
    with unit_of_work(site.engine) as session:
        operator = _user(site, "flow.operator")
        for action, actor, note in ((A.ACCEPT, liaison, ""), (A.REPORT_DONE, liaison, "جمع شد"),
                                    (A.REQUEST_VERIFICATION, operator, ""),
                                    (A.VERIFY_NOT_RESOLVED, operator, "هنوز نصف نخاله‌ها مانده")):
            apply_action(session, ticket_id=reopened.id, action=action, actor=actor, note=note)
        later = datetime.now(UTC) + timedelta(hours=30)
        inbox = inbox_for(session, liaison, now=later)

    assert inbox.unit_name == WASTE
    by_code = {item.ticket.tracking_code: item for item in inbox.items}
    assert set(by_code) == {mine.tracking_code, reopened.tracking_code}
    late = by_code[mine.tracking_code]
    assert late.overdue and -6 * 3600 - 60 < late.seconds_left < -6 * 3600 + 60
    assert not by_code[reopened.tracking_code].overdue  # 72 hours for rubble
    assert by_code[reopened.tracking_code].citizen_words == "هنوز نصف نخاله‌ها مانده"
    assert by_code[reopened.tracking_code].status_name == "بازگشایی‌شده"

    response = site.as_user("waste.liaison").get("/api/inbox")
    assert response.status_code == 200
    assert {item["ticket"]["tracking_code"] for item in response.json()["items"]} == set(by_code)
    disputed = act(site.as_user("waste.liaison"), reopened, "dispute", note="همه جمع شده بود")
    assert disputed[0] == 200
    field = site.as_user("flow.field_supervisor").get("/api/inbox").json()
    assert [(i["ticket"]["tracking_code"], i["citizen_words"], i["dispute_note"]) for i in field["items"]] == [
        (reopened.tracking_code, "هنوز نصف نخاله‌ها مانده", "همه جمع شده بود")]
    code, ruled = act(site.as_user("flow.field_supervisor"), reopened, "field_verdict", verdict="unit_right",
                      expected_status="disputed")
    assert (code, ruled["status"]) == (200, "closed_on_verdict")


def test_given_a_liaison_when_logging_in_then_the_inbox_and_the_console_refuses_them(site: Site) -> None:
    client = site.app_client
    assert log_in_sync(client, "waste.liaison", PASSWORD).headers["location"] == "/inbox"
    assert client.get("/inbox", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/console", headers={"Accept": "text/html"}).status_code == 403
    client.cookies.clear()
    assert log_in_sync(client, "flow.field_supervisor", PASSWORD).headers["location"] == "/inbox"


def test_given_the_admin_form_when_adding_a_liaison_then_a_unit_is_required_and_stored(site: Site) -> None:
    client = site.as_user("flow.admin")
    client.get("/admin")
    form = {"username": "new.liaison", "full_name": "رابط تازه", "role": "unit_liaison",
            "password": "liaison-password", "csrf_token": client.cookies["pasokh_csrf"]}
    refused = client.post("/admin/staff", data=form)
    assert refused.status_code == 422 and "برای رابط واحد، واحدی را که پاسخ‌گوی آن است انتخاب کنید." in refused.text
    added = client.post("/admin/staff", data={**form, "unit_id": str(unit_id(site.engine, LIGHTING))})
    assert added.status_code == 200, added.text
    assert _user(site, "new.liaison").unit_id == unit_id(site.engine, LIGHTING)
    operator = {**form, "username": "unit.operator", "role": "operator", "unit_id": str(unit_id(site.engine, WASTE))}
    assert client.post("/admin/staff", data=operator).status_code == 422


def _user(site: Site, username: str) -> User:
    with unit_of_work(site.engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        session.expunge(user)
        return user
