"""Who may see a complaint (the conflict-of-interest rules): the one place every route, export, notification and
websocket event about complaints asks.

- The inspection office's roles (inspectors and the head of inspection) see the complaints on the inspection
  desk, except a complaint about their own unit or a unit under it.
- A complaint about the inspection office itself is on the mayor's office's desk (the ``viewer`` role): no
  inspector sees it.
- No one else sees complaints at all: not the unit a complaint is about (its liaison, manager, staff), not an
  administrator, operator or supervisor. A unit learns only the question of an information request.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from db.models import Complaint, ComplaintDesk, Role, Unit, User

INSPECTION_ROLES = frozenset({Role.INSPECTOR, Role.HEAD_OF_INSPECTION})
MAYOR_OFFICE_ROLES = frozenset({Role.VIEWER})
COMPLAINT_ROLES = INSPECTION_ROLES | MAYOR_OFFICE_ROLES


def desk_of(role: Role) -> ComplaintDesk | None:
    """The desk whose complaints ``role`` works, if any."""
    if role in INSPECTION_ROLES:
        return ComplaintDesk.INSPECTION
    if role in MAYOR_OFFICE_ROLES:
        return ComplaintDesk.MAYOR_OFFICE
    return None


def desk_for_target(session: Session, target_unit_id: int) -> ComplaintDesk:
    """The mayor's office for a complaint about the inspection office (or a unit inside it), else inspection."""
    for unit in units_up_from(session, target_unit_id):
        if unit.inspection_office:
            return ComplaintDesk.MAYOR_OFFICE
    return ComplaintDesk.INSPECTION


def units_up_from(session: Session, unit_id: int) -> list[Unit]:
    """The unit and its ancestors, nearest first (the tree is shallow: deputy → district → organisation → ...)."""
    chain: list[Unit] = []
    seen: set[int] = set()
    current = session.get(Unit, unit_id)
    while current is not None and current.id is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = session.get(Unit, current.parent_id) if current.parent_id is not None else None
    return chain


def conflicted(session: Session, user: User, complaint: Complaint) -> bool:
    """True when ``user`` works in the unit the complaint is about, or in a unit under it."""
    if user.unit_id is None:
        return False
    return any(unit.id == complaint.target_unit_id for unit in units_up_from(session, user.unit_id))


def can_see(session: Session, user: User, complaint: Complaint) -> bool:
    """The rule itself: the right desk, and no conflict of interest."""
    return (user.is_active and desk_of(user.role) == complaint.desk
            and not conflicted(session, user, complaint))


def visible_to(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping only the complaints ``user`` may see (for lists, counts and exports)."""
    desk = desk_of(user.role)
    if desk is None or not user.is_active:
        return sa.false()
    clause: sa.ColumnElement[bool] = col(Complaint.desk) == desk
    if user.unit_id is not None:
        excluded = [unit.id for unit in units_up_from(session, user.unit_id) if unit.id is not None]
        clause = sa.and_(clause, col(Complaint.target_unit_id).not_in(excluded))
    return clause


def visible_complaints(session: Session, user: User) -> sa.Select[tuple[Complaint]]:
    """``SELECT complaint`` filtered to what ``user`` may see; callers add their own order, filters and limits."""
    return select(Complaint).where(visible_to(session, user))  # type: ignore[return-value]


def counted_for(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause for the complaints whose aggregate figures (counts, times, tags: never a complaint's text or
    its complainant) ``user`` may read on the analytics page (ADR 0074).

    The inspection roles count what they may see. The mayor's office oversees the inspection office, so it counts
    the complaints of every desk; the conflict-of-interest rule still holds: nobody counts the complaints about
    their own unit or a unit above it.
    """
    if user.role not in MAYOR_OFFICE_ROLES:
        return visible_to(session, user)
    if not user.is_active:
        return sa.false()
    if user.unit_id is None:
        return sa.true()
    excluded = [unit.id for unit in units_up_from(session, user.unit_id) if unit.id is not None]
    return col(Complaint.target_unit_id).not_in(excluded)
