"""A 1888 criticism of a named staff member, referred to that staff member's own unit, from a caller who was not
anonymous: the unit's liaison works it through every route and the websocket, the unit's manager gets its
escalation SMS, and none of them learns who called: no number (not even typed into the description or a note),
no call, no recording, no personnel code (issue #15, item 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.platform.bus import InProcessBus
from callcenter.platform.notifier import Notifier
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import load_settings
from callcenter.staff.directory import set_unit_manager_phone
from callcenter.tickets.escalation import Escalator
from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import Call, Category, FeedbackKind, Role, SmsMessage, Ticket, TicketAction, TicketCreate, User
from tests.integration.test_route_access import ACCESS, concrete
from tests.support.backend import TEST_SECRETS
from tests.support.console import accepted_while_listening, log_in_sync
from tests.support.fixtures import WebBackend
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, WASTE, Filed, add_staff, referred_long_ago, unit_id

CALLER = "09127654321"
PERSONNEL_CODE = "4455667"
RECORDING = "1888-20261203-criticism-caller.wav"
LINKEDID = "1764750000.4242"
MANAGER_PHONE = "09351112233"


def who_called() -> list[str]:
    """Every form the caller's identity could take in a page, a JSON answer, an event or an SMS."""
    return [CALLER, persian_digits(CALLER), CALLER[1:], persian_digits(CALLER[1:]), PERSONNEL_CODE,
            persian_digits(PERSONNEL_CODE), RECORDING, LINKEDID]


def criticism_at_the_unit(engine: sa.Engine, operator: User) -> tuple[Filed, int]:
    """The caller named the staff member's personnel code in the 1888 menu and gave their number; the operator
    quoted the number in the description and in the referral note, and sent it to the staff member's unit."""
    with unit_of_work(engine) as session:
        call = Call(linkedid=LINKEDID, line="1888", caller_number=CALLER, feedback_kind=FeedbackKind.CRITICISM,
                    personnel_code=PERSONNEL_CODE, recording=RECORDING)
        session.add(call)
        session.flush()
        category = session.exec(select(Category).where(Category.name == "انتقاد از کارکنان")).one()
        ticket = create_ticket(session, data=TicketCreate(
            category_id=category.id or 0, unit_id=unit_id(engine, WASTE), call_id=call.id,
            description=f"مأمور جمع‌آوری برخورد تند داشت؛ شماره تماس‌گیرنده {persian_digits(CALLER)} است",
            feedback_kind=FeedbackKind.CRITICISM, personnel_code=PERSONNEL_CODE), created_by=operator)
        ticket.recording = RECORDING
        session.add(ticket)
        session.flush()
        assert ticket.id is not None and call.id is not None
        apply_action(session, ticket_id=ticket.id, action=TicketAction.REFER, actor=operator,
                     unit_id=unit_id(engine, WASTE), note=f"با {CALLER} تماس گرفته شد")
        return Filed(id=ticket.id, tracking_code=ticket.tracking_code), call.id


@dataclass
class Unit:
    client: TestClient
    engine: sa.Engine
    operator: User
    criticism: Filed
    call_id: int


@pytest.fixture
def unit(engine: sa.Engine, database_url: str, tmp_path: object) -> Iterator[Unit]:
    operator = add_staff(engine, "crit.operator", Role.OPERATOR)
    add_staff(engine, "crit.liaison", Role.UNIT_LIAISON, unit=WASTE)
    criticism, call_id = criticism_at_the_unit(engine, operator)
    with unit_of_work(engine) as session:
        set_unit_manager_phone(session, unit_id=unit_id(engine, WASTE), phone=MANAGER_PHONE)
        stored = session.get(Ticket, criticism.id)
        assert stored is not None and stored.caller_number == CALLER and not stored.anonymous  # as the setup says
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             state_dir=tmp_path)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as client:
        assert log_in_sync(client, "crit.liaison", PASSWORD).status_code == 303
        yield Unit(client=client, engine=engine, operator=operator, criticism=criticism, call_id=call_id)


