"""Verifying tickets reported done with the citizen: tasks, call attempts, outcomes, retries in calling hours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from callcenter.platform.errors import Conflict, NotFound, OutsideCallingHours, ValidationFailed
from callcenter.platform.keyset import Cursor, after_in_rank
from callcenter.platform.service_hours import ServiceHours
from callcenter.tickets.lifecycle import OPEN_VERIFICATION_STATUSES as OPEN_STATUSES
from callcenter.tickets.lifecycle import Actor, Citizen, apply_action
from db.engine import all_or_nothing
from db.models import (
    Category,
    OnlineAnswer,
    Ticket,
    TicketAction,
    TicketStatus,
    TicketTransition,
    Unit,
    User,
    VerificationAttempt,
    VerificationMode,
    VerificationOutcome,
    VerificationTask,
    VerificationTaskPublic,
    VerificationTaskStatus,
    status_in,
)

Status, Outcome = VerificationTaskStatus, VerificationOutcome

# How the supervisors' verification list names a task's state and a call's outcome; RECORDED_OUTCOMES are the
# three a supervisor records by hand (not_placed is Asterisk's alone), each moving the ticket as its action does.
STATUS_NAMES: dict[VerificationTaskStatus, str] = {
    Status.PENDING: "در نوبت تماس", Status.CALLING: "در حال تماس", Status.GAVE_UP: "پاسخ نداد (پایان تلاش‌ها)",
    Status.DONE: "ثبت شد",
}
OUTCOME_NAMES: dict[VerificationOutcome, str] = {
    Outcome.UNREACHABLE: "در دسترس نبود", Outcome.NOT_PLACED: "خط آزاد نبود", Outcome.RESOLVED: "رفع شده",
    Outcome.NOT_RESOLVED: "رفع نشده",
}
RECORDED_OUTCOMES: dict[VerificationOutcome, TicketAction | None] = {
    Outcome.RESOLVED: TicketAction.VERIFY_RESOLVED,
    Outcome.NOT_RESOLVED: TicketAction.VERIFY_NOT_RESOLVED,
    Outcome.UNREACHABLE: None,
}
# A call placed this recently without a result is still ringing or talking: a second one would ring the
# citizen twice. Longer than any ring time; after it, a lost result (a supervisor who never picked up) no
# longer blocks the task.
CALL_IN_PROGRESS = timedelta(minutes=3)
# An answered call (the citizen picked up: Asterisk said so) is a conversation, which may be long; only past
# this is one that never reported its end taken for lost (Asterisk restarted mid-call).
ANSWERED_CALL_LIMIT = timedelta(hours=2)
ANSWERED = "ANSWER"
NOT_PLACED_RETRY = timedelta(minutes=1)
AUTOMATIC_NOT_RESOLVED_NOTE = "شهروند در تماس خودکار تأیید، کلید 2 (مشکل برطرف نشده) را زد."
AUTOMATIC_RESOLVED_NOTE = "شهروند در تماس خودکار تأیید، کلید 1 (مشکل برطرف شده) را زد."
KEY_OUTCOMES = {"1": Outcome.RESOLVED, "2": Outcome.NOT_RESOLVED}


@dataclass(frozen=True)
class CallingPolicy:
    """When citizens may be called, how often, and how many times before a supervisor has to decide."""

    hours: ServiceHours
    max_attempts: int
    retry_after: timedelta

    def may_call(self, at: datetime) -> bool:
        return self.hours.is_open(at)

    def next_call_time(self, earliest: datetime) -> datetime:
        """The first moment at or after ``earliest`` inside calling hours (not on a holiday)."""
        if self.hours.always_open:
            return earliest
        opening = self.hours.next_opening(earliest)
        # No window within a month (a misconfiguration): try again in a day rather than never.
        return opening if opening is not None else earliest + timedelta(days=1)


PAGE_SIZE = 50


class VerificationPage(BaseModel):
    """A page of the supervisors' list, the soonest due first; ``next_cursor`` (None on the last page) is what to
    send as ``after`` for the next one (callcenter/platform/keyset.py, ADR 0078)."""

    items: list[VerificationTaskPublic]
    total: int  # every open task, on every page
    page_size: int = PAGE_SIZE
    next_cursor: str | None = None


def open_tasks(session: Session, *, policy: CallingPolicy, after: str | None = None,
               page_size: int = PAGE_SIZE) -> VerificationPage:
    """The supervisors' list a page at a time: the open tasks by next call, then id, after ``after``."""
    # The statuses written out: the predicate of the open tasks' partial index (db/models.py).
    query = select(VerificationTask).where(status_in(*OPEN_STATUSES))
    total = session.exec(select(sa.func.count()).select_from(VerificationTask).where(status_in(*OPEN_STATUSES))).one()
    if after:
        query = query.where(after_in_rank(Cursor.decode(after), col(VerificationTask.next_attempt_at),
                                          col(VerificationTask.id)))
    tasks = session.exec(query.order_by(col(VerificationTask.next_attempt_at), col(VerificationTask.id))
                         .limit(page_size + 1)).all()
    page = tasks[:page_size]
    last = page[-1] if len(tasks) > page_size and page else None
    return VerificationPage(items=[task_public(session, task, policy=policy) for task in page], total=total,
                            page_size=page_size,
                            next_cursor=Cursor(rank=0, moment=last.next_attempt_at, id=last.id or 0).encode()
                            if last is not None else None)


