"""Least data, through every route as each role: who called reaches the call center only, tickets by code reach
each role within its scope, unit managers' mobiles reach the administrator only (callcenter/platform/privacy.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import load_settings
from callcenter.staff.directory import set_unit_manager_phone
from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import STAFF_ROLES, Category, FeedbackKind, Role, TicketAction, TicketCreate, Unit, User
from tests.integration.test_route_access import ACCESS, concrete
from tests.support.backend import TEST_SECRETS
from tests.support.console import accepted_while_listening, log_in_sync
from tests.support.fixtures import WebBackend
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, WASTE, Filed, add_staff, referred_ticket, unit_id

A = TicketAction
CITIZEN = "09127654321"
DESK_CITIZEN = "09131112233"
PERSONNEL_CODE = "4455667"
MANAGER_PHONE = "09351112233"
INSPECTION = "مدیریت بازرسی"


def a_1888_criticism(engine: sa.Engine, by: User) -> Filed:
    """A citizen's criticism of a named staff member, referred to the inspection unit."""
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.name == "انتقاد از کارکنان")).one()
        ticket = create_ticket(session, data=TicketCreate(
            category_id=category.id or 0, unit_id=unit_id(engine, INSPECTION), description="برخورد نامناسب در باجه",
            caller_number=CITIZEN, feedback_kind=FeedbackKind.CRITICISM, personnel_code=PERSONNEL_CODE),
            created_by=by)
        assert ticket.id is not None
        apply_action(session, ticket_id=ticket.id, action=A.REFER, actor=by, unit_id=unit_id(engine, INSPECTION))
        return Filed(id=ticket.id, tracking_code=ticket.tracking_code)


@dataclass
class City:
    client: TestClient
    engine: sa.Engine
    operator: User
    criticism: Filed

    def as_user(self, username: str) -> TestClient:
        self.client.cookies.clear()
        self.client.headers.pop("X-CSRF-Token", None)
        assert log_in_sync(self.client, username, PASSWORD).status_code == 303
        self.client.headers["X-CSRF-Token"] = self.client.cookies["pasokh_csrf"]
        return self.client


@pytest.fixture
def city(engine: sa.Engine, database_url: str, tmp_path: object) -> Iterator[City]:
    operator = add_staff(engine, "least.operator", Role.OPERATOR)
    add_staff(engine, "inspection.liaison", Role.UNIT_LIAISON, unit=INSPECTION)
    add_staff(engine, "waste.liaison", Role.UNIT_LIAISON, unit=WASTE)
    for role in (Role.SUPERVISOR, Role.ADMIN, Role.VIEWER, Role.FIELD_SUPERVISOR, Role.INSPECTOR,
                 Role.HEAD_OF_INSPECTION, Role.DESK):
        add_staff(engine, f"least.{role.value}", role)
    criticism = a_1888_criticism(engine, operator)
    with unit_of_work(engine) as session:
        set_unit_manager_phone(session, unit_id=unit_id(engine, WASTE), phone=MANAGER_PHONE)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        yield City(client=client, engine=engine, operator=operator, criticism=criticism)


def test_given_a_1888_ticket_at_a_unit_when_its_liaison_walks_every_route_then_no_number_and_no_personnel_code(
    city: City,
) -> None:
    client = city.as_user("inspection.liaison")
    code = city.criticism.tracking_code
    accepted = client.post(f"/api/tickets/{code}/actions", json={"action": "accept"})
    assert accepted.status_code == 200, accepted.text
    done = client.post(f"/api/tickets/{code}/actions", data={"action": "report_done", "note": "بررسی شد"},
                       files=[("photos", ("a.jpg", image_bytes("JPEG"), "image/jpeg"))])
    assert done.status_code == 200, done.text
    history = client.get(f"/api/tickets/{code}/history").json()
    photo_id = history[-1]["photos"][0]["id"]
    answers = {"accept": accepted, "report_done": done}
    for method, path in ACCESS:
        allowed = ACCESS[(method, path)]
        if method != "GET" or (allowed is not None and Role.UNIT_LIAISON not in allowed):
            continue
        url = concrete(path).replace("123456784", code).replace("/photos/1", f"/photos/{photo_id}")
        answers[path] = client.get(url, headers={"Accept": "application/json"})
    assert answers["/api/tickets/{tracking_code}"].status_code == 200
    assert answers["/api/tickets/{tracking_code}/photos/{photo_id}"].status_code == 200
    assert answers["/api/tickets/{tracking_code}"].json()["description"] == "برخورد نامناسب در باجه"
    for where, answer in answers.items():
        assert CITIZEN.encode() not in answer.content, where
        assert PERSONNEL_CODE.encode() not in answer.content, where
    ticket = answers["/api/tickets/{tracking_code}"].json()
    assert (ticket["caller_number"], ticket["personnel_code"], ticket["call_id"]) == (None, None, None)


def test_given_the_same_ticket_when_the_call_center_reads_it_then_it_still_sees_who_called(city: City) -> None:
    for username in ("least.operator", "least.supervisor", "least.admin"):
        ticket = city.as_user(username).get(f"/api/tickets/{city.criticism.tracking_code}").json()
        assert (ticket["caller_number"], ticket["personnel_code"]) == (CITIZEN, PERSONNEL_CODE), username


