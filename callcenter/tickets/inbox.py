"""What waits on a unit liaison or a field supervisor: their open tickets a page at a time, each with its deadline
and last words, and how many there are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from callcenter.platform.errors import ValidationFailed
from callcenter.platform.keyset import Cursor, after_in_rank
from callcenter.platform.privacy import ticket_for_reader
from callcenter.tickets.lifecycle import STATUS_NAMES
from callcenter.tickets.store import to_public
from db.models import (
    AT_A_UNIT,
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
    status_in,
)

S, A = TicketStatus, TicketAction

LIAISON_STATUSES = AT_A_UNIT
FIELD_SUPERVISOR_STATUSES = (S.DISPUTED,)
_PRIORITY_ORDER = {TicketPriority.URGENT: 0, TicketPriority.HIGH: 1, TicketPriority.NORMAL: 2}
PRIORITIES_FIRST_TO_LAST = tuple(sorted(TicketPriority, key=_PRIORITY_ORDER.__getitem__))
_REFERRALS = (A.REFER, A.RE_REFER)
# The statuses a step leaves a ticket in when it hands it (back) to its unit: a referral, or a reopening by the
# citizen or a field ruling. Each such round may be escalated once (callcenter/tickets/escalation.py).
HANDED_TO_UNIT = (S.REFERRED, S.REOPENED)
PAGE_SIZE = 50
ALL = "all"  # the tab of every status an inbox holds
ALL_NAME = "همه"


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


class InboxTab(BaseModel):
    """A part of the inbox the page offers (every status it holds, or one of them) and how many tickets it has."""

    key: str  # ``all`` or a status
    name: str  # in Persian
    count: int


class Inbox(BaseModel):
    """One page of an inbox tab, urgent and late ones first; ``next_cursor`` (None on the last page) is what to
    send as ``after`` for the page that follows (callcenter/platform/keyset.py, ADR 0078)."""

    role: Role
    unit_name: str | None  # a liaison's unit; None when the administrator has not given them one yet
    now: datetime
    items: list[InboxItem]
    tab: str = ALL
    tabs: list[InboxTab] = []
    total: int = 0  # the tab's tickets, on every page
    page_size: int = PAGE_SIZE
    next_cursor: str | None = None


@dataclass(frozen=True)
class _Scope:
    """Whose tickets an inbox holds: the statuses and, for a liaison, the unit."""

    statuses: tuple[TicketStatus, ...]
    unit_id: int | None = None

    def clauses(self, tab: str) -> list[sa.ColumnElement[bool]]:
        # The statuses written out: the very predicate of the partial indexes the pages read (db/models.py).
        where: list[sa.ColumnElement[bool]] = [status_in(*self.statuses)]  # type: ignore[list-item]
        if self.unit_id is not None:
            where.append(col(Ticket.unit_id) == self.unit_id)
        if tab != ALL:
            where.append(col(Ticket.status) == TicketStatus(tab))
        return where


def inbox_for(session: Session, user: User, *, now: datetime | None = None, tab: str = ALL,
              after: str | None = None, page_size: int = PAGE_SIZE) -> Inbox:
    """A page of a liaison's unit's tickets, or of every disputed ticket for a field supervisor; urgent and late
    ones first, then by id. ``tab`` narrows it to one status, ``after`` is the previous page's ``next_cursor``."""
    moment = now or datetime.now(UTC)
    if user.role == Role.FIELD_SUPERVISOR:
        return _page(session, _Scope(FIELD_SUPERVISOR_STATUSES), role=user.role, unit_name=None, now=moment,
                     tab=tab, after=after, page_size=page_size)
    unit = session.get(Unit, user.unit_id) if user.unit_id is not None else None
    if unit is None:
        return Inbox(role=user.role, unit_name=None, now=moment, items=[], tab=ALL, page_size=page_size)
    return _page(session, _Scope(LIAISON_STATUSES, unit_id=unit.id), role=user.role, unit_name=unit.name,
                 now=moment, tab=tab, after=after, page_size=page_size)


