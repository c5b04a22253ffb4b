"""Escalation of overdue tickets: once per round at a unit, an SMS to the unit's manager, an event for supervisors
and the unit's inbox; nothing for tickets within their deadline or out of the unit's hands (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from agent_console.hub import is_for
from callcenter.platform.bus import DomainEvent
from callcenter.platform.notifier import Notifier
from callcenter.platform.persian import persian_digits
from callcenter.tickets.escalation import Escalator
from callcenter.tickets.inbox import inbox_for
from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import Role, SmsMessage, TicketAction, TicketEscalation, Unit, User
from tests.support.paths import REPO_ROOT
from tests.support.ticket_flow import (
    GREENERY,
    WASTE,
    Filed,
    RecordingBus,
    add_staff,
    referred_long_ago,
    referred_ticket,
    unit_id,
)

A = TicketAction
MANAGER = "09351112233"
INBOX_JS = REPO_ROOT / "agent_console" / "static" / "inbox.js"
# Garbage collection has 24 hours (the seed); a day and an hour ago is past the deadline.
OVERDUE = timedelta(hours=25)


def set_manager_phone(engine: sa.Engine, unit: str, phone: str | None) -> None:
    with unit_of_work(engine) as session:
        row = session.get(Unit, unit_id(engine, unit))
        assert row is not None
        row.manager_phone = phone
        session.add(row)
        session.commit()


def escalations(engine: sa.Engine) -> list[tuple[int, int]]:
    with unit_of_work(engine) as session:
        rows = session.exec(select(TicketEscalation).order_by(col(TicketEscalation.id))).all()
        return [(row.ticket_id, row.unit_id) for row in rows]


def escalation_sms(engine: sa.Engine) -> list[SmsMessage]:
    with unit_of_work(engine) as session:
        return list(session.exec(select(SmsMessage).where(col(SmsMessage.dedup_key).startswith("escalation:"))
                                 .order_by(col(SmsMessage.id))).all())


def act(engine: sa.Engine, ticket: Filed, action: TicketAction, actor: User, **extra: Any) -> None:
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=action, actor=actor, **extra)


class World:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.operator = add_staff(engine, "esc.operator", Role.OPERATOR)
        self.liaison = add_staff(engine, "esc.waste", Role.UNIT_LIAISON, unit=WASTE)
        self.bus = RecordingBus()
        self.escalator = Escalator(engine=engine, notifier=Notifier(bus=self.bus))
        set_manager_phone(engine, WASTE, MANAGER)

    def overdue_ticket(self, **details: Any) -> Filed:
        ticket = referred_ticket(self.engine, by=self.operator, unit=WASTE, **details)
        referred_long_ago(self.engine, ticket, by=OVERDUE)
        return ticket

    def escalated_codes(self) -> list[str]:
        return [event.data["ticket"]["tracking_code"] for event in self.bus.events if event.name == "ticket_escalated"]

    def escalated_units(self) -> list[str]:
        return [event.data["ticket"]["unit_name"] for event in self.bus.events if event.name == "ticket_escalated"]


async def test_given_a_ticket_past_its_units_deadline_when_the_job_runs_twice_then_it_is_escalated_once(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    ticket = world.overdue_ticket()

    first = await world.escalator.run()
    second = await world.escalator.run()

    assert (first, second) == (1, 0)
    assert escalations(engine) == [(ticket.id, unit_id(engine, WASTE))]
    assert world.escalated_codes() == [ticket.tracking_code]
    event = next(event for event in world.bus.events if event.name == "ticket_escalated")
    deadline = datetime.fromisoformat(event.data["deadline"])
    assert abs(deadline - (datetime.now(UTC) - timedelta(hours=1))) < timedelta(minutes=1)


async def test_given_an_overdue_ticket_when_escalated_then_an_sms_in_persian_is_queued_to_the_units_manager(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    ticket = world.overdue_ticket()

    await world.escalator.run()

    [sms] = escalation_sms(engine)
    assert (sms.to_number, sms.ticket_id, sms.status) == (MANAGER, ticket.id, "queued")
    assert persian_digits(format_for_reading(ticket.tracking_code)) in sms.body
    assert WASTE in sms.body and "جمع‌آوری زباله" in sms.body and "مهلت رسیدگی" in sms.body


async def test_given_an_escalated_ticket_when_it_is_re_referred_and_the_new_unit_is_late_too_then_it_escalates_again(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    ticket = world.overdue_ticket()
    await world.escalator.run()
    act(engine, ticket, A.RE_REFER, world.operator, unit_id=unit_id(engine, GREENERY))

    assert await world.escalator.run() == 0  # the new unit's clock has just started
    referred_long_ago(engine, ticket, by=OVERDUE)
    assert await world.escalator.run() == 1

    assert world.escalated_units() == [WASTE, GREENERY]
    assert escalations(engine) == [(ticket.id, unit_id(engine, WASTE)), (ticket.id, unit_id(engine, GREENERY))]
    assert len(escalation_sms(engine)) == 1  # the greenery organisation has no manager's number: supervisors only


async def test_given_an_escalated_ticket_when_the_citizen_reopens_it_then_the_new_round_escalates_once_more(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    ticket = world.overdue_ticket()
    await world.escalator.run()
    act(engine, ticket, A.ACCEPT, world.liaison)
    await world.escalator.run()  # accepting is the same round: nothing new
    act(engine, ticket, A.REPORT_DONE, world.liaison, note="جمع شد")
    act(engine, ticket, A.REQUEST_VERIFICATION, world.operator)
    assert await world.escalator.run() == 0  # out of the unit's hands
    act(engine, ticket, A.VERIFY_NOT_RESOLVED, world.operator, note="هنوز پر است")

    await world.escalator.run()
    await world.escalator.run()

    assert world.escalated_codes() == [ticket.tracking_code, ticket.tracking_code]
    assert len(escalation_sms(engine)) == 2


async def test_given_tickets_within_their_deadline_or_no_longer_at_the_unit_then_nothing_is_escalated(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    referred_ticket(engine, by=world.operator, unit=WASTE)  # referred just now: 24 hours left
    rubble = referred_ticket(engine, by=world.operator, unit=WASTE, category="نخاله و مصالح ساختمانی رهاشده")
    referred_long_ago(engine, rubble, by=OVERDUE)  # 72 hours for rubble: still within
    done = world.overdue_ticket(description="سطل شکسته")
    act(engine, done, A.ACCEPT, world.liaison)
    act(engine, done, A.REPORT_DONE, world.liaison, note="تعویض شد")
    declined = world.overdue_ticket(description="مربوط به ما نیست")
    act(engine, declined, A.DECLINE, world.liaison, note="این کار شهرداری منطقه است")

    assert await world.escalator.run() == 0

    assert escalations(engine) == [] and escalation_sms(engine) == [] and world.escalated_codes() == []


async def test_given_a_unit_without_a_managers_mobile_when_its_ticket_is_overdue_then_the_supervisors_still_hear(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    set_manager_phone(engine, WASTE, "02833334444")  # a landline cannot receive the text
    ticket = world.overdue_ticket()

    assert await world.escalator.run() == 1

    assert escalation_sms(engine) == []
    assert world.escalated_codes() == [ticket.tracking_code]


def test_given_two_backend_processes_when_both_find_the_same_overdue_round_then_only_one_escalates_it(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    world.overdue_ticket()
    other = Escalator(engine=engine, notifier=Notifier(bus=RecordingBus()))
    now = datetime.now(UTC)
    seen_here, seen_there = world.escalator._overdue(now), other._overdue(now)  # both looked before either wrote

    assert world.escalator._escalate(seen_here[0], now) is not None
    assert other._escalate(seen_there[0], now) is None
    assert len(escalations(engine)) == 1 and len(escalation_sms(engine)) == 1


async def test_given_an_escalated_ticket_when_the_liaison_opens_the_inbox_then_it_carries_the_escalated_mark(
    engine: sa.Engine,
) -> None:
    world = World(engine)
    escalated = world.overdue_ticket()
    await world.escalator.run()
    late_since_now = world.overdue_ticket(description="سطل دوم")  # overdue, the job has not run since

    with unit_of_work(engine) as session:
        liaison = session.get(User, world.liaison.id)
        assert liaison is not None
        marks = {item.ticket.tracking_code: item.escalated for item in inbox_for(session, liaison).items}

    assert marks == {escalated.tracking_code: True, late_since_now.tracking_code: False}
    script = INBOX_JS.read_text(encoding="utf-8")
    assert "item.escalated" in script and "ارجاع به مدیر واحد" in script and "ticket_escalated" in script


def test_given_an_escalation_event_then_supervisors_and_liaisons_receive_it() -> None:
    event = DomainEvent(seq=1, name="ticket_escalated", data={"ticket": {}})
    for role in (Role.SUPERVISOR, Role.UNIT_LIAISON, Role.FIELD_SUPERVISOR):
        assert is_for(event, role=role, extension=None), role
    assert not is_for(event, role=Role.VIEWER, extension=None)  # the wallboard shows calls, not tickets


async def test_given_one_ticket_failing_to_escalate_when_the_job_runs_then_the_others_are_still_announced(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(engine)
    fine, locked = world.overdue_ticket(), world.overdue_ticket(address="خیابان دیگر")
    real = Escalator._escalate

    def database_locked_for_one(self: Escalator, overdue: Any, now: datetime) -> Any:
        if overdue.ticket_id == locked.id:
            raise sa.exc.OperationalError("INSERT INTO ticket_escalation", {}, Exception("database is locked"))
        return real(self, overdue, now)

    monkeypatch.setattr(Escalator, "_escalate", database_locked_for_one)
    await world.escalator.run()
    assert world.escalated_codes() == [fine.tracking_code]  # committed, so announced now or never

    monkeypatch.setattr(Escalator, "_escalate", real)
    await world.escalator.run()  # the failed one is simply retried
    assert world.escalated_codes() == [fine.tracking_code, locked.tracking_code]
