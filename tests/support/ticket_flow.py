"""Tickets and staff for lifecycle tests, set up through the domain functions (as the console would leave them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from callcenter.platform.security import hash_password
from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import (
    Category,
    Role,
    Ticket,
    TicketAction,
    TicketCreate,
    TicketPriority,
    TicketStatus,
    TicketTransition,
    Unit,
    User,
)

PASSWORD = "flow-test-password"
WASTE = "سازمان مدیریت پسماند"
GREENERY = "سازمان سیما، منظر و فضای سبز شهری"
LIGHTING = "اداره روشنایی و تأسیسات برقی"


@dataclass(frozen=True)
class Filed:
    id: int
    tracking_code: str


def unit_id(engine: Engine, name: str) -> int:
    with unit_of_work(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == name)).one()
        assert unit.id is not None
        return unit.id


def add_staff(engine: Engine, username: str, role: Role, *, unit: str | None = None) -> User:
    with unit_of_work(engine) as session:
        user = User(username=username, full_name=f"{username} آزمایشی", role=role,
                    password_hash=hash_password(PASSWORD), unit_id=unit_id(engine, unit) if unit else None)
        session.add(user)
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def referred_ticket(
    engine: Engine, *, by: User, unit: str, category: str = "جمع‌آوری زباله", description: str = "سطل زباله پر است",
    address: str = "خیابان فردوسی، کوچه ۱۲", priority: TicketPriority = TicketPriority.NORMAL,
) -> Filed:
    """Filed by an operator and referred to ``unit`` through apply_action."""
    with unit_of_work(engine) as session:
        chosen = session.exec(select(Category).where(Category.name == category)).one()
        district = session.exec(select(Unit).where(Unit.name == "منطقه دو")).one()
        assert chosen.id is not None
        ticket = create_ticket(session, data=TicketCreate(
            category_id=chosen.id, unit_id=unit_id(engine, unit), district_id=district.id, description=description,
            address=address, priority=priority, caller_number="09121234567"), created_by=by)
        assert ticket.id is not None
        apply_action(session, ticket_id=ticket.id, action=TicketAction.REFER, actor=by, unit_id=unit_id(engine, unit))
        return Filed(id=ticket.id, tracking_code=ticket.tracking_code)


def status_of(engine: Engine, ticket: Filed) -> TicketStatus:
    with unit_of_work(engine) as session:
        found = session.get(Ticket, ticket.id)
        assert found is not None
        return found.status


def steps_of(engine: Engine, ticket: Filed) -> list[tuple[TicketAction, TicketStatus, TicketStatus, str]]:
    with unit_of_work(engine) as session:
        rows = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id)
                            .order_by(col(TicketTransition.id))).all()
        return [(row.action, row.from_status, row.to_status, row.note) for row in rows]


def referred_long_ago(engine: Engine, ticket: Filed, *, by: timedelta) -> None:
    """Move the referral back in time, as if the unit had let the ticket sit (test setup only: rows are
    otherwise never rewritten), the unit's clock on the ticket's row with it."""
    with unit_of_work(engine) as session:
        for row in session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id)).all():
            row.at -= by
            session.add(row)
        held = session.get(Ticket, ticket.id)
        assert held is not None
        if held.referred_at is not None and held.unit_deadline is not None:
            held.referred_at -= by
            held.unit_deadline -= by
            session.add(held)
        session.commit()