def task_public(session: Session, task: VerificationTask, *, policy: CallingPolicy) -> VerificationTaskPublic:
    ticket = session.get(Ticket, task.ticket_id)
    assert ticket is not None and task.id is not None
    category = session.get(Category, ticket.category_id) if ticket.category_id else None
    unit = session.get(Unit, ticket.unit_id) if ticket.unit_id else None
    done = session.exec(
        select(TicketTransition).where(TicketTransition.ticket_id == ticket.id,
                                       TicketTransition.action == TicketAction.REPORT_DONE)
        .order_by(col(TicketTransition.id).desc())
    ).first()
    link = session.exec(select(OnlineAnswer).where(OnlineAnswer.task_id == task.id,
                                                   col(OnlineAnswer.answered_at).is_(None))).first()
    return VerificationTaskPublic(
        id=task.id, ticket_id=task.ticket_id, tracking_code=ticket.tracking_code, ticket_status=ticket.status.value,
        category_name=category.name if category else "", unit_name=unit.name if unit else "",
        caller_number=ticket.caller_number or "", done_note=done.note if done else "", source=ticket.source,
        status=task.status,
        mode=task.mode, attempts=task.attempts, max_attempts=policy.max_attempts,
        next_attempt_at=task.next_attempt_at, outcome=task.outcome, calling=task.status == Status.CALLING,
        online_answer_until=link.expires_at if link is not None else None,
    )


def get_task(session: Session, task_id: int) -> VerificationTask:
    task = session.get(VerificationTask, task_id)
    if task is None:
        raise NotFound("وظیفه تأیید پیدا نشد.", task_id=task_id)
    return task


def begin_attempt(
    session: Session, *, task_id: int, by: User, mode: VerificationMode, policy: CallingPolicy, now: datetime,
) -> tuple[VerificationAttempt, Ticket]:
    """Record a call about to be placed (the ticket moves to "awaiting verification" on its first call)."""
    task = get_task(session, task_id)
    if task.status == Status.DONE:
        raise Conflict("نتیجه تأیید این درخواست پیش‌تر ثبت شده است.", task_id=task_id)
    if not policy.may_call(now):
        raise OutsideCallingHours("اکنون خارج از ساعات مجاز تماس با شهروندان است.", task_id=task_id)
    if task.status == Status.CALLING and _last_call_is_live(session, task, now):
        raise Conflict("تماسی برای این درخواست در جریان است.", task_id=task_id)
    ticket = session.get(Ticket, task.ticket_id)
    assert ticket is not None and ticket.id is not None and by.id is not None and task.id is not None
    if not ticket.caller_number or not ticket.caller_number.isdigit():
        raise ValidationFailed("برای این درخواست شماره‌ای برای تماس ثبت نشده است.", task_id=task_id)
    _claim(session, task, now)
    attempt = VerificationAttempt(task_id=task.id, mode=mode, placed_by_id=by.id, started_at=now)
    session.add(attempt)
    if ticket.status == TicketStatus.DONE:
        apply_action(session, ticket_id=ticket.id, action=TicketAction.REQUEST_VERIFICATION, actor=by)
    session.flush()
    session.refresh(attempt)
    session.refresh(ticket)
    return attempt, ticket


