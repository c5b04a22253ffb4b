"""Verification calls on real Asterisk: click-to-call rings the supervisor's phone then the citizen's (two sipp
phones), the automatic call takes the citizen's key, and no outbound call takes a line while inbound callers wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
from sqlmodel import col, select

from callcenter.platform.errors import LinesNeededForInbound
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import (
    Role,
    TicketAction,
    TicketStatus,
    User,
    VerificationAttempt,
    VerificationOutcome,
    VerificationTask,
)
from tests.support.ami import STREAMED, AmiObserver
from tests.support.backend import CITIZEN_PHONE_PORT, CITIZENS_PORT, OPERATOR_1, SUPERVISOR, RunningBackend
from tests.support.console import operator_in_queue
from tests.support.dtmf_pcap import Keys, Silence
from tests.support.sipp import Sipp, SippResult
from tests.support.ticket_flow import WASTE, Filed, add_staff, referred_ticket, status_of

# Telephony behaviour does not depend on the database kind (the domain tests run on both): once, on SQLite.
pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
CITIZEN = "09121234567"  # the number referred_ticket files


def staff(backend: RunningBackend, username: str) -> User:
    with unit_of_work(backend.engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        session.expunge(user)
        return user


def done_ticket(backend: RunningBackend) -> tuple[Filed, int]:
    """A ticket its unit reported done, and its verification task."""
    liaison = add_staff(backend.engine, "waste-liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(backend.engine, by=staff(backend, OPERATOR_1.username), unit=WASTE)
    with unit_of_work(backend.engine) as session:
        apply_action(session, ticket_id=ticket.id, action=TicketAction.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=ticket.id, action=TicketAction.REPORT_DONE, actor=liaison,
                     note="سطل‌ها تخلیه شد")
        task = session.exec(select(VerificationTask).where(VerificationTask.ticket_id == ticket.id)).one()
        return ticket, task.id or 0


def attempts(backend: RunningBackend) -> list[VerificationAttempt]:
    with unit_of_work(backend.engine) as session:
        rows = list(session.exec(select(VerificationAttempt).order_by(col(VerificationAttempt.id))).all())
        for row in rows:
            session.expunge(row)
        return rows


async def eventually(check: Callable[[], bool], *, timeout: float = 30) -> None:
    for _ in range(int(timeout * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    assert check()


def dialed_citizen(event: Mapping[str, str]) -> bool:
    return event.get("Event") == "DialEnd" and event.get("DestChannel", "").startswith("PJSIP/outbound-trunk-")


async def test_given_a_ticket_reported_done_when_the_supervisor_clicks_call_then_both_phones_ring_and_137_is_shown(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver,
) -> None:
    ticket, task_id = done_ticket(backend)
    citizen = asyncio.create_task(sipp.citizen_answers(local_port=CITIZEN_PHONE_PORT))
    await asyncio.sleep(0.3)  # the citizen's phone listens before anyone calls it
    try:
        listed = await backend.services.web.verification.call_with_supervisor(
            task_id=task_id, supervisor=staff(backend, SUPERVISOR.username))
        assert listed.calling
        [answered] = await ami_observer.wait_for(lambda e: dialed_citizen(e) and e.get("DialStatus") == "ANSWER")
        # The supervisor's own phone rang first and it is the one talking to the citizen.
        assert answered["Channel"].startswith(f"PJSIP/{SUPERVISOR.extension}-")
        assert status_of(backend.engine, ticket) == TicketStatus.AWAITING_VERIFICATION
        # While they talk, the attempt is known to be a conversation (never released as a lost call).
        [picked_up] = await ami_observer.wait_for(lambda e: e.get("UserEvent") == "PasokhVerificationAnswered")
        await eventually(lambda: [(a.dial_status, a.ended_at) for a in attempts(backend)] == [("ANSWER", None)])
        assert picked_up["Attempt"] == str(attempts(backend)[0].id)
        await backend.services.web.ami.hang_up(answered["Channel"])  # the supervisor puts the phone down
    finally:
        result = await citizen
    assert result.successful == 1, result.output[-3000:]
    assert "caller-id 137" in result.output  # the citizen sees the line's number
    await eventually(lambda: [a.dial_status for a in attempts(backend)] == ["ANSWER"])

    await backend.services.web.verification.record_outcome(
        task_id=task_id, outcome=VerificationOutcome.NOT_RESOLVED, by=staff(backend, SUPERVISOR.username),
        note="شهروند می‌گوید سطل‌ها هنوز پر است")
    assert status_of(backend.engine, ticket) == TicketStatus.REOPENED


async def test_given_automatic_verification_when_the_citizen_presses_1_then_the_ticket_is_closed(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver,
) -> None:
    ticket, task_id = done_ticket(backend)
    # The question starts about a second after answering; a key during it is taken. Pressed twice in case
    # the first one lands before the question plays.
    citizen = asyncio.create_task(sipp.citizen_answers(
        local_port=CITIZEN_PHONE_PORT, script=[Silence(3000), Keys("1"), Silence(6000), Keys("1")]))
    await asyncio.sleep(0.3)
    try:
        await backend.services.web.verification.ask_automatic(task_ids=[task_id],
                                                         by=staff(backend, SUPERVISOR.username))
        await eventually(lambda: status_of(backend.engine, ticket) == TicketStatus.VERIFIED, timeout=40)
    finally:
        result = await citizen
    assert result.successful == 1, result.output[-3000:]
    assert "caller-id 137" in result.output
    [attempt] = attempts(backend)
    assert (attempt.key_pressed, attempt.outcome) == ("1", VerificationOutcome.RESOLVED)
    played = [m.group(1) for e in ami_observer.events if e.get("Event") == "AGIExecStart"
              if (m := STREAMED.match(e.get("Command", "")))]
    assert played[0] == "verify_greeting" and played[-1] == "verify_thanks_resolved", played


async def test_given_an_inbound_caller_waiting_when_verifications_are_due_then_no_line_is_taken_until_the_queue_empties(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver,
) -> None:
    ticket, task_id = done_ticket(backend)
    supervisor = staff(backend, SUPERVISOR.username)
    # An operator is in the queue but their phone does not answer (no phones running): the caller waits.
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        waiting: asyncio.Task[SippResult] = asyncio.create_task(
            sipp.citizen_calls(caller="09127776655", digits="1", hold_ms=9000, local_port=CITIZENS_PORT))
        await ami_observer.wait_for(lambda e: e.get("Event") == "QueueCallerJoin", timeout=40)

        with pytest.raises(LinesNeededForInbound, match="منتظر"):
            await backend.services.web.verification.call_with_supervisor(task_id=task_id, supervisor=supervisor)
        await backend.services.web.verification.ask_automatic(task_ids=[task_id], by=supervisor)
        await asyncio.sleep(3)  # three rounds of the dialer
        assert attempts(backend) == []

        # Even a call that slipped past the backend's check is refused by the dialplan, before any ringing.
        await backend.services.web.ami.call_citizen_automatically(citizen_number=CITIZEN, attempt_id=0, ring_seconds=5)
        [refused] = await ami_observer.wait_for(lambda e: e.get("UserEvent") == "PasokhVerificationCall")
        assert refused["DialStatus"] == "REFUSED"
        assert not ami_observer.matching(dialed_citizen)

        citizen = asyncio.create_task(sipp.citizen_answers(
            local_port=CITIZEN_PHONE_PORT, script=[Silence(3000), Keys("1"), Silence(6000), Keys("1")]))
        inbound = await waiting  # the waiting caller gives up and hangs up
    assert inbound.failed == 0, inbound.output[-3000:]
    result = await citizen  # now the automatic call goes out
    assert result.successful == 1, result.output[-3000:]
    await eventually(lambda: status_of(backend.engine, ticket) == TicketStatus.VERIFIED)
    names = [e.get("Event") for e in ami_observer.events]
    answered_at = next(i for i, e in enumerate(ami_observer.events)
                       if dialed_citizen(e) and e.get("DialStatus") == "ANSWER")
    assert "QueueCallerAbandon" in names[:answered_at]  # the citizen's phone rang only after the queue emptied
