"""The inspectors' queue: the complaints a user may see, filtered by view, ground, target unit and age, oldest
first (escalated ones first for the head of the desk), a page at a time by keyset, with counts per ground."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from callcenter.complaints import access
from callcenter.complaints.lifecycle import OPEN_STATUSES, leads_desk
from callcenter.platform.keyset import Cursor, after
from db.models import Complaint, ComplaintGround, ComplaintStatus, User

PAGE_SIZE = 25


class View(StrEnum):
    NEW = "new"            # received and not assigned to anyone yet
    OPEN = "open"          # every complaint not closed, referred or rejected
    MINE = "mine"          # open and assigned to the user
    OVERDUE = "overdue"    # open and past its due moment
    FINISHED = "finished"  # closed, referred or rejected


VIEW_NAMES: dict[View, str] = {
    View.NEW: "تازه و واگذارنشده", View.OPEN: "همهٔ شکایت‌های باز", View.MINE: "شکایت‌های من",
    View.OVERDUE: "گذشته از مهلت", View.FINISHED: "پایان‌یافته",
}


@dataclass(frozen=True)
class Filters:
    view: View = View.OPEN
    ground: ComplaintGround | None = None
    target_unit_id: int | None = None
    older_than_days: int | None = None  # filed at least this many days ago
    after: str | None = None            # the keyset cursor of the previous page's last row


@dataclass(frozen=True)
class Page:
    complaints: list[Complaint]
    next_cursor: str | None
    counts_by_ground: dict[ComplaintGround, int]
    counts_by_unit: dict[int, int]
    escalated_first: bool
    total: int = 0
    filters: Filters = field(default_factory=Filters)


def _view_clause(view: View, user: User, now: datetime) -> sa.ColumnElement[bool]:
    open_ = col(Complaint.status).in_(OPEN_STATUSES)
    if view == View.NEW:
        return sa.and_(col(Complaint.status) == ComplaintStatus.RECEIVED, col(Complaint.assigned_to_id).is_(None))
    if view == View.MINE:
        return sa.and_(open_, col(Complaint.assigned_to_id) == user.id)
    if view == View.OVERDUE:
        return sa.and_(open_, col(Complaint.due_at) < now)
    if view == View.FINISHED:
        return sa.not_(open_)
    return open_


def _leads_desk(user: User) -> bool:
    desk = access.desk_of(user.role)
    return desk is not None and leads_desk(user, desk)


def _rank(escalated_first: bool) -> sa.ColumnElement[int]:
    """0 for the rows shown first (escalated, for the head), else 1: the first part of the sort key."""
    if not escalated_first:
        return sa.literal(1)
    return sa.case((col(Complaint.escalated_at).is_not(None), 0), else_=1)


def cursor_of(complaint: Complaint, escalated_first: bool) -> str:
    rank = 0 if escalated_first and complaint.escalated_at is not None else 1
    return Cursor(rank=rank, moment=complaint.created_at, id=complaint.id or 0).encode()


def queue(session: Session, user: User, filters: Filters, *, now: datetime, page_size: int = PAGE_SIZE) -> Page:
    """One page of the queue ``user`` may see; the counts cover the whole view (all grounds, all units)."""
    visible = access.visible_to(session, user)
    base = [visible, _view_clause(filters.view, user, now)]
    if filters.older_than_days is not None:
        base.append(col(Complaint.created_at) <= now - timedelta(days=filters.older_than_days))
    by_ground = {ComplaintGround(ground): count for ground, count in session.exec(
        select(Complaint.ground, func.count()).where(*base).group_by(col(Complaint.ground))).all()}
    narrowed = list(base)
    if filters.ground is not None:
        narrowed.append(col(Complaint.ground) == filters.ground)
    by_unit = {unit: count for unit, count in session.exec(
        select(Complaint.target_unit_id, func.count()).where(*narrowed).group_by(col(Complaint.target_unit_id))
    ).all()}
    if filters.target_unit_id is not None:
        narrowed.append(col(Complaint.target_unit_id) == filters.target_unit_id)
    total = session.exec(select(func.count()).select_from(Complaint).where(*narrowed)).one()
    escalated_first = _leads_desk(user) and filters.view != View.FINISHED
    rank = _rank(escalated_first)
    if filters.after:
        narrowed.append(after(Cursor.decode(filters.after), rank, col(Complaint.created_at), col(Complaint.id)))
    rows = list(session.exec(select(Complaint).where(*narrowed)
                             .order_by(rank, col(Complaint.created_at), col(Complaint.id)).limit(page_size + 1)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = cursor_of(rows[-1], escalated_first) if more and rows else None
    return Page(complaints=rows, next_cursor=next_cursor, counts_by_ground=by_ground, counts_by_unit=by_unit,
                escalated_first=escalated_first, total=total, filters=filters)


def escalated_count(session: Session, user: User) -> int:
    """How many open complaints wait past their due moment for the head of the user's desk (0 for others)."""
    if not _leads_desk(user):
        return 0
    return session.exec(select(func.count()).select_from(Complaint).where(
        access.visible_to(session, user), col(Complaint.status).in_(OPEN_STATUSES),
        col(Complaint.escalated_at).is_not(None))).one()

