"""Callback requests and recorded-message tickets on SQLite and PostgreSQL: kept once, in the callers' turn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.intake.callbacks import close_callback, pending_callbacks, position_in_line, request_callback
from callcenter.intake.ivr_requests import DatabaseIntake
from callcenter.platform.bus import InProcessBus
from callcenter.platform.errors import Conflict, ValidationFailed
from callcenter.platform.notifier import Notifier
from callcenter.tickets.store import (
    VoiceMessage,
    create_ticket,
    create_voice_message_ticket,
    tickets_for_caller,
    unclassified_voice_messages,
)
from db.models import (
    Call,
    CallbackStatus,
    CallOutcome,
    Category,
    FeedbackKind,
    Role,
    SmsMessage,
    Ticket,
    TicketCreate,
    TicketSource,
    User,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def a_call(session: Session, linkedid: str, caller: str, *, minutes: int = 0, line: str = "137") -> Call:
    call = Call(linkedid=linkedid, line=line, caller_number=caller, started_at=T0 + timedelta(minutes=minutes))
    session.add(call)
    session.commit()
    session.refresh(call)
    return call


def operator(session: Session) -> User:
    user = session.exec(select(User).where(User.username == "callbacker")).first()
    if user is None:
        user = User(username="callbacker", full_name="کارشناس", role=Role.OPERATOR, password_hash="-")
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def test_given_three_callers_when_they_ask_for_callbacks_then_the_list_keeps_the_order_they_first_called(
    session: Session,
) -> None:
    a_call(session, "c-early", "09120000001", minutes=0)
    a_call(session, "c-late", "09120000002", minutes=5)
    a_call(session, "c-middle", "09120000003", minutes=2)
    late = request_callback(session, line="137", caller_number="09120000002", linkedid="c-late")
    request_callback(session, line="137", caller_number="+989120000001", linkedid="c-early")
    middle = request_callback(session, line="137", caller_number="09120000003", linkedid="c-middle")

    assert [c.caller_number for c in pending_callbacks(session)] == ["09120000001", "09120000003", "09120000002"]
    assert position_in_line(session, late) == 3
    assert position_in_line(session, middle) == 2


def test_given_a_retried_step_or_a_second_call_when_asking_again_then_the_first_request_and_turn_stand(
    session: Session,
) -> None:
    a_call(session, "c-1", "09120000001")
    first = request_callback(session, line="137", caller_number="09120000001", linkedid="c-1")
    assert request_callback(session, line="137", caller_number="09120000001", linkedid="c-1").id == first.id
    a_call(session, "c-2", "09120000001", minutes=30)  # calls again later while still pending
    assert request_callback(session, line="137", caller_number="09120000001", linkedid="c-2").id == first.id
    assert len(pending_callbacks(session)) == 1


def test_given_a_withheld_number_when_asking_for_a_callback_then_refused_clearly(session: Session) -> None:
    with pytest.raises(ValidationFailed) as error:
        request_callback(session, line="137", caller_number="anonymous", linkedid="c-x")
    assert error.value.details["field"] == "caller_number"


def test_given_a_pending_callback_when_closed_twice_then_the_second_is_a_conflict(session: Session) -> None:
    request = request_callback(session, line="137", caller_number="09120000009", linkedid="c-9")
    done = close_callback(session, callback_id=request.id, status=CallbackStatus.DONE,  # type: ignore[arg-type]
                          by=operator(session))
    assert done.status == CallbackStatus.DONE and done.handled_by_id == operator(session).id
    assert pending_callbacks(session) == []
    with pytest.raises(Conflict):
        close_callback(session, callback_id=request.id, status=CallbackStatus.CANCELLED,  # type: ignore[arg-type]
                       by=operator(session))


def message(linkedid: str = "m-1", **changes: object) -> VoiceMessage:
    values: dict[str, object] = {"line": "137", "linkedid": linkedid, "caller_number": "09121234567",
                                 "recording": f"msg-137-{linkedid}.wav", **changes}
    return VoiceMessage(**values)  # type: ignore[arg-type]


def test_given_a_recorded_message_when_filed_twice_then_one_unclassified_ticket_linked_to_its_call(
    session: Session,
) -> None:
    call = a_call(session, "m-1", "09121234567")
    first = create_voice_message_ticket(session, message=message())
    again = create_voice_message_ticket(session, message=message())

    assert again.id == first.id
    assert (first.source, first.category_id, first.unit_id, first.call_id) == (
        TicketSource.VOICE_MESSAGE, None, None, call.id)
    assert [t.tracking_code for t in unclassified_voice_messages(session)] == [first.tracking_code]
    [history] = tickets_for_caller(session, "09121234567")
    assert history.has_recording and history.category_name == ""


def test_given_an_anonymous_1888_message_then_neither_number_nor_call_is_kept(session: Session) -> None:
    a_call(session, "m-2", "09121234567", line="1888")
    ticket = create_voice_message_ticket(session, message=message(
        "m-2", line="1888", caller_number=None, anonymous=True, feedback_kind=FeedbackKind.CRITICISM,
        personnel_code="4711"))
    assert (ticket.caller_number, ticket.call_id, ticket.anonymous) == (None, None, True)
    assert (ticket.feedback_kind, ticket.personnel_code) == (FeedbackKind.CRITICISM, "4711")


def test_given_an_anonymous_call_when_an_operator_files_its_ticket_then_no_number_or_call_is_stored(
    session: Session,
) -> None:
    call = a_call(session, "a-1", "", line="1888")
    call.anonymous, call.feedback_kind, call.personnel_code = True, FeedbackKind.APPRECIATION, "815"
    session.add(call)
    session.commit()
    category = session.exec(select(Category).where(Category.line == "1888")).first()
    assert category is not None
    ticket = create_ticket(session, data=TicketCreate(
        category_id=category.id, unit_id=category.default_unit_id, description="قدردانی از رفتار مأمور",  # type: ignore[arg-type]
        call_id=call.id, caller_number="09120000000"), created_by=operator(session))
    assert (ticket.caller_number, ticket.call_id, ticket.anonymous) == (None, None, True)
    assert (ticket.feedback_kind, ticket.personnel_code) == (FeedbackKind.APPRECIATION, "815")


async def test_given_the_intake_when_a_message_is_left_then_sms_queued_call_settled_and_consoles_told(
    engine: sa.Engine,
) -> None:
    bus = InProcessBus()
    subscription = bus.subscribe()
    intake = DatabaseIntake(engine=engine, notifier=Notifier(bus=bus))
    with Session(engine) as session:
        a_call(session, "m-3", "09121234567")

    code = await intake.leave_message(message("m-3"))
    receipt = await intake.request_callback(line="137", caller_number="09121234567", linkedid="m-3")

    with Session(engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
        [sms] = session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).all()
        assert code in sms.body.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")).replace("-", "")
        call = session.exec(select(Call).where(Call.linkedid == "m-3")).one()
        assert call.outcome == CallOutcome.VOICE_MESSAGE  # the first thing the caller settled for
    assert receipt.position == 1
    assert [(await subscription.get()).name for _ in range(2)] == ["ticket_created", "callback_requested"]


async def test_given_status_links_when_a_message_is_left_then_its_sms_carries_the_link(engine: sa.Engine) -> None:
    intake = DatabaseIntake(engine=engine, notifier=Notifier(bus=InProcessBus()),
                            status_link=lambda code: f"https://137.example/citizen/s/{code}/sig")
    with Session(engine) as session:
        a_call(session, "m-link", "09121234567")
    code = await intake.leave_message(message("m-link"))
    with Session(engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).one()
        [sms] = session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).all()
    assert sms.body.endswith(f"\nپیگیری: https://137.example/citizen/s/{code}/sig")