@all_or_nothing
def record_outcome(
    session: Session, *, task_id: int, outcome: VerificationOutcome, by: User, note: str = "",
    policy: CallingPolicy, now: datetime, attempt_id: int | None = None,
) -> VerificationTask:
    """What the call found. Resolved or not resolved moves the ticket (closed, or back to its unit with the
    citizen's words); unreachable schedules the next attempt in calling hours, or gives up after the last."""
    if outcome == Outcome.NOT_PLACED:
        raise ValidationFailed("نتیجه تماس را انتخاب کنید: رفع شده، رفع نشده یا در دسترس نبود.", field="outcome")
    task = get_task(session, task_id)
    if task.status == Status.DONE:
        raise Conflict("نتیجه تأیید این درخواست پیش‌تر ثبت شده است.", task_id=task_id)
    attempt = _attempt_of(session, task, attempt_id)
    if attempt is None and outcome == Outcome.UNREACHABLE:
        counted = _counted_unanswered(session, task, now)
        if counted is not None:  # Asterisk already counted this call: the supervisor only confirms it
            counted.note = note or counted.note
            session.add(counted)
            session.flush()
            session.refresh(task)
            return task
    if attempt is not None:
        attempt.outcome, attempt.ended_at, attempt.note = outcome, attempt.ended_at or now, note
        session.add(attempt)
    action = RECORDED_OUTCOMES.get(outcome)
    if action is not None:  # the result moves the ticket; any other outcome is another try later
        _settle(session, task=task, outcome=outcome, action=action, by=by, note=note, now=now)
    else:
        _reschedule(task, outcome=outcome, policy=policy, now=now)
        session.add(task)
    session.flush()
    session.refresh(task)
    return task


def record_dial_result(
    session: Session, *, attempt_id: int, dial_status: str, policy: CallingPolicy, now: datetime,
) -> VerificationTask | None:
    """Asterisk's word on the citizen's leg once it is over. An attempt nobody gave a result for becomes
    unreachable (not answered; or, for an automatic call, answered without a key); a manual call that was
    answered waits for the supervisor's result. Returns the task when it changed."""
    attempt = session.get(VerificationAttempt, attempt_id)
    if attempt is None:
        return None
    attempt.dial_status, attempt.ended_at = dial_status[:16], attempt.ended_at or now
    session.add(attempt)
    task = get_task(session, attempt.task_id)
    if attempt.outcome is not None or task.status != Status.CALLING:
        return None
    if dial_status == "ANSWER" and attempt.mode == VerificationMode.MANUAL:
        return None
    outcome = Outcome.NOT_PLACED if dial_status == "REFUSED" else Outcome.UNREACHABLE
    attempt.outcome = outcome
    _reschedule(task, outcome=outcome, policy=policy, now=now)
    session.add(task)
    session.flush()
    session.refresh(task)
    return task


def record_answered(session: Session, *, attempt_id: int) -> None:
    """The citizen picked up: the call is a conversation until Asterisk reports its end."""
    attempt = session.get(VerificationAttempt, attempt_id)
    if attempt is None or attempt.ended_at is not None:
        return
    attempt.dial_status = ANSWERED
    session.add(attempt)


def live_automatic_attempt(session: Session, *, attempt_id: int, now: datetime) -> VerificationAttempt | None:
    """The attempt, if it is an automatic call still under way: its task calling, this its latest call, no
    result and no end reported. FastAGI is told an attempt id by the dialplan; nothing else about the call
    (a manual call, a finished one, a guessed number) may make the automatic question ask or record."""
    attempt = session.get(VerificationAttempt, attempt_id)
    if attempt is None or attempt.mode != VerificationMode.AUTOMATIC:
        return None
    if attempt.outcome is not None or attempt.ended_at is not None or not _may_still_be_on(attempt, now):
        return None
    task = session.get(VerificationTask, attempt.task_id)
    if task is None or task.status != Status.CALLING:
        return None
    latest = _latest_attempt(session, task)
    return attempt if latest is not None and latest.id == attempt.id else None


def record_key(
    session: Session, *, attempt_id: int, key: str, policy: CallingPolicy, now: datetime,
) -> VerificationTask:
    """The citizen's key in an automatic call: 1 resolved, 2 not resolved; recorded in the name of the
    supervisor who asked for automatic calls. Only for an automatic call still under way."""
    outcome = KEY_OUTCOMES.get(key)
    if outcome is None:
        raise ValidationFailed("کلید نامعتبر", key=key)
    attempt = live_automatic_attempt(session, attempt_id=attempt_id, now=now)
    if attempt is None:
        raise Conflict("این تماس تأیید خودکار در جریان نیست.", attempt_id=attempt_id)
    attempt.key_pressed = key
    task = get_task(session, attempt.task_id)
    actor = session.get(User, task.requested_by_id or attempt.placed_by_id)
    assert actor is not None
    note = AUTOMATIC_RESOLVED_NOTE if outcome == Outcome.RESOLVED else AUTOMATIC_NOT_RESOLVED_NOTE
    return record_outcome(session, task_id=task.id or 0, outcome=outcome, by=actor, note=note, policy=policy,
                          now=now, attempt_id=attempt_id)


