"""What waits on a unit liaison or a field supervisor: their open tickets, each with its deadline and last words."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, col, select

from callcenter.platform.privacy import ticket_for_reader
from callcenter.tickets.lifecycle import STATUS_NAMES
from callcenter.tickets.store import to_public
from db.models import (
    Category,
    FieldVerdict,
    Role,
    Ticket,
    TicketAction,
    TicketEscalation,
    TicketPriority,
    TicketPublic,
    TicketStatus,
    TicketTransition,
    Unit,
    User,
)

S, A = TicketStatus, TicketAction

# A liaison's unit has to accept what was referred or reopened, and report done what it accepted.
LIAISON_STATUSES = (S.REFERRED, S.REOPENED, S.ACCEPTED)
FIELD_SUPERVISOR_STATUSES = (S.DISPUTED,)
_PRIORITY_ORDER = {TicketPriority.URGENT: 0, TicketPriority.HIGH: 1, TicketPriority.NORMAL: 2}
_REFERRALS = (A.REFER, A.RE_REFER)
# The statuses a step leaves a ticket in when it hands it (back) to its unit: a referral, or a reopening by the
# citizen or a field ruling. Each such round may be escalated once (callcenter/tickets/escalation.py).
_HANDED_TO_UNIT = (S.REFERRED, S.REOPENED)


class InboxItem(BaseModel):
    """One ticket as the inbox shows it; notes are the ones said since it was last referred to its unit."""

    ticket: TicketPublic
    status_name: str  # in Persian, as lifecycle.STATUS_NAMES has it
    referred_at: datetime
    deadline: datetime
    seconds_left: int  # negative once the deadline has passed
    overdue: bool
    citizen_words: str = ""  # why the citizen says it is not resolved (the reopening's note)
    dispute_note: str = ""  # why the unit objects, while a field supervisor has to decide
    verdict: FieldVerdict | None = None  # the field supervisor's ruling that sent it back, if that is why
    verdict_note: str = ""
    escalated: bool = False  # overdue and reported to the unit's manager and the supervisors in this round


class Inbox(BaseModel):
    role: Role
    unit_name: str | None  # a liaison's unit; None when the administrator has not given them one yet
    now: datetime
    items: list[InboxItem]


def inbox_for(session: Session, user: User, *, now: datetime | None = None) -> Inbox:
    """A liaison's unit's tickets, or every disputed ticket for a field supervisor; urgent and late ones first."""
    moment = now or datetime.now(UTC)
    if user.role == Role.FIELD_SUPERVISOR:
        return Inbox(role=user.role, unit_name=None, now=moment,
                     items=_items(session, _tickets(session, FIELD_SUPERVISOR_STATUSES), moment, user.role))
    unit = session.get(Unit, user.unit_id) if user.unit_id is not None else None
    if unit is None:
        return Inbox(role=user.role, unit_name=None, now=moment, items=[])
    tickets = _tickets(session, LIAISON_STATUSES, unit_id=unit.id)
    return Inbox(role=user.role, unit_name=unit.name, now=moment, items=_items(session, tickets, moment, user.role))


def units_that_held(session: Session, ticket: Ticket) -> set[int]:
    """Every unit the ticket was referred to: the one holding it now and those that held it before. Not the unit
    merely proposed when it was filed: a ticket that was never referred there never reached that unit."""
    steps = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id,
                                                        col(TicketTransition.action).in_(_REFERRALS))).all()
    return {step.to_unit_id for step in steps if step.to_unit_id is not None}


def was_disputed(session: Session, ticket: Ticket) -> bool:
    """Whether a unit ever disputed the ticket: what brings it before a field supervisor."""
    return session.exec(select(TicketTransition.id).where(TicketTransition.ticket_id == ticket.id,
                                                          TicketTransition.action == A.DISPUTE)).first() is not None


def _tickets(session: Session, statuses: Sequence[TicketStatus], *, unit_id: int | None = None) -> list[Ticket]:
    query = select(Ticket).where(col(Ticket.status).in_(statuses))
    if unit_id is not None:
        query = query.where(Ticket.unit_id == unit_id)
    return list(session.exec(query).all())


def _items(session: Session, tickets: list[Ticket], now: datetime, role: Role) -> list[InboxItem]:
    ids = [ticket.id for ticket in tickets if ticket.id is not None]
    steps = steps_by_ticket(session, ids)
    escalated = escalated_rounds(session, ids)
    items = [_item(session, ticket, steps[ticket.id or 0], now, escalated, role) for ticket in tickets]
    return sorted(items, key=lambda item: (_PRIORITY_ORDER[item.ticket.priority], item.deadline))


def steps_by_ticket(session: Session, ticket_ids: list[int]) -> dict[int, list[TicketTransition]]:
    """Every step of these tickets in one query, oldest first."""
    grouped: dict[int, list[TicketTransition]] = defaultdict(list)
    if not ticket_ids:
        return grouped
    rows = session.exec(
        select(TicketTransition).where(col(TicketTransition.ticket_id).in_(ticket_ids))
        .order_by(col(TicketTransition.at), col(TicketTransition.id))
    ).all()
    for row in rows:
        grouped[row.ticket_id].append(row)
    return grouped


def _item(session: Session, ticket: Ticket, steps: list[TicketTransition], now: datetime,
          escalated: set[tuple[int, int]], role: Role) -> InboxItem:
    referral = _last_referral(steps)
    since = steps[steps.index(referral):] if referral is not None else steps
    referred_at, deadline = unit_deadline(session, ticket, steps)
    start = round_start(steps)
    left = int((deadline - now).total_seconds())
    reopening = _last(since, A.VERIFY_NOT_RESOLVED)
    verdict = _last(since, A.FIELD_VERDICT) if ticket.status in (S.REOPENED, S.ACCEPTED) else None
    if verdict is not None and reopening is not None and since.index(verdict) < since.index(reopening):
        verdict = None  # a ruling from an earlier round; the citizen has spoken again since
    dispute = _last(since, A.DISPUTE) if ticket.status == S.DISPUTED else None
    return InboxItem(
        ticket=ticket_for_reader(to_public(session, ticket), role), status_name=STATUS_NAMES[ticket.status],
        referred_at=referred_at,
        deadline=deadline, seconds_left=left, overdue=left < 0, citizen_words=reopening.note if reopening else "",
        dispute_note=dispute.note if dispute else "", verdict=verdict.verdict if verdict else None,
        verdict_note=verdict.note if verdict else "",
        escalated=start is not None and (ticket.id, start.id) in escalated,
    )


def unit_deadline(session: Session, ticket: Ticket, steps: list[TicketTransition]) -> tuple[datetime, datetime]:
    """When the ticket reached its unit (its latest referral, else its filing) and the unit's deadline: that plus
    the category's ``sla_hours``. ``steps`` are the ticket's transitions, oldest first."""
    referral = _last_referral(steps)
    # The unit's clock starts when the ticket reached it; a reopening does not restart it.
    referred_at = referral.at if referral is not None else ticket.created_at
    return referred_at, referred_at + timedelta(hours=_sla_hours(session, ticket))


def round_start(steps: list[TicketTransition]) -> TicketTransition | None:
    """The step that last handed the ticket to its unit (a referral or a reopening): one round at the unit."""
    return next((step for step in reversed(steps) if step.to_status in _HANDED_TO_UNIT), None)


def escalated_rounds(session: Session, ticket_ids: list[int]) -> set[tuple[int, int]]:
    """(ticket id, round step id) of every escalation of these tickets."""
    if not ticket_ids:
        return set()
    rows = session.exec(select(TicketEscalation.ticket_id, TicketEscalation.round_step_id)
                        .where(col(TicketEscalation.ticket_id).in_(ticket_ids))).all()
    return {(ticket_id, step_id) for ticket_id, step_id in rows}


def _last_referral(steps: list[TicketTransition]) -> TicketTransition | None:
    return next((step for step in reversed(steps) if step.action in _REFERRALS), None)


def _last(steps: list[TicketTransition], action: TicketAction) -> TicketTransition | None:
    return next((step for step in reversed(steps) if step.action == action), None)


def _sla_hours(session: Session, ticket: Ticket) -> int:
    category = session.get(Category, ticket.category_id) if ticket.category_id is not None else None
    return category.sla_hours if category is not None else int(Category.model_fields["sla_hours"].default)
