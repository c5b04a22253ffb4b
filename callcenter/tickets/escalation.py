"""Overdue tickets reported to their unit's manager (SMS) and the supervisors (bus event), once per round."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from callcenter.platform.notifier import Notifier
from callcenter.platform.persian import persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.tickets.inbox import HANDED_TO_UNIT, LIAISON_STATUSES
from callcenter.tickets.store import to_public
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import SmsMessage, Ticket, TicketEscalation, TicketPublic, TicketTransition, Unit, status_in, utcnow

log = logging.getLogger(__name__)

# Overdue rounds read and escalated per run step: a bounded read, never every overdue ticket of the city at once.
BATCH_SIZE = 500
OverdueKey = tuple[datetime, int]  # (deadline, ticket id) of a batch's last row: the next batch starts after it

ESCALATION_TEXT = ("شهرداری قزوین، سامانه ۱۳۷: مهلت رسیدگی {unit} به درخواست {code} ({category}) گذشته و کار "
                   "هنوز انجام نشده است. لطفاً پیگیری فرمایید.")


@dataclass(frozen=True)
class Escalated:
    ticket: TicketPublic
    deadline: datetime
    escalated_at: datetime
    sms_queued: bool


@dataclass(frozen=True)
class _Overdue:
    ticket_id: int
    unit_id: int
    round_step_id: int
    deadline: datetime


def escalation_text(*, tracking_code: str, unit_name: str, category_name: str) -> str:
    return ESCALATION_TEXT.format(unit=unit_name, code=persian_digits(format_for_reading(tracking_code)),
                                  category=category_name or "بدون موضوع")


class Escalator:
    """The escalation job: finds tickets past their unit's deadline and escalates each round once.

    A ticket is overdue while its unit holds it (referred, accepted or reopened) and its unit deadline has passed
    (kept on its row by its latest referral: that + the category's ``sla_hours``, as the inbox shows it). A round
    is the time since the step that last handed the ticket to the unit (a referral or a reopening);
    ``ticket_escalation`` is unique per ticket and round, so a second run, or a second backend process, escalates
    nothing twice, while a re-referral or a reopening starts a round that may be escalated again. Overdue rounds
    are read ``BATCH_SIZE`` at a time, by (deadline, id), each batch after the last one's key.
    """

    def __init__(self, *, engine: Engine, notifier: Notifier, now: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._notifier = notifier
        self._now = now

    async def run(self) -> int:
        """The scheduler's job: a batch at a time, its database work in a thread and its events from the loop (the
        bus is not thread-safe) once its escalations are committed; returns how many were escalated."""
        moment = self._now()
        total, after = 0, None
        while True:
            escalated, after = await asyncio.to_thread(self.escalate_batch, moment, after)
            for item in escalated:
                self._notifier.ticket_escalated(item.ticket, deadline=item.deadline, escalated_at=item.escalated_at)
            total += len(escalated)
            if after is None:
                break
        if total:
            log.info("Escalated %d overdue tickets", total)
        return total

    def escalate_overdue(self, now: datetime | None = None) -> Iterator[Escalated]:
        """Every overdue round not escalated yet, recorded and its SMS queued, a batch at a time; publishes
        nothing (see run)."""
        moment = now or self._now()
        after: OverdueKey | None = None
        while True:
            escalated, after = self.escalate_batch(moment, after)
            yield from escalated
            if after is None:
                return

    def escalate_batch(self, now: datetime, after: OverdueKey | None = None
                       ) -> tuple[list[Escalated], OverdueKey | None]:
        """The next ``BATCH_SIZE`` overdue rounds after ``after``, each escalated in its own unit of work; returns
        them and where the next batch starts (None when this one was the last)."""
        batch = self._overdue(now, after=after)
        results: list[Escalated] = []
        for overdue in batch:
            try:
                escalated = self._escalate(overdue, now)
            except SQLAlchemyError:  # one ticket's failure (a locked database...) must not silence the others,
                # whose escalations are committed and would never be announced again; this one is retried
                log.exception("Could not escalate overdue ticket %d; retried next run", overdue.ticket_id)
                continue
            if escalated is not None:
                results.append(escalated)
        last = batch[-1] if len(batch) == BATCH_SIZE else None
        return results, (last.deadline, last.ticket_id) if last is not None else None

    def _overdue(self, now: datetime, *, after: OverdueKey | None = None) -> list[_Overdue]:
        """Up to ``BATCH_SIZE`` rounds past their deadline and not escalated, by (deadline, id) after ``after``: a
        range of the overdue index, the round's step and its escalation looked up per ticket by the database."""
        round_step = (
            select(TicketTransition.id)
            .where(col(TicketTransition.ticket_id) == col(Ticket.id),
                   col(TicketTransition.to_status).in_(HANDED_TO_UNIT))
            .order_by(col(TicketTransition.at).desc(), col(TicketTransition.id).desc()).limit(1)
            .correlate(Ticket).scalar_subquery()
        )
        escalated = sa.exists().where(col(TicketEscalation.ticket_id) == col(Ticket.id),
                                      col(TicketEscalation.round_step_id) == round_step)
        query = (
            select(Ticket.id, Ticket.unit_id, Ticket.unit_deadline, round_step)
            # The statuses written out: the predicate of the overdue index (db/models.py).
            .where(status_in(*LIAISON_STATUSES), col(Ticket.unit_id).is_not(None), col(Ticket.unit_deadline) < now,
                   round_step.is_not(None), ~escalated)  # no lifecycle step to key the round on, or done already
        )
        if after is not None:
            query = query.where(sa.tuple_(col(Ticket.unit_deadline), col(Ticket.id)) > after)
        with unit_of_work(self._engine) as session:
            rows = session.exec(query.order_by(col(Ticket.unit_deadline), col(Ticket.id)).limit(BATCH_SIZE)).all()
        return [_Overdue(ticket_id=ticket_id, unit_id=unit_id, round_step_id=step_id, deadline=deadline)
                for ticket_id, unit_id, deadline, step_id in rows
                if ticket_id is not None and unit_id is not None and deadline is not None]  # as the query asked

    def _escalate(self, overdue: _Overdue, now: datetime) -> Escalated | None:
        """The escalation row and the manager's SMS in one transaction: both or neither."""
        with unit_of_work(self._engine) as session:
            ticket = session.get(Ticket, overdue.ticket_id)
            if ticket is None or ticket.status not in LIAISON_STATUSES or ticket.unit_id != overdue.unit_id:
                return None  # it moved on since we looked (reported done, re-referred…)
            escalation = TicketEscalation(ticket_id=overdue.ticket_id, unit_id=overdue.unit_id,
                                          round_step_id=overdue.round_step_id, deadline=overdue.deadline,
                                          escalated_at=now)
            try:
                with session.begin_nested():  # a savepoint, flushed at its end
                    session.add(escalation)
            except IntegrityError:  # another backend process escalated this round a moment ago
                return None
            public = to_public(session, ticket)
            unit = session.get(Unit, overdue.unit_id)
            to = sms_number(unit.manager_phone) if unit is not None else None
            if to is not None:
                session.add(SmsMessage(
                    to_number=to, ticket_id=ticket.id, dedup_key=f"escalation:{escalation.id}",
                    body=escalation_text(tracking_code=ticket.tracking_code, unit_name=public.unit_name,
                                         category_name=public.category_name),
                ))
            else:  # still escalated: the supervisors hear of it through the event
                log.warning("Ticket %s is overdue but unit %d has no mobile number for its manager; "
                            "only the supervisors are told", ticket.tracking_code, overdue.unit_id)
            return Escalated(ticket=public, deadline=overdue.deadline, escalated_at=now, sms_queued=to is not None)
