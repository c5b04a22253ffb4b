"""Tickets filed through the public channels, as their routes leave them (file_from_channel), for channel tests."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from callcenter.tickets.filing import file_from_channel
from callcenter.tickets.lifecycle import Citizen
from db.engine import unit_of_work
from db.models import Category, TicketCreate, TicketSource, Unit, User
from tests.support.ticket_flow import Filed


def filed_through(engine: Engine, source: TicketSource, *, desk: User | None = None,
                  category: str = "جمع‌آوری زباله") -> Filed:
    """A ticket of ``source`` routed by the routing table: by the citizen online, or by ``desk`` in person."""
    with unit_of_work(engine) as session:
        chosen = session.exec(select(Category).where(Category.name == category)).one()
        district = session.exec(select(Unit).where(Unit.name == "منطقه دو")).one()
        assert chosen.id is not None and chosen.default_unit_id is not None
        data = TicketCreate(category_id=chosen.id, unit_id=chosen.default_unit_id, district_id=district.id,
                            description="چراغ کوچه خاموش است", address="خیابان فردوسی، کوچه ۱۲",
                            caller_number="09121234567")
        by = desk if source == TicketSource.IN_PERSON and desk is not None else Citizen(channel=source)
        ticket = file_from_channel(session, data=data, source=source, by=by).ticket
        assert ticket.id is not None
        return Filed(id=ticket.id, tracking_code=ticket.tracking_code)
