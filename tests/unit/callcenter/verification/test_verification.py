"""Verification tasks on a real database (SQLite and PostgreSQL): opened by report-done, closed by the citizen's
answer, retried inside calling hours (holidays skipped) up to a maximum, claimed by one caller at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jdatetime
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.platform.calendar import TEHRAN
from callcenter.platform.errors import Conflict, OutsideCallingHours, ValidationFailed
from callcenter.platform.service_hours import parse_service_hours
from callcenter.tickets.lifecycle import apply_action
from callcenter.verification import tasks as verification
from callcenter.verification.tasks import (
    AUTOMATIC_NOT_RESOLVED_NOTE,
    CallingPolicy,
    ask_automatic,
    begin_attempt,
    due_automatic,
    open_tasks,
    record_answered,
    record_dial_result,
    record_key,
    record_outcome,
    release_lost_calls,
)
from db.engine import unit_of_work
from db.models import (
    Role,
    TicketAction,
    TicketSource,
    TicketStatus,
    User,
    VerificationAttempt,
    VerificationMode,
    VerificationOutcome,
    VerificationTask,
    VerificationTaskStatus,
)
from tests.support.channels import filed_through
from tests.support.ticket_flow import (
    WASTE,
    Filed,
    add_staff,
    bulk_referred_tickets,
    referred_ticket,
    status_of,
    steps_of,
)

A, S, Out, TS = TicketAction, TicketStatus, VerificationOutcome, VerificationTaskStatus
# A Monday at 10:00 in Qazvin (Tehran time): inside the default calling hours.
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=TEHRAN).astimezone(UTC)
ALWAYS = CallingPolicy(hours=parse_service_hours("24/7"), max_attempts=3, retry_after=timedelta(hours=2))


@pytest.fixture
def people(engine: sa.Engine) -> tuple[User, User, User]:
    return (add_staff(engine, "v-operator", Role.OPERATOR),
            add_staff(engine, "v-liaison", Role.UNIT_LIAISON, unit=WASTE),
            add_staff(engine, "v-supervisor", Role.SUPERVISOR))


def reported_done(engine: sa.Engine, people: tuple[User, User, User]) -> Filed:
    operator, liaison, _ = people
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison, note="سطل‌ها تخلیه شد")
    return ticket


def task_of(engine: sa.Engine, ticket: Filed) -> VerificationTask:
    with unit_of_work(engine) as session:
        return session.exec(select(VerificationTask).where(VerificationTask.ticket_id == ticket.id)).one()


def supervisor_calls(engine: sa.Engine, *, task_id: int, by: User, now: datetime = MONDAY_10) -> VerificationAttempt:
    """A supervisor's click-to-call as the backend records it (the call itself is Asterisk's)."""
    with unit_of_work(engine) as session:
        attempt, _ = begin_attempt(session, task_id=task_id, by=by, mode=VerificationMode.MANUAL, policy=ALWAYS,
                                   now=now)
    return attempt


def called(engine: sa.Engine, people: tuple[User, User, User]) -> tuple[Filed, VerificationTask, VerificationAttempt]:
    """A ticket reported done whose citizen the supervisor has just called."""
    ticket = reported_done(engine, people)
    task = task_of(engine, ticket)
    return ticket, task, supervisor_calls(engine, task_id=task.id or 0, by=people[2])


def test_given_a_unit_reports_done_then_one_verification_task_waits_for_a_call(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = reported_done(engine, people)
    task = task_of(engine, ticket)
    assert (task.status, task.attempts, task.mode) == (TS.PENDING, 0, VerificationMode.MANUAL)
    with unit_of_work(engine) as session:
        [listed] = open_tasks(session, policy=ALWAYS).items
    assert (listed.tracking_code, listed.done_note, listed.caller_number, listed.source) == (
        ticket.tracking_code, "سطل‌ها تخلیه شد", "09121234567", TicketSource.OPERATOR)


def test_given_a_ticket_filed_online_when_reported_done_then_the_list_says_it_came_from_the_web(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = filed_through(engine, TicketSource.WEB)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=people[1])
        apply_action(session, ticket_id=ticket.id, action=A.REPORT_DONE, actor=people[1], note="انجام شد")
    with unit_of_work(engine) as session:
        [listed] = open_tasks(session, policy=ALWAYS).items
    assert (listed.tracking_code, listed.source) == (ticket.tracking_code, TicketSource.WEB)


def test_given_more_open_tasks_than_a_page_when_walking_every_page_then_each_comes_once_soonest_due_first(
    engine: sa.Engine,
) -> None:
    """The supervisors' list a page at a time (ADR 0078): every open task once, by next call then id (several
    due at the same moment), the settled ones never, and the count of all of them on every page."""
    ids = bulk_referred_tickets(engine, unit=WASTE, count=17, prefix="V", referred_at=MONDAY_10)
    statuses = (TS.PENDING, TS.GAVE_UP, TS.DONE, TS.CALLING)
    with unit_of_work(engine) as session:
        for n, ticket_id in enumerate(ids):
            session.add(VerificationTask(ticket_id=ticket_id, status=statuses[n % 4],
                                         next_attempt_at=MONDAY_10 + timedelta(hours=n % 5)))
    with unit_of_work(engine) as session:
        tasks = session.exec(select(VerificationTask).where(VerificationTask.status != TS.DONE)).all()
        expected = [task.id for task in sorted(tasks, key=lambda task: (task.next_attempt_at, task.id))]

    walked: list[int | None] = []
    after: str | None = None
    pages = []
    while True:
        with unit_of_work(engine) as session:
            page = open_tasks(session, policy=ALWAYS, after=after, page_size=3)
        pages.append(page)
        walked.extend(task.id for task in page.items)
        if page.next_cursor is None:
            break
        after = page.next_cursor

    assert len(expected) == 13 and walked == expected
    assert len(pages) == 5 and {page.total for page in pages} == {13}


def test_given_a_supervisor_calls_and_the_citizen_says_not_solved_then_the_ticket_reopens_with_their_words(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    supervisor = people[2]
    ticket, task, attempt = called(engine, people)
    assert status_of(engine, ticket) == S.AWAITING_VERIFICATION
    with unit_of_work(engine) as session:
        record_dial_result(session, attempt_id=attempt.id or 0, dial_status="ANSWER", policy=ALWAYS, now=MONDAY_10)
        assert task_of(engine, ticket).status == TS.CALLING  # answered: the supervisor gives the result
        with pytest.raises(ValidationFailed):  # the citizen's words are required
            record_outcome(session, task_id=task.id or 0, outcome=Out.NOT_RESOLVED, by=supervisor, policy=ALWAYS,
                           now=MONDAY_10)
    with unit_of_work(engine) as session:
        record_outcome(session, task_id=task.id or 0, outcome=Out.NOT_RESOLVED, by=supervisor, policy=ALWAYS,
                       now=MONDAY_10, note="سطل‌ها هنوز پر است")
    assert status_of(engine, ticket) == S.REOPENED
    assert steps_of(engine, ticket)[-1] == (A.VERIFY_NOT_RESOLVED, S.AWAITING_VERIFICATION, S.REOPENED,
                                            "سطل‌ها هنوز پر است")
    done = task_of(engine, ticket)
    assert (done.status, done.outcome) == (TS.DONE, Out.NOT_RESOLVED)
    with unit_of_work(engine) as session:
        [stored] = session.exec(select(VerificationAttempt)).all()
        assert (stored.outcome, stored.dial_status) == (Out.NOT_RESOLVED, "ANSWER")


def test_given_a_citizen_who_never_answers_then_retries_in_calling_hours_and_a_holiday_is_skipped(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    # Calling hours end at 20:00; the next day (Tuesday 24 Nov 2026 = 3 Azar 1405) is made a holiday.
    holiday = jdatetime.date.fromgregorian(date=datetime(2026, 11, 24).date())
    policy = CallingPolicy(hours=parse_service_hours("sat-thu 09:00-20:00", [holiday]), max_attempts=3,
                           retry_after=timedelta(hours=2))
    supervisor = people[2]
    ticket = reported_done(engine, people)
    task_id = task_of(engine, ticket).id or 0
    evening = datetime(2026, 11, 23, 19, 0, tzinfo=TEHRAN).astimezone(UTC)
    nexts = []
    for now in (evening, None, None):
        moment = now or nexts[-1]
        with unit_of_work(engine) as session:
            attempt, _ = begin_attempt(session, task_id=task_id, by=supervisor, mode=VerificationMode.MANUAL,
                                       policy=policy, now=moment)
            task = record_dial_result(session, attempt_id=attempt.id or 0, dial_status="NOANSWER", policy=policy,
                                      now=moment)
            assert task is not None
            nexts.append(task.next_attempt_at)
    wednesday_9 = datetime(2026, 11, 25, 9, 0, tzinfo=TEHRAN).astimezone(UTC)
    assert nexts[0] == wednesday_9  # 21:00 is after hours, Tuesday a holiday
    assert nexts[1] == wednesday_9 + timedelta(hours=2)
    final = task_of(engine, ticket)
    assert (final.status, final.attempts, final.outcome) == (TS.GAVE_UP, 3, Out.UNREACHABLE)
    assert status_of(engine, ticket) == S.AWAITING_VERIFICATION  # a supervisor decides what happens now


def test_given_night_when_a_supervisor_tries_to_call_then_refused_in_persian(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    policy = CallingPolicy(hours=parse_service_hours("sat-thu 09:00-20:00"), max_attempts=3,
                           retry_after=timedelta(hours=2))
    ticket = reported_done(engine, people)
    night = datetime(2026, 11, 23, 23, 30, tzinfo=TEHRAN).astimezone(UTC)
    with Session(engine) as session, pytest.raises(OutsideCallingHours, match="خارج از ساعات"):
        begin_attempt(session, task_id=task_of(engine, ticket).id or 0, by=people[2], mode=VerificationMode.MANUAL,
                      policy=policy, now=night)
    assert status_of(engine, ticket) == S.DONE


def test_given_a_call_in_progress_when_a_second_supervisor_clicks_call_then_refused(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = reported_done(engine, people)
    task_id = task_of(engine, ticket).id or 0
    with unit_of_work(engine) as session:
        begin_attempt(session, task_id=task_id, by=people[2], mode=VerificationMode.MANUAL, policy=ALWAYS,
                      now=MONDAY_10)
    with Session(engine) as session, pytest.raises(Conflict):
        begin_attempt(session, task_id=task_id, by=people[2], mode=VerificationMode.MANUAL, policy=ALWAYS,
                      now=MONDAY_10 + timedelta(seconds=20))


def test_given_automatic_verification_when_the_citizen_presses_2_then_reopened_in_the_supervisors_name(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    supervisor = people[2]
    ticket = reported_done(engine, people)
    task_id = task_of(engine, ticket).id or 0
    soon = datetime.now(UTC) + timedelta(seconds=1)
    with unit_of_work(engine) as session:
        ask_automatic(session, task_ids=[task_id], by=supervisor, now=soon)
        [due] = due_automatic(session, now=soon, limit=5)
        attempt, _ = begin_attempt(session, task_id=due.id or 0, by=supervisor, mode=VerificationMode.AUTOMATIC,
                                   policy=ALWAYS, now=soon)
        assert due_automatic(session, now=soon, limit=5) == []  # being called: not due twice
        attempt_id = attempt.id or 0
        record_key(session, attempt_id=attempt_id, key="2", policy=ALWAYS, now=soon)
    assert status_of(engine, ticket) == S.REOPENED
    assert steps_of(engine, ticket)[-1][3] == AUTOMATIC_NOT_RESOLVED_NOTE
    with unit_of_work(engine) as session:
        stored = session.get(VerificationAttempt, attempt_id)
        assert stored is not None and (stored.key_pressed, stored.outcome) == ("2", Out.NOT_RESOLVED)
        # The dialplan's report after the call changes nothing more.
        assert record_dial_result(session, attempt_id=attempt_id, dial_status="ANSWER", policy=ALWAYS,
                                  now=soon) is None


def test_given_an_automatic_call_answered_without_a_key_then_it_counts_as_unreachable(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = reported_done(engine, people)
    task_id = task_of(engine, ticket).id or 0
    soon = datetime.now(UTC) + timedelta(seconds=1)
    with unit_of_work(engine) as session:
        ask_automatic(session, task_ids=[task_id], by=people[2], now=soon)
        attempt, _ = begin_attempt(session, task_id=task_id, by=people[2], mode=VerificationMode.AUTOMATIC,
                                   policy=ALWAYS, now=soon)
        task = record_dial_result(session, attempt_id=attempt.id or 0, dial_status="ANSWER", policy=ALWAYS,
                                  now=soon)
    assert task is not None and (task.status, task.attempts) == (TS.PENDING, 1)
    assert task.next_attempt_at == soon + timedelta(hours=2)


def test_given_the_lines_kept_for_inbound_when_the_call_is_refused_then_no_attempt_is_counted(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = reported_done(engine, people)
    task_id = task_of(engine, ticket).id or 0
    with unit_of_work(engine) as session:
        attempt, _ = begin_attempt(session, task_id=task_id, by=people[2], mode=VerificationMode.MANUAL,
                                   policy=ALWAYS, now=MONDAY_10)
        task = record_dial_result(session, attempt_id=attempt.id or 0, dial_status="REFUSED", policy=ALWAYS,
                                  now=MONDAY_10)
    assert task is not None and (task.status, task.attempts, task.outcome) == (TS.PENDING, 0, Out.NOT_PLACED)
    assert task.next_attempt_at == MONDAY_10 + timedelta(minutes=1)


def test_given_an_anonymous_ticket_when_reported_done_then_no_task_since_nobody_can_be_called(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = referred_ticket(engine, by=people[0], unit=WASTE)
    with unit_of_work(engine) as session:
        session.exec(sa.text("UPDATE ticket SET caller_number = NULL WHERE id = :id").bindparams(id=ticket.id))
        session.commit()
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=people[1])
        apply_action(session, ticket_id=ticket.id, action=A.REPORT_DONE, actor=people[1], note="انجام شد")
        assert session.exec(select(VerificationTask)).all() == []


def test_given_a_call_that_never_reported_back_when_it_is_older_than_any_call_then_it_counts_as_unanswered(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    ticket = reported_done(engine, people)
    task_id = task_of(engine, ticket).id or 0
    with unit_of_work(engine) as session:
        begin_attempt(session, task_id=task_id, by=people[2], mode=VerificationMode.MANUAL, policy=ALWAYS,
                      now=MONDAY_10)
        assert release_lost_calls(session, policy=ALWAYS, now=MONDAY_10 + timedelta(minutes=1)) == []
        [released] = release_lost_calls(session, policy=ALWAYS, now=MONDAY_10 + timedelta(minutes=4))
    assert (released.status, released.attempts, released.outcome) == (TS.PENDING, 1, Out.UNREACHABLE)
    with unit_of_work(engine) as session:
        [attempt] = session.exec(select(VerificationAttempt)).all()
        assert (attempt.dial_status, attempt.outcome) == ("LOST", Out.UNREACHABLE)


def test_given_no_call_placed_through_us_when_not_resolved_is_recorded_without_the_citizens_words_then_nothing_moves(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    # The supervisor called from a desk phone: the ticket is still "done", its task still pending.
    ticket = reported_done(engine, people)
    task = task_of(engine, ticket)
    supervisor = people[2]
    with Session(engine) as session, pytest.raises(ValidationFailed):
        record_outcome(session, task_id=task.id or 0, outcome=Out.NOT_RESOLVED, by=supervisor, note="  ",
                       policy=ALWAYS, now=MONDAY_10)

    assert (task_of(engine, ticket).status, status_of(engine, ticket)) == (TS.PENDING, S.DONE)
    assert [step[0] for step in steps_of(engine, ticket)][-1] == A.REPORT_DONE  # no half step left behind

    with unit_of_work(engine) as session:  # with the citizen's words it goes through, both steps together
        record_outcome(session, task_id=task.id or 0, outcome=Out.NOT_RESOLVED, by=supervisor,
                       note="هنوز زباله‌ها مانده است", policy=ALWAYS, now=MONDAY_10)
    assert (task_of(engine, ticket).status, status_of(engine, ticket)) == (TS.DONE, S.REOPENED)
    assert [step[0] for step in steps_of(engine, ticket)][-2:] == [A.REQUEST_VERIFICATION, A.VERIFY_NOT_RESOLVED]


def test_given_asterisk_reported_no_answer_when_the_supervisor_also_clicks_unreachable_then_one_attempt_counts(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    supervisor = people[2]
    ticket, task, attempt = called(engine, people)
    with unit_of_work(engine) as session:
        record_dial_result(session, attempt_id=attempt.id or 0, dial_status="NOANSWER", policy=ALWAYS,
                           now=MONDAY_10 + timedelta(seconds=40))
        record_outcome(session, task_id=task.id or 0, outcome=Out.UNREACHABLE, by=supervisor, note="بوق آزاد",
                       policy=ALWAYS, now=MONDAY_10 + timedelta(seconds=50))
    counted = task_of(engine, ticket)
    assert (counted.status, counted.attempts) == (TS.PENDING, 1)
    with unit_of_work(engine) as session:
        [stored] = session.exec(select(VerificationAttempt)).all()
        assert (stored.outcome, stored.note) == (Out.UNREACHABLE, "بوق آزاد")

    with unit_of_work(engine) as session:  # later, a call from a desk phone nobody answered counts as a second one
        record_outcome(session, task_id=task.id or 0, outcome=Out.UNREACHABLE, by=supervisor,
                       policy=ALWAYS, now=MONDAY_10 + timedelta(hours=3))
    assert task_of(engine, ticket).attempts == 2


def test_given_an_answered_call_awaiting_its_result_when_two_supervisors_call_again_at_once_then_one_call_goes_out(
    engine: sa.Engine, people: tuple[User, User, User], monkeypatch: pytest.MonkeyPatch,
) -> None:
    supervisor = people[2]
    task_id = task_of(engine, reported_done(engine, people)).id or 0
    with unit_of_work(engine) as session:  # the first call was answered and is over; no result yet: still "calling"
        first, _ = begin_attempt(session, task_id=task_id, by=supervisor, mode=VerificationMode.MANUAL,
                                 policy=ALWAYS, now=MONDAY_10)
        record_dial_result(session, attempt_id=first.id or 0, dial_status="ANSWER", policy=ALWAYS,
                           now=MONDAY_10 + timedelta(minutes=1))
    later = MONDAY_10 + timedelta(minutes=2)
    real_check = verification._last_call_is_live

    def other_click_lands_between(session: Session, task: VerificationTask, now: datetime) -> bool:
        """This click read the task before the other click committed its call: no live call, as it saw it."""
        seen = real_check(session, task, now)
        monkeypatch.setattr(verification, "_last_call_is_live", real_check)
        with unit_of_work(engine) as other:
            begin_attempt(other, task_id=task_id, by=supervisor, mode=VerificationMode.MANUAL, policy=ALWAYS,
                          now=later)
        return seen

    monkeypatch.setattr(verification, "_last_call_is_live", other_click_lands_between)
    with Session(engine) as session, pytest.raises(Conflict):
        begin_attempt(session, task_id=task_id, by=supervisor, mode=VerificationMode.MANUAL, policy=ALWAYS,
                      now=later)

    with unit_of_work(engine) as session:
        assert len(session.exec(select(VerificationAttempt)).all()) == 2  # the first call, and one more


def test_given_a_supervisor_and_a_citizen_talking_for_long_when_the_dialer_looks_for_lost_calls_then_theirs_is_not(
    engine: sa.Engine, people: tuple[User, User, User],
) -> None:
    supervisor = people[2]
    ticket, task, attempt = called(engine, people)
    task_id = task.id or 0
    with unit_of_work(engine) as session:
        record_answered(session, attempt_id=attempt.id or 0)  # the citizen picked up
    with unit_of_work(engine) as session:  # twenty minutes of conversation: not lost, and not to be called again
        assert release_lost_calls(session, policy=ALWAYS, now=MONDAY_10 + timedelta(minutes=20)) == []
    with Session(engine) as session, pytest.raises(Conflict):
        begin_attempt(session, task_id=task_id, by=supervisor, mode=VerificationMode.MANUAL, policy=ALWAYS,
                      now=MONDAY_10 + timedelta(minutes=20))
    assert (task_of(engine, ticket).status, task_of(engine, ticket).attempts) == (TS.CALLING, 0)

    with unit_of_work(engine) as session:  # a day later nothing can still be on: Asterisk lost the call
        [released] = release_lost_calls(session, policy=ALWAYS, now=MONDAY_10 + timedelta(days=1))
    assert (released.status, released.attempts) == (TS.PENDING, 1)
