"""The verification dialer against a scripted Asterisk: it places no more calls than free outbound lines, none
while inbound callers wait, and turns the dialplan's report into a retry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from callcenter.platform.bus import InProcessBus
from callcenter.platform.errors import LinesNeededForInbound
from callcenter.platform.notifier import Notifier
from callcenter.platform.service_hours import parse_service_hours
from callcenter.telephony.asterisk_actions import LineUse
from callcenter.tickets.lifecycle import apply_action
from callcenter.verification.dialer import VerificationDialer
from callcenter.verification.tasks import CallingPolicy
from db.engine import unit_of_work
from db.models import Role, TicketAction, User, VerificationMode, VerificationTask, VerificationTaskStatus
from tests.support.asterisk_fakes import RecordingAsterisk
from tests.support.ticket_flow import WASTE, add_staff, referred_ticket

MAX_OUTBOUND = 2
MAX_LINES = 30


class ScriptedAsterisk(RecordingAsterisk):
    """Answers Getvar with the line use the test sets, and keeps every Originate it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.use = LineUse(outbound=0, inbound_waiting=0)
        self.originated: list[dict[str, str]] = []

    async def action(self, action: dict[str, str]) -> Mapping[str, Any]:
        if action["Action"] != "Getvar":
            self.originated.append(action)
            return await super().action(action)
        lines = {"GROUP_COUNT(outbound@pasokh)": self.use.outbound, "GROUP_COUNT(inbound@pasokh)": self.use.inbound,
                 "QUEUE_WAITING_COUNT(line137)": self.use.inbound_waiting}
        return {"Response": "Success", "Value": str(lines.get(action["Variable"], 0))}


@pytest.fixture
def asterisk() -> ScriptedAsterisk:
    return ScriptedAsterisk()


@pytest.fixture
def bus() -> InProcessBus:
    return InProcessBus()


@pytest.fixture
def dialer(engine: sa.Engine, asterisk: ScriptedAsterisk, bus: InProcessBus) -> VerificationDialer:
    policy = CallingPolicy(hours=parse_service_hours("24/7"), max_attempts=3, retry_after=timedelta(hours=1))
    return VerificationDialer(engine=engine, ami=asterisk, notifier=Notifier(bus=bus), policy=policy,
                              max_outbound=MAX_OUTBOUND, max_lines=MAX_LINES, ring_seconds=20)


def tasks_reported_done(engine: sa.Engine, count: int) -> tuple[User, list[int]]:
    operator = add_staff(engine, "d-operator", Role.OPERATOR)
    liaison = add_staff(engine, "d-liaison", Role.UNIT_LIAISON, unit=WASTE)
    supervisor = add_staff(engine, "d-supervisor", Role.SUPERVISOR)
    for _ in range(count):
        ticket = referred_ticket(engine, by=operator, unit=WASTE)
        with unit_of_work(engine) as session:
            apply_action(session, ticket_id=ticket.id, action=TicketAction.ACCEPT, actor=liaison)
            apply_action(session, ticket_id=ticket.id, action=TicketAction.REPORT_DONE, actor=liaison, note="شد")
    with unit_of_work(engine) as session:
        return supervisor, [t.id or 0 for t in session.exec(select(VerificationTask)).all()]


def statuses(engine: sa.Engine) -> list[VerificationTaskStatus]:
    with unit_of_work(engine) as session:
        return sorted(t.status for t in session.exec(select(VerificationTask)).all())


async def test_given_one_outbound_line_busy_when_three_automatic_tasks_are_due_then_only_one_is_dialed(
    engine: sa.Engine, asterisk: ScriptedAsterisk, dialer: VerificationDialer,
) -> None:
    supervisor, task_ids = tasks_reported_done(engine, 3)
    await dialer.ask_automatic(task_ids=task_ids, by=supervisor)
    asterisk.use = LineUse(outbound=MAX_OUTBOUND - 1, inbound_waiting=0)

    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1)) == 1
    [call] = asterisk.originated
    assert call["Channel"] == "Local/09121234567@pasokh-verify" and call["Context"] == "pasokh-verify-automatic"
    assert statuses(engine).count(VerificationTaskStatus.CALLING) == 1

    asterisk.use = LineUse(outbound=MAX_OUTBOUND, inbound_waiting=0)  # the share is full
    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1)) == 0
    assert len(asterisk.originated) == 1