def ask_automatic(session: Session, *, task_ids: list[int], by: User, now: datetime) -> list[VerificationTask]:
    """Hand tasks to the automatic dialer; its calls' results are recorded in ``by``'s name."""
    changed = []
    for task_id in task_ids:
        task = get_task(session, task_id)
        if task.status == Status.DONE:
            continue
        task.mode, task.requested_by_id = VerificationMode.AUTOMATIC, by.id
        if task.status == Status.PENDING and task.attempts == 0:
            # Never called yet, it waits only for the citizen's online answer (decision 58): the supervisor who
            # asks for the call now decides not to wait, as a click-to-call would.
            task.next_attempt_at = min(task.next_attempt_at, now)
        if task.status == Status.GAVE_UP:  # a supervisor's new request starts a fresh round of attempts
            task.status, task.attempts, task.next_attempt_at = Status.PENDING, 0, now
        session.add(task)
        changed.append(task)
    session.flush()
    for task in changed:
        session.refresh(task)
    return changed


def hand_back_to_supervisors(session: Session, *, task_id: int) -> VerificationTask:
    """An automatic task the dialer can never call (the supervisor who asked is no longer active, the number is
    not one to dial): back on the list as "gave up", to be called by hand, instead of taking a line's turn in
    every round."""
    task = get_task(session, task_id)
    if task.status != Status.DONE:
        task.status, task.mode = Status.GAVE_UP, VerificationMode.MANUAL
        session.add(task)
        session.flush()
        session.refresh(task)
    return task


def release_lost_calls(session: Session, *, policy: CallingPolicy, now: datetime) -> list[VerificationTask]:
    """Calls that never reported back (Asterisk restarted mid-call, a supervisor who never picked up) count as
    unreachable once they are older than any call can be, so their tasks are called again instead of waiting
    forever in "calling"."""
    silent = session.exec(
        select(VerificationAttempt).join(VerificationTask, col(VerificationTask.id) == VerificationAttempt.task_id)
        .where(VerificationTask.status == Status.CALLING, col(VerificationAttempt.ended_at).is_(None),
               col(VerificationAttempt.outcome).is_(None), col(VerificationAttempt.started_at) < now - CALL_IN_PROGRESS)
    ).all()
    released = []
    for attempt in silent:
        if _may_still_be_on(attempt, now):
            continue
        task = record_dial_result(session, attempt_id=attempt.id or 0, dial_status="LOST", policy=policy, now=now)
        if task is not None:
            released.append(task)
    return released


def due_automatic(session: Session, *, now: datetime, limit: int) -> list[VerificationTask]:
    """Automatic tasks whose next call is due, the longest waiting first."""
    return list(session.exec(
        select(VerificationTask).where(
            VerificationTask.mode == VerificationMode.AUTOMATIC, VerificationTask.status == Status.PENDING,
            col(VerificationTask.next_attempt_at) <= now,
        ).order_by(col(VerificationTask.next_attempt_at), col(VerificationTask.id)).limit(limit)
    ).all())


def record_citizen_answer(
    session: Session, *, task_id: int, outcome: VerificationOutcome, citizen: Citizen, note: str, now: datetime,
    with_step: Callable[[Session, TicketTransition], None] | None = None,
) -> TicketTransition:
    """The citizen's own answer through a public channel (the SMS link, callcenter/citizens/online_answers.py):
    the task settles and the ticket moves exactly as a call's result would, the step in the citizen's name."""
    action = RECORDED_OUTCOMES.get(outcome)
    if action is None:
        raise ValidationFailed("پاسخ را انتخاب کنید: رفع شده یا رفع نشده.", field="outcome")
    task = get_task(session, task_id)
    if task.status == Status.DONE:
        raise Conflict("نتیجه تأیید این درخواست پیش‌تر ثبت شده است.", task_id=task_id)
    step = _settle(session, task=task, outcome=outcome, action=action, by=citizen, note=note, now=now,
                   with_step=with_step)
    session.refresh(task)
    return step


