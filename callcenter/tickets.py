"""Ticket service: create tickets with a unique tracking code (never lost, never doubled) and read history."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from callcenter.errors import NotFound, ValidationFailed
from callcenter.persian import normalize_phone_number, normalize_text
from callcenter.tracking_code import new_tracking_code, parse_tracking_code
from db.models import Call, Category, Ticket, TicketCreate, TicketPublic, TicketStatus, Unit, User

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class TicketSummary:
    """What the IVR reads out about a ticket."""

    tracking_code: str
    status: str
    unit_name: str
    last_change: datetime
_CODE_ATTEMPTS = 8


def create_ticket(session: Session, *, data: TicketCreate, created_by: User | None) -> Ticket:
    """Validate, normalise and store a ticket. A repeated ``request_id`` returns the first ticket."""
    if data.request_id:
        existing = _by_request_id(session, data.request_id)
        if existing is not None:
            return existing
    category = session.get(Category, data.category_id)
    if category is None:
        raise ValidationFailed("دسته‌بندی انتخاب‌شده وجود ندارد.", field="category_id")
    if session.get(Unit, data.unit_id) is None:
        raise ValidationFailed("واحد انتخاب‌شده وجود ندارد.", field="unit_id")
    description = normalize_text(data.description)
    if not description:
        raise ValidationFailed("شرح درخواست را بنویسید.", field="description")
    call = session.get(Call, data.call_id) if data.call_id is not None else None
    if data.call_id is not None and call is None:
        raise ValidationFailed("تماس مرتبط پیدا نشد.", field="call_id")
    caller = data.caller_number or (call.caller_number if call else None)
    ticket = Ticket(
        category_id=category.id,  # type: ignore[arg-type]
        unit_id=data.unit_id,
        address=normalize_text(data.address),
        description=description,
        line=call.line if call else category.line,
        caller_number=normalize_phone_number(caller) if caller else None,
        call_id=call.id if call else None,
        created_by_id=created_by.id if created_by else None,
        request_id=data.request_id,
        tracking_code="",
    )
    return _insert_with_unique_code(session, ticket)


def _insert_with_unique_code(session: Session, ticket: Ticket) -> Ticket:
    for _ in range(_CODE_ATTEMPTS):
        ticket.tracking_code = new_tracking_code()
        try:
            with session.begin_nested():
                session.add(ticket)
            session.commit()
            session.refresh(ticket)
            return ticket
        except IntegrityError:
            # Either the code was taken (try another) or a twin submission won the race (return it).
            session.rollback()
            if ticket.request_id:
                twin = _by_request_id(session, ticket.request_id)
                if twin is not None:
                    return twin
    raise ValidationFailed("ساخت کد رهگیری یکتا ممکن نشد؛ دوباره تلاش کنید.")


def _by_request_id(session: Session, request_id: str) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.request_id == request_id)).first()


def find_by_tracking_code(session: Session, raw_code: str) -> Ticket:
    code = parse_tracking_code(raw_code)
    ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).first()
    if ticket is None:
        raise NotFound("درخواستی با این کد رهگیری پیدا نشد.", tracking_code=code)
    return ticket


def tickets_for_caller(session: Session, caller_number: str, *, limit: int = HISTORY_LIMIT) -> list[TicketPublic]:
    """The caller's earlier tickets, newest first, for the screen pop."""
    number = normalize_phone_number(caller_number)
    if not number:
        return []
    tickets = session.exec(
        select(Ticket).where(Ticket.caller_number == number).order_by(col(Ticket.created_at).desc()).limit(limit)
    ).all()
    return [to_public(session, ticket) for ticket in tickets]


def to_public(session: Session, ticket: Ticket) -> TicketPublic:
    category = session.get(Category, ticket.category_id)
    unit = session.get(Unit, ticket.unit_id)
    return TicketPublic.model_validate(
        ticket,
        update={"category_name": category.name if category else "", "unit_name": unit.name if unit else ""},
    )


OPEN_STATUSES = (TicketStatus.REGISTERED,)


class DatabaseTicketDirectory:
    """The IVR's read-only view of tickets (implements ``ivr.flows.TicketDirectory``), off the event loop."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    async def latest_open_for_caller(self, caller_number: str) -> TicketSummary | None:
        return await asyncio.to_thread(self._latest_open_for_caller, caller_number)

    async def by_tracking_code(self, code: str) -> TicketSummary | None:
        return await asyncio.to_thread(self._by_tracking_code, code)

    def _latest_open_for_caller(self, caller_number: str) -> TicketSummary | None:
        number = normalize_phone_number(caller_number)
        if not number:
            return None
        with Session(self._engine) as session:
            ticket = session.exec(
                select(Ticket)
                .where(Ticket.caller_number == number, col(Ticket.status).in_(OPEN_STATUSES))
                .order_by(col(Ticket.created_at).desc())
            ).first()
            return _summary(session, ticket) if ticket else None

    def _by_tracking_code(self, code: str) -> TicketSummary | None:
        with Session(self._engine) as session:
            ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).first()
            return _summary(session, ticket) if ticket else None


def _summary(session: Session, ticket: Ticket) -> TicketSummary:
    unit = session.get(Unit, ticket.unit_id)
    # Until tickets have a history (issue 6), the last change is their creation.
    return TicketSummary(tracking_code=ticket.tracking_code, status=ticket.status.value,
                         unit_name=unit.name if unit else "", last_change=ticket.created_at)
