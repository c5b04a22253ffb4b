"""Who may see a complaint (the conflict-of-interest rules): the one place every route, export, notification and
websocket event about complaints asks.

- The inspection office's roles (inspectors and the head of inspection) see the complaints on the inspection
  desk, if they work in the inspection office (an account of theirs with no unit, or in another unit, sees none:
  without knowing where someone works no conflict can be ruled out), and except a complaint about a unit they are
  conflicted about.
- Someone is conflicted about their own unit, every unit above it (their chain of command) and every unit below
  it (the units they direct): a complaint about a deputy is not for the staff of a district under it, nor one
  about a district for the staff of the deputy above it (ADR 0072).
- A complaint about the inspection office itself, a unit inside it or a unit above it is on the mayor's office's
  desk (the ``viewer`` role): no inspector could see it without a conflict.
- No one else sees complaints at all: not the unit a complaint is about (its liaison, manager, staff), not an
  administrator, operator, supervisor, field supervisor or the service desk; and no inactive account. A unit
  learns only the question of an information request.
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
    """The mayor's office for a complaint about the inspection office, a unit inside it or a unit above it (the
    inspectors are conflicted about all three), else the inspection office."""
    related = related_units(session, target_unit_id)
    units = session.exec(select(Unit).where(col(Unit.id).in_(related))).all() if related else []
    if any(unit.inspection_office for unit in units):
        return ComplaintDesk.MAYOR_OFFICE
    return ComplaintDesk.INSPECTION


def units_up_from(session: Session, unit_id: int) -> list[Unit]:
    """The unit and its ancestors, nearest first (deputy → district → organisation → ...; a cycle ends the walk)."""
    chain: list[Unit] = []
    seen: set[int] = set()
    current = session.get(Unit, unit_id)
    while current is not None and current.id is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = session.get(Unit, current.parent_id) if current.parent_id is not None else None
    return chain


def units_down_from(session: Session, unit_id: int) -> set[int]:
    """The unit and every unit under it, at any depth (one query: the tree is a few hundred rows at most)."""
    children: dict[int, list[int]] = {}
    for child_id, parent_id in session.exec(select(Unit.id, Unit.parent_id)).all():
        if child_id is not None and parent_id is not None:
            children.setdefault(parent_id, []).append(child_id)
    found: set[int] = set()
    frontier = [unit_id]
    while frontier:
        current = frontier.pop()
        if current not in found:
            found.add(current)
            frontier.extend(children.get(current, ()))
    return found


def related_units(session: Session, unit_id: int) -> set[int]:
    """The units someone in ``unit_id`` is conflicted about: the unit, those above it and those below it."""
    above = {unit.id for unit in units_up_from(session, unit_id) if unit.id is not None}
    return above | units_down_from(session, unit_id) if above else set()


def _in_inspection_office(session: Session, unit_id: int | None) -> bool:
    return unit_id is not None and any(unit.inspection_office for unit in units_up_from(session, unit_id))


def _excluded_targets(session: Session, user: User) -> set[int] | None:
    """The target units whose complaints ``user`` may not see on their desk, or None when they see no complaint
    at all (wrong role, inactive, an inspector outside the inspection office)."""
    desk = desk_of(user.role)
    if desk is None or not user.is_active:
        return None
    if desk == ComplaintDesk.INSPECTION and not _in_inspection_office(session, user.unit_id):
        return None
    return related_units(session, user.unit_id) if user.unit_id is not None else set()


def conflicted(session: Session, user: User, complaint: Complaint) -> bool:
    """True when ``user`` works in the unit the complaint is about, in a unit above it or in a unit under it."""
    return user.unit_id is not None and complaint.target_unit_id in related_units(session, user.unit_id)


def can_see(session: Session, user: User, complaint: Complaint) -> bool:
    """The rule itself: the right desk, an account that may see complaints, and no conflict of interest."""
    excluded = _excluded_targets(session, user)
    return (excluded is not None and desk_of(user.role) == complaint.desk
            and complaint.target_unit_id not in excluded)


def may_see_id(session: Session, user: User, complaint_id: int) -> bool:
    """``can_see`` for a complaint known by its id (a websocket event, a link); an unknown id is refused."""
    complaint = session.get(Complaint, complaint_id)
    return complaint is not None and can_see(session, user, complaint)


def visible_to(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause keeping only the complaints ``user`` may see (for lists, counts and exports): the same rule
    as ``can_see``, as SQL."""
    excluded = _excluded_targets(session, user)
    desk = desk_of(user.role)
    if excluded is None or desk is None:
        return sa.false()
    clause: sa.ColumnElement[bool] = col(Complaint.desk) == desk
    if excluded:
        clause = sa.and_(clause, col(Complaint.target_unit_id).not_in(sorted(excluded)))
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
    return col(Complaint.target_unit_id).not_in(sorted(related_units(session, user.unit_id)))