def test_given_a_criticism_at_the_criticised_unit_when_its_liaison_walks_every_route_then_no_one_who_called(
    unit: Unit,
) -> None:
    client, code = unit.client, unit.criticism.tracking_code
    answers = {"accept": client.post(f"/api/tickets/{code}/actions", json={"action": "accept"})}
    answers["inbox while accepted"] = client.get("/api/inbox")
    answers["report_done"] = client.post(
        f"/api/tickets/{code}/actions", data={"action": "report_done", "note": "با مأمور صحبت شد"},
        files=[("photos", ("a.jpg", image_bytes("JPEG"), "image/jpeg"))])
    assert answers["accept"].status_code == 200 and answers["report_done"].status_code == 200
    photo_id = client.get(f"/api/tickets/{code}/history").json()[-1]["photos"][0]["id"]
    for method, path in ACCESS:
        allowed = ACCESS[(method, path)]
        if method != "GET" or (allowed is not None and Role.UNIT_LIAISON not in allowed):
            continue
        url = concrete(path).replace("123456784", code).replace("/photos/1", f"/photos/{photo_id}")
        for accept in ("application/json", "text/html"):
            answers[f"{path} ({accept})"] = client.get(url, headers={"Accept": accept})
    answers["recording"] = client.get(f"/api/tickets/{code}/recording")
    answers["call recording"] = client.get(f"/api/calls/{unit.call_id}/recording")
    ticket = answers["/api/tickets/{tracking_code} (application/json)"]
    assert ticket.status_code == 200 and "برخورد تند" in ticket.json()["description"]  # the unit does read it
    assert (ticket.json()["caller_number"], ticket.json()["call_id"], ticket.json()["personnel_code"]) == (
        None, None, None)
    assert answers["recording"].status_code == 403 and answers["call recording"].status_code == 403
    inbox = answers["inbox while accepted"].json()
    assert any(item["ticket"]["id"] == unit.criticism.id for item in inbox["items"])
    for where, answer in answers.items():
        for identity in who_called():
            assert identity not in answer.text, (where, identity)


def test_given_the_same_criticism_when_the_call_center_reads_it_then_the_number_is_still_there(unit: Unit) -> None:
    client = unit.client
    client.cookies.clear()
    assert log_in_sync(client, "crit.operator", PASSWORD).status_code == 303
    ticket = client.get(f"/api/tickets/{unit.criticism.tracking_code}").json()
    assert ticket["caller_number"] == CALLER and CALLER in ticket["description"]  # stored with ASCII digits
    notes = [step["note"] for step in client.get(f"/api/tickets/{unit.criticism.tracking_code}/history").json()]
    assert f"با {CALLER} تماس گرفته شد" in notes


def test_given_the_criticism_overdue_when_the_unit_manager_is_texted_then_the_sms_names_no_caller(
    unit: Unit,
) -> None:
    referred_long_ago(unit.engine, unit.criticism, by=timedelta(days=30))
    escalated = Escalator(engine=unit.engine, notifier=Notifier(bus=InProcessBus())).escalate_overdue()
    assert [(item.ticket.id, item.sms_queued) for item in escalated] == [(unit.criticism.id, True)]
    with unit_of_work(unit.engine) as session:
        texts = session.exec(select(SmsMessage).where(SmsMessage.to_number == MANAGER_PHONE)).all()
    assert len(texts) == 1
    for identity in who_called():
        assert identity not in texts[0].body


async def test_given_the_criticism_when_the_unit_s_liaison_listens_on_the_websocket_then_no_one_who_called(
    web_backend: WebBackend, engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "crit.ws.operator", Role.OPERATOR)
    add_staff(engine, "crit.ws.liaison", Role.UNIT_LIAISON, unit=WASTE)
    criticism, _call_id = criticism_at_the_unit(engine, operator)
    event, accepted = await accepted_while_listening(web_backend.url, "crit.ws.liaison", PASSWORD,
                                                     criticism.tracking_code)
    assert event["data"]["ticket"]["id"] == criticism.id
    for identity in who_called():
        assert identity not in json.dumps(event, ensure_ascii=False)
        assert identity not in accepted