def _settle(session: Session, *, task: VerificationTask, outcome: VerificationOutcome, action: TicketAction,
            by: Actor, note: str, now: datetime,
            with_step: Callable[[Session, TicketTransition], None] | None = None) -> TicketTransition:
    ticket = session.get(Ticket, task.ticket_id)
    assert ticket is not None and ticket.id is not None
    task.status, task.outcome, task.closed_at = Status.DONE, outcome, now
    session.add(task)
    if ticket.status == TicketStatus.DONE:  # a result recorded without a call placed through us (a desk phone)
        # Stands only with the result, in the same transaction: a refused result raises and the edge rolls back.
        apply_action(session, ticket_id=ticket.id, action=TicketAction.REQUEST_VERIFICATION, actor=by)
    return apply_action(session, ticket_id=ticket.id, action=action, actor=by, note=note, with_step=with_step)


def _reschedule(task: VerificationTask, *, outcome: VerificationOutcome, policy: CallingPolicy,
                now: datetime) -> None:
    task.outcome = outcome
    if outcome == Outcome.NOT_PLACED:  # the lines were needed for inbound calls: not the citizen's doing
        task.status, task.next_attempt_at = Status.PENDING, policy.next_call_time(now + NOT_PLACED_RETRY)
        return
    task.attempts += 1
    if task.attempts >= policy.max_attempts:
        task.status = Status.GAVE_UP
        return
    task.status, task.next_attempt_at = Status.PENDING, policy.next_call_time(now + policy.retry_after)


def _claim(session: Session, task: VerificationTask, now: datetime) -> None:
    """Compare-and-set to "calling": of two rounds (or two clicks) reaching the same task, one places the call.

    The status alone would not tell two claims apart when the task is already "calling" (a supervisor's answered
    call stays so until its result), so each claim also moves ``next_attempt_at`` (unused while calling) and
    compares it: the second of two claims made from the same reading finds it changed."""
    claimed = session.exec(
        sa.update(VerificationTask)
        .where(col(VerificationTask.id) == task.id, col(VerificationTask.status) == task.status,
               col(VerificationTask.next_attempt_at) == task.next_attempt_at)
        .values(status=Status.CALLING, next_attempt_at=_later_than(task.next_attempt_at, now))
    )
    if claimed.rowcount != 1:
        raise Conflict("تماسی برای این درخواست هم‌اکنون گرفته شده است.", task_id=task.id)
    session.expire(task)


def _later_than(previous: datetime, now: datetime) -> datetime:
    """``now``, unless a claim in the same microsecond left exactly that: the claim must change the value."""
    return now if now > previous else previous + timedelta(microseconds=1)


def _attempt_of(session: Session, task: VerificationTask, attempt_id: int | None) -> VerificationAttempt | None:
    """The attempt a result belongs to: the one named, else the task's latest still without a result."""
    if attempt_id is not None:
        attempt = session.get(VerificationAttempt, attempt_id)
        if attempt is None or attempt.task_id != task.id:
            raise NotFound("تماس تأیید پیدا نشد.", attempt_id=attempt_id)
        return attempt
    return session.exec(
        select(VerificationAttempt).where(VerificationAttempt.task_id == task.id,
                                          col(VerificationAttempt.outcome).is_(None))
        .order_by(col(VerificationAttempt.id).desc())
    ).first()


def _latest_attempt(session: Session, task: VerificationTask) -> VerificationAttempt | None:
    return session.exec(
        select(VerificationAttempt).where(VerificationAttempt.task_id == task.id)
        .order_by(col(VerificationAttempt.id).desc())
    ).first()


def _counted_unanswered(session: Session, task: VerificationTask, now: datetime) -> VerificationAttempt | None:
    """The task's latest call, if Asterisk reported it unanswered a moment ago (not a new call from a desk
    phone, which the supervisor's "unreachable" should count)."""
    last = _latest_attempt(session, task)
    if last is None or last.outcome != Outcome.UNREACHABLE or last.ended_at is None:
        return None
    return last if now - last.ended_at < CALL_IN_PROGRESS else None


def _last_call_is_live(session: Session, task: VerificationTask, now: datetime) -> bool:
    last = _latest_attempt(session, task)
    return last is not None and last.ended_at is None and _may_still_be_on(last, now)


def _may_still_be_on(attempt: VerificationAttempt, now: datetime) -> bool:
    """A call without its end reported: ringing for a few minutes at most, talking for up to two hours."""
    limit = ANSWERED_CALL_LIMIT if attempt.dial_status == ANSWERED else CALL_IN_PROGRESS
    return now - attempt.started_at < limit
