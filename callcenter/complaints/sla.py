"""Each ground's time limit in working days: a complaint's due moment, the head's edits of the limits, and the
escalation job that marks an overdue open complaint once for the head of its desk."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

import jdatetime
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.complaints.lifecycle import OPEN_STATUSES
from callcenter.platform.calendar import in_tehran, jalali_day, tehran_midnight
from callcenter.platform.errors import PermissionDenied, ValidationFailed
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround, ComplaintGroundSla, Role, User, utcnow

log = logging.getLogger(__name__)

FRIDAY = 6  # jdatetime's weekday(): Saturday is 0; the municipality's offices are closed on Fridays
FALLBACK_WORKING_DAYS = 15  # a ground without a row (none in a seeded database): the office's usual limit
MAX_WORKING_DAYS = 365
ESCALATION_EVERY = timedelta(minutes=15)


def is_working_day(day: date, holidays: frozenset[jdatetime.date] = frozenset()) -> bool:
    jalali = jalali_day(day)
    return jalali.weekday() != FRIDAY and jalali not in holidays


def after_working_days(start: datetime, working_days: int, holidays: Iterable[jdatetime.date] = ()) -> datetime:
    """The end (Tehran midnight after) of the ``working_days``-th working day after the day of ``start``."""
    closed = frozenset(holidays)
    day, counted = in_tehran(start).date(), 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day, closed):
            counted += 1
    return tehran_midnight(day + timedelta(days=1))


def working_days_for(session: Session, ground: ComplaintGround) -> int:
    row = session.get(ComplaintGroundSla, ground)
    return row.working_days if row is not None else FALLBACK_WORKING_DAYS


def due_at(session: Session, ground: ComplaintGround, created_at: datetime,
           holidays: Iterable[jdatetime.date] = ()) -> datetime:
    """When a complaint filed at ``created_at`` on ``ground`` is due (intake sets it at filing)."""
    return after_working_days(created_at, working_days_for(session, ground), holidays)


def limits(session: Session) -> dict[ComplaintGround, int]:
    """Every ground's working days, in the enum's order (the head's page)."""
    return {ground: working_days_for(session, ground) for ground in ComplaintGround}


def set_working_days(session: Session, *, by: User, ground: ComplaintGround, days: int) -> None:
    """The head of inspection changes a ground's limit; complaints filed later are due by the new one."""
    if by.role != Role.HEAD_OF_INSPECTION:
        raise PermissionDenied("مهلت رسیدگی را فقط مدیر بازرسی تغییر می‌دهد.")
    if not 1 <= days <= MAX_WORKING_DAYS:
        raise ValidationFailed(f"مهلت باید بین ۱ و {MAX_WORKING_DAYS} روز کاری باشد.", field=ground.value)
    row = session.get(ComplaintGroundSla, ground)
    if row is None:
        session.add(ComplaintGroundSla(ground=ground, working_days=days))
    else:
        row.working_days = days
    session.flush()


def fill_missing_due(session: Session, holidays: Iterable[jdatetime.date] = ()) -> int:
    """Open complaints filed without a due moment get one from their ground's limit (a safety net for intake)."""
    missing = session.exec(select(Complaint).where(col(Complaint.due_at).is_(None),
                                                   col(Complaint.status).in_(OPEN_STATUSES))).all()
    for complaint in missing:
        complaint.due_at = due_at(session, complaint.ground, complaint.created_at, holidays)
    session.flush()
    return len(missing)


def escalate_overdue(session: Session, *, now: datetime, holidays: Iterable[jdatetime.date] = ()) -> list[int]:
    """Mark every open complaint past its due moment as escalated, once (a conditional UPDATE, so a second run
    or a second process marks nothing twice); the ids marked now. The head's queue shows them first."""
    fill_missing_due(session, holidays)
    overdue = [complaint_id for complaint_id in session.exec(
        select(Complaint.id).where(col(Complaint.status).in_(OPEN_STATUSES), col(Complaint.escalated_at).is_(None),
                                   col(Complaint.due_at) < now)).all() if complaint_id is not None]
    marked: list[int] = []
    for complaint_id in overdue:
        moved = session.exec(sa.update(Complaint).where(col(Complaint.id) == complaint_id,
                                                        col(Complaint.escalated_at).is_(None))
                             .values(escalated_at=now))
        if moved.rowcount == 1:
            marked.append(complaint_id)
    return marked


def escalation_job(engine: Engine, holidays: Iterable[jdatetime.date] = (),
                   now: Callable[[], datetime] = utcnow) -> Callable[[], int]:
    """The scheduler's job, in a unit of work of its own; it sends no event (the queues show the escalations)."""
    closed = frozenset(holidays)

    def run() -> int:
        with unit_of_work(engine) as session:
            marked = escalate_overdue(session, now=now(), holidays=closed)
        if marked:
            log.info("Escalated %d overdue complaints to the head of their desk", len(marked))
        return len(marked)
    return run
