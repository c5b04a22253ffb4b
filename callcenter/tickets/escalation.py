"""Overdue tickets reported to their unit's manager (SMS) and the supervisors (bus event), once per round."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from callcenter.platform.notifier import Notifier
from callcenter.platform.persian import persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.tickets.inbox import LIAISON_STATUSES, escalated_rounds, round_start, steps_by_ticket, unit_deadline
from callcenter.tickets.store import to_public
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import SmsMessage, Ticket, TicketEscalation, TicketPublic, Unit, utcnow

log = logging.getLogger(__name__)

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

    A ticket is overdue while its unit holds it (referred, accepted or reopened) and the deadline the inbox shows
    (latest referral + the category's ``sla_hours``) has passed. A round is the time since the step that last
    handed the ticket to the unit (a referral or a reopening); ``ticket_escalation`` is unique per ticket and
    round, so a second run, or a second backend process, escalates nothing twice, while a re-referral or a
    reopening starts a round that may be escalated again.
    """

    def __init__(self, *, engine: Engine, notifier: Notifier, now: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._notifier = notifier
        self._now = now

    async def run(self) -> list[Escalated]:
        """The scheduler's job: the database work in a thread, the events from the loop (the bus is not
        thread-safe), after each escalation is committed."""
        escalated = await asyncio.to_thread(self.escalate_overdue)
        for item in escalated:
            self._notifier.ticket_escalated(item.ticket, deadline=item.deadline, escalated_at=item.escalated_at)
        if escalated:
            log.info("Escalated %d overdue tickets", len(escalated))
        return escalated

    def escalate_overdue(self, now: datetime | None = None) -> list[Escalated]:
        """Record and queue the SMS of every overdue round not escalated yet; publishes nothing (see run)."""
        moment = now or self._now()
        results: list[Escalated] = []
        for overdue in self._overdue(moment):
            try:
                escalated = self._escalate(overdue, moment)
            except SQLAlchemyError:  # one ticket's failure (a locked database...) must not silence the others,
                # whose escalations are committed and would never be announced again; this one is retried
                log.exception("Could not escalate overdue ticket %d; retried next run", overdue.ticket_id)
                continue
            if escalated is not None:
                results.append(escalated)
        return results

    def _overdue(self, now: datetime) -> list[_Overdue]:
        with unit_of_work(self._engine) as session:
            tickets = session.exec(select(Ticket).where(col(Ticket.status).in_(LIAISON_STATUSES),
                                                        col(Ticket.unit_id).is_not(None))).all()
            ids = [ticket.id for ticket in tickets if ticket.id is not None]
            steps = steps_by_ticket(session, ids)
            done = escalated_rounds(session, ids)
            found = []
            for ticket in tickets:
                if ticket.id is None or ticket.unit_id is None:
                    continue
                start = round_start(steps[ticket.id])
                if start is None or start.id is None or (ticket.id, start.id) in done:
                    continue  # no lifecycle step to key the round on (never referred through it), or done already
                _, deadline = unit_deadline(session, ticket, steps[ticket.id])
                if deadline < now:
                    found.append(_Overdue(ticket_id=ticket.id, unit_id=ticket.unit_id, round_step_id=start.id,
                                          deadline=deadline))
            return found

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
