"""Tickets and staff for lifecycle tests, set up through the domain functions (as the console would leave them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from callcenter.platform.bus import DomainEvent, InProcessBus
from callcenter.platform.security import hash_password
from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.store import create_ticket
from callcenter.tickets.tracking_code import verhoeff_check_digit
from callcenter.tickets.unit_receipts import rebuild_summaries
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
    UTCDateTime,
)

PASSWORD = "flow-test-password"
WASTE = "سازمان مدیریت پسماند"
GREENERY = "سازمان سیما، منظر و فضای سبز شهری"
LIGHTING = "اداره روشنایی و تأسیسات برقی"


class RecordingBus(InProcessBus):
    """The in-process bus, remembering what was published."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[DomainEvent] = []

    def publish(self, name: str, data: dict[str, Any], *, origin: float | None = None) -> DomainEvent:
        event = super().publish(name, data, origin=origin)
        self.events.append(event)
        return event


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
    otherwise never rewritten), the unit's clock on the ticket's row and the unit receipts with it."""
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
        rebuild_summaries(session)  # the history was rewritten around the lifecycle: its summaries follow
        session.commit()


# Tickets referred to a unit, written by one INSERT … SELECT over a counting query, with their referral steps and
# the unit receipts those begin (and, if asked, escalations of their rounds): tens of thousands in a second or two,
# the same SQL on both databases. The i-th ticket's priority is urgent, high, normal in turn; its tracking code is
# the prefix and i.
_BULK_TICKETS = sa.text("""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO ticket (tracking_code, address, description, category_id, unit_id, line, source, status, created_at,
                    anonymous, priority, referred_at, unit_deadline)
SELECT CAST(:prefix AS VARCHAR(8)) || CAST(i AS VARCHAR(8)), '', 'درخواست آزمون انبوه', :category_id, :unit_id,
       '137', 'operator', 'referred', :at, :anonymous,
       CASE i % 3 WHEN 1 THEN 'urgent' WHEN 2 THEN 'high' ELSE 'normal' END, :at, :deadline
FROM n
""").bindparams(sa.bindparam("at", type_=UTCDateTime()), sa.bindparam("deadline", type_=UTCDateTime()))
_BULK_REFERRALS = sa.text("""
INSERT INTO ticket_transition (ticket_id, from_status, to_status, action, actor_role, note, to_unit_id, at)
SELECT id, 'registered', 'referred', 'refer', 'operator', '', unit_id, referred_at FROM ticket WHERE id > :after
""")
_BULK_RECEIPTS = sa.text("""
INSERT INTO unit_receipt (referral_id, ticket_id, unit_id, source, referred_at, deadline, resolved, not_resolved,
                          verdicts_against, verdicts_for, last_step_at)
SELECT s.id, t.id, t.unit_id, t.source, s.at, t.unit_deadline, 0, 0, 0, 0, s.at
FROM ticket t JOIN ticket_transition s ON s.ticket_id = t.id WHERE t.id > :after
""")
_BULK_ESCALATIONS = sa.text("""
INSERT INTO ticket_escalation (ticket_id, unit_id, round_step_id, deadline, escalated_at)
SELECT t.id, t.unit_id, s.id, t.unit_deadline, t.unit_deadline FROM ticket t
JOIN ticket_transition s ON s.ticket_id = t.id WHERE t.id > :after AND t.id % :every != 0
""")


def bulk_referred_tickets(engine: Engine, *, unit: str, count: int, referred_at: datetime, prefix: str,
                          category: str = "جمع‌آوری زباله", escalated_but_every: int | None = None,
                          real_codes: bool = False) -> range:
    """``count`` tickets referred to ``unit`` at ``referred_at`` (the category's deadline after it), and the ids
    they got. With ``escalated_but_every=k``, every round is already escalated except those of ids divisible by k.
    ``real_codes`` gives each a tracking code with its check digit, as a page acting on them needs (one update
    per ticket: for a page's worth, not for tens of thousands)."""
    with unit_of_work(engine) as session:
        chosen = session.exec(select(Category).where(Category.name == category)).one()
        before = session.exec(select(sa.func.max(Ticket.id))).one() or 0
        deadline = referred_at + timedelta(hours=chosen.sla_hours)
        session.execute(_BULK_TICKETS, {"count": count, "prefix": prefix, "category_id": chosen.id,
                                        "unit_id": unit_id(engine, unit), "at": referred_at, "deadline": deadline,
                                        "anonymous": False})
        session.execute(_BULK_REFERRALS, {"after": before})
        session.execute(_BULK_RECEIPTS, {"after": before})
        if escalated_but_every is not None:
            session.execute(_BULK_ESCALATIONS, {"after": before, "every": escalated_but_every})
        last = session.exec(select(sa.func.max(Ticket.id))).one() or before
        for ticket_id in range(before + 1, last + 1) if real_codes else ():
            body = f"9{ticket_id:07d}"
            session.exec(sa.update(Ticket).where(col(Ticket.id) == ticket_id)
                         .values(tracking_code=body + verhoeff_check_digit(body)))
    return range(before + 1, last + 1)