def _page(session: Session, scope: _Scope, *, role: Role, unit_name: str | None, now: datetime, tab: str,
          after: str | None, page_size: int) -> Inbox:
    if tab != ALL and tab not in scope.statuses:
        raise ValidationFailed("این بخش در کارتابل شما نیست.", field="tab")
    tabs = _tabs(session, scope)
    rows = _tickets_after(session, scope.clauses(tab), Cursor.decode(after) if after else None, page_size + 1)
    page = rows[:page_size]
    more = len(rows) > page_size
    return Inbox(role=role, unit_name=unit_name, now=now, items=_items(session, page, now, role), tab=tab,
                 tabs=tabs, total=next(t.count for t in tabs if t.key == tab), page_size=page_size,
                 next_cursor=_cursor_of(page[-1]).encode() if more and page else None)


def _tabs(session: Session, scope: _Scope) -> list[InboxTab]:
    """Every tab with its count: one grouped count over the scope (the partial index answers it)."""
    counts: dict[TicketStatus, int] = {
        TicketStatus(status): count for status, count in session.exec(
            select(Ticket.status, sa.func.count()).where(*scope.clauses(ALL)).group_by(col(Ticket.status))).all()}
    whole = InboxTab(key=ALL, name=ALL_NAME, count=sum(counts.values()))
    if len(scope.statuses) == 1:
        return [whole]
    return [whole, *(InboxTab(key=status.value, name=STATUS_NAMES[status], count=counts.get(status, 0))
                     for status in scope.statuses)]


def _tickets_after(session: Session, where: list[sa.ColumnElement[bool]], cursor: Cursor | None,
                   limit: int) -> list[Ticket]:
    """Up to ``limit`` tickets after the cursor in the order (priority rank, unit deadline, id): one index range
    per priority, from the cursor's on, so no query sorts more than the rows it returns."""
    found: list[Ticket] = []
    for rank, priority in enumerate(PRIORITIES_FIRST_TO_LAST):
        if len(found) >= limit:
            break
        if cursor is not None and rank < cursor.rank:
            continue
        query = select(Ticket).where(*where, col(Ticket.priority) == priority)
        if cursor is not None and rank == cursor.rank:
            query = query.where(after_in_rank(cursor, col(Ticket.unit_deadline), col(Ticket.id)))
        found.extend(session.exec(query.order_by(col(Ticket.unit_deadline), col(Ticket.id))
                                  .limit(limit - len(found))).all())
    return found


def _cursor_of(ticket: Ticket) -> Cursor:
    assert ticket.id is not None and ticket.unit_deadline is not None
    return Cursor(rank=_PRIORITY_ORDER[ticket.priority], moment=ticket.unit_deadline, id=ticket.id)


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


def _items(session: Session, tickets: list[Ticket], now: datetime, role: Role) -> list[InboxItem]:
    """The page's tickets as the inbox shows them; their steps and escalations read for these tickets only."""
    ids = [ticket.id for ticket in tickets if ticket.id is not None]
    steps = steps_by_ticket(session, ids)
    escalated = escalated_rounds(session, ids)
    return [_item(session, ticket, steps[ticket.id or 0], now, escalated, role) for ticket in tickets]


def steps_by_ticket(session: Session, ticket_ids: list[int]) -> dict[int, list[TicketTransition]]:
    """Every step of these tickets (a page of them: the list is bound into the query) in one query, oldest first."""
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
    referred_at, deadline = ticket.referred_at or ticket.created_at, ticket.unit_deadline or ticket.created_at
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


def round_start(steps: list[TicketTransition]) -> TicketTransition | None:
    """The step that last handed the ticket to its unit (a referral or a reopening): one round at the unit."""
    return next((step for step in reversed(steps) if step.to_status in HANDED_TO_UNIT), None)


def escalated_rounds(session: Session, ticket_ids: list[int]) -> set[tuple[int, int]]:
    """(ticket id, round step id) of every escalation of these tickets (a page of them)."""
    if not ticket_ids:
        return set()
    rows = session.exec(select(TicketEscalation.ticket_id, TicketEscalation.round_step_id)
                        .where(col(TicketEscalation.ticket_id).in_(ticket_ids))).all()
    return {(ticket_id, step_id) for ticket_id, step_id in rows}


def _last_referral(steps: list[TicketTransition]) -> TicketTransition | None:
    return next((step for step in reversed(steps) if step.action in _REFERRALS), None)


def _last(steps: list[TicketTransition], action: TicketAction) -> TicketTransition | None:
    return next((step for step in reversed(steps) if step.action == action), None)