async def test_given_inbound_callers_waiting_when_tasks_are_due_then_nothing_is_dialed(
    engine: sa.Engine, asterisk: ScriptedAsterisk, dialer: VerificationDialer,
) -> None:
    supervisor, task_ids = tasks_reported_done(engine, 2)
    await dialer.ask_automatic(task_ids=task_ids, by=supervisor)
    asterisk.use = LineUse(outbound=0, inbound_waiting=1)

    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1)) == 0
    with pytest.raises(LinesNeededForInbound, match="منتظر"):
        await dialer.call_with_supervisor(task_id=task_ids[0], supervisor=supervisor.model_copy(
            update={"extension": "1900"}))
    assert asterisk.originated == []
    assert statuses(engine) == [VerificationTaskStatus.PENDING] * 2


async def test_given_the_dialplan_reports_no_answer_then_the_task_waits_for_its_retry_and_the_list_is_told(
    engine: sa.Engine, asterisk: ScriptedAsterisk, dialer: VerificationDialer, bus: InProcessBus,
) -> None:
    supervisor, [task_id] = tasks_reported_done(engine, 1)
    events = bus.subscribe()
    await dialer.ask_automatic(task_ids=[task_id], by=supervisor)
    await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1))
    attempt_id = asterisk.originated[0]["Variable"].split("=")[1]

    await dialer.on_user_event({"Event": "UserEvent", "UserEvent": "PasokhVerificationCall", "Attempt": attempt_id,
                                "DialStatus": "NOANSWER"})
    with unit_of_work(engine) as session:
        task = session.get(VerificationTask, task_id)
        assert task is not None and (task.status, task.attempts) == (VerificationTaskStatus.PENDING, 1)
    names = []
    while not events._queue.empty():
        names.append(events._queue.get_nowait().name)
    assert names.count("verification_changed") == 3  # handed over, called, no answer
    assert "ticket_changed" in names  # the first call moved the ticket to "awaiting verification"


async def test_given_a_task_its_supervisor_can_no_longer_call_when_due_first_then_handed_back_and_the_next_is_dialed(
    engine: sa.Engine, asterisk: ScriptedAsterisk, dialer: VerificationDialer,
) -> None:
    supervisor, task_ids = tasks_reported_done(engine, 2)
    await dialer.ask_automatic(task_ids=task_ids[:1], by=supervisor)
    other = add_staff(engine, "d-supervisor-2", Role.SUPERVISOR)
    await dialer.ask_automatic(task_ids=task_ids[1:], by=other)
    with unit_of_work(engine) as session:  # the first supervisor leaves; their task is due first
        leaver = session.get(User, supervisor.id)
        assert leaver is not None
        leaver.is_active = False
        session.add(leaver)
        session.commit()

    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=2)) == 0  # and it stays out of the rounds

    with unit_of_work(engine) as session:
        first, second = (session.get(VerificationTask, task_id) for task_id in task_ids)
        assert first is not None and second is not None
        assert (first.status, first.mode) == (VerificationTaskStatus.GAVE_UP, VerificationMode.MANUAL)
        assert second.status == VerificationTaskStatus.CALLING
    assert len(asterisk.originated) == 1


async def test_given_29_of_30_lines_busy_with_citizens_when_tasks_are_due_then_one_call_takes_the_last_line(
    engine: sa.Engine, asterisk: ScriptedAsterisk, dialer: VerificationDialer,
) -> None:
    supervisor, task_ids = tasks_reported_done(engine, 3)
    await dialer.ask_automatic(task_ids=task_ids[:2], by=supervisor)
    # Citizens in the menus and in conversations (none waiting in a queue) hold 29 lines.
    asterisk.use = LineUse(outbound=0, inbound=MAX_LINES - 1, inbound_waiting=0)

    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1)) == 1

    asterisk.use = LineUse(outbound=1, inbound=MAX_LINES - 1, inbound_waiting=0)  # every line taken now
    with pytest.raises(LinesNeededForInbound, match="همه خطوط"):
        await dialer.call_with_supervisor(task_id=task_ids[2], supervisor=supervisor.model_copy(
            update={"extension": "1900"}))
    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=2)) == 0
    assert len(asterisk.originated) == 1