def test_given_a_field_supervisor_when_reading_tickets_by_code_then_only_those_that_were_disputed(
    city: City,
) -> None:
    plain = referred_ticket(city.engine, by=city.operator, unit=WASTE, description="سطل پر است")
    disputed = referred_ticket(city.engine, by=city.operator, unit=WASTE, description="نخاله")
    with unit_of_work(city.engine) as session:
        liaison = session.exec(select(User).where(User.username == "waste.liaison")).one()
        for action, actor, note in ((A.ACCEPT, liaison, ""), (A.REPORT_DONE, liaison, "جمع شد"),
                                    (A.REQUEST_VERIFICATION, city.operator, ""),
                                    (A.VERIFY_NOT_RESOLVED, city.operator, "هنوز مانده"),
                                    (A.DISPUTE, liaison, "همه جمع شده بود")):
            apply_action(session, ticket_id=disputed.id, action=action, actor=actor, note=note)
    client = city.as_user("least.field_supervisor")
    for path in ("", "/history"):
        assert client.get(f"/api/tickets/{disputed.tracking_code}{path}").status_code == 200
        refused = client.get(f"/api/tickets/{plain.tracking_code}{path}")
        assert (refused.status_code, refused.json()["error_id"]) == (403, "permission-denied")
        assert "ناظر میدانی" in refused.json()["message"]
    ticket = client.get(f"/api/tickets/{disputed.tracking_code}").json()
    assert ticket["caller_number"] is None and ticket["description"] == "نخاله"
    inbox = client.get("/api/inbox").json()
    assert [item["ticket"]["caller_number"] for item in inbox["items"]] == [None]


def test_given_the_inspection_office_when_reading_a_ticket_by_code_then_refused(city: City) -> None:
    client = city.as_user("least.inspector")
    for path in ("", "/history"):
        response = client.get(f"/api/tickets/{city.criticism.tracking_code}{path}")
        assert (response.status_code, response.json()["error_id"]) == (403, "permission-denied")
        assert CITIZEN not in response.text
    assert client.get("/api/scorecard").status_code == 200  # what the office reads: the units' aggregates


def test_given_the_service_desk_when_it_walks_every_route_it_may_then_no_citizen_s_number_not_even_on_its_receipt(
    city: City,
) -> None:
    client = city.as_user("least.desk")
    with unit_of_work(city.engine) as session:
        category = session.exec(select(Category).where(Category.name == "جمع‌آوری زباله")).one()
        district = session.exec(select(Unit).where(Unit.name == "منطقه دو")).one()
    filed = client.post("/desk", data={"category_id": str(category.id), "district_id": str(district.id),
                                       "address": "میدان آزادی", "description": "سطل زباله شکسته است",
                                       "mobile": DESK_CITIZEN, "request_id": "least-data-desk"},
                        follow_redirects=False)
    assert filed.status_code == 303, filed.text
    own = filed.headers["location"].rsplit("/", 1)[1]
    answers = {}
    for method, path in ACCESS:
        allowed = ACCESS[(method, path)]
        if method != "GET" or (allowed is not None and Role.DESK not in allowed):
            continue
        answers[path] = client.get(concrete(path).replace("123456784", own), headers={"Accept": "application/json"})
    assert answers["/desk/receipts/{tracking_code}"].status_code == 200
    assert answers["/desk/receipts/{tracking_code}.pdf"].status_code == 200
    for where, answer in answers.items():
        for number in (CITIZEN, DESK_CITIZEN):  # the 1888 caller's, and the desk's own citizen's
            for shown in (number, persian_digits(number)):
                assert shown.encode() not in answer.content, where
        assert PERSONNEL_CODE.encode() not in answer.content, where
    refused = client.get(f"/api/tickets/{city.criticism.tracking_code}", headers={"Accept": "application/json"})
    assert refused.status_code == 403


@pytest.mark.parametrize("role", list(STAFF_ROLES))
def test_given_a_role_when_reading_the_reference_data_then_unit_managers_mobiles_only_for_the_administrator(
    city: City, role: Role,
) -> None:
    username = {Role.UNIT_LIAISON: "waste.liaison", Role.OPERATOR: "least.operator"}.get(role, f"least.{role.value}")
    response = city.as_user(username).get("/api/reference")
    assert response.status_code == 200
    waste = next(unit for unit in response.json()["units"] if unit["name"] == WASTE)
    if role == Role.ADMIN:
        assert waste["manager_phone"] == MANAGER_PHONE
    else:
        assert "manager_phone" not in waste and MANAGER_PHONE not in response.text


async def test_given_a_liaison_on_the_websocket_when_their_ticket_moves_then_the_event_carries_no_one_who_called(
    web_backend: WebBackend, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "ws.operator", Role.OPERATOR)
    add_staff(engine, "ws.liaison", Role.UNIT_LIAISON, unit=INSPECTION)
    criticism = a_1888_criticism(engine, operator)
    event, _accepted = await accepted_while_listening(web_backend.url, "ws.liaison", PASSWORD,
                                                      criticism.tracking_code)
    assert event["data"]["ticket"]["id"] == criticism.id
    assert CITIZEN not in json.dumps(event) and PERSONNEL_CODE not in json.dumps(event)
