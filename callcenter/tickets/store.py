"""Ticket service: create tickets with a unique tracking code (never lost, never doubled) and read history."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from callcenter.platform.errors import NotFound, ValidationFailed
from callcenter.platform.persian import ascii_digits, normalize_phone_number, normalize_text
from callcenter.tickets.lifecycle import FINAL_STATUSES
from callcenter.tickets.reference_names import category_name, unit_name
from callcenter.tickets.tracking_code import new_tracking_code, parse_tracking_code
from db.engine import unit_of_work
from db.models import (
    ADDRESS_WORD_MAX_LENGTH,
    Call,
    Category,
    FeedbackKind,
    Ticket,
    TicketAddressWord,
    TicketCreate,
    TicketPublic,
    TicketSource,
    TicketStatus,
    TicketTransition,
    Unit,
    UnitKind,
    User,
    utcnow,
)

HISTORY_LIMIT = 20
# Still the municipality's business: the IVR offers these to a returning caller, duplicates are searched among them.
OPEN_STATUSES = tuple(status for status in TicketStatus if status not in FINAL_STATUSES)
PERSONNEL_CODE_MAX_DIGITS = 10


@dataclass(frozen=True)
class TicketSummary:
    """What the IVR reads out about a ticket."""

    tracking_code: str
    status: str
    unit_name: str
    last_change: datetime
_CODE_ATTEMPTS = 8


@dataclass(frozen=True)
class Submission:
    """A stored ticket, and whether this submission made it (False: a replay that found the first one, which
    must not be announced again)."""

    ticket: Ticket
    new: bool


def server_request_id(kind: str, key: str) -> str:
    """An idempotency key the server makes (``voice:<linkedid>``): the colon keeps it out of the clients' space,
    which ``TicketCreate`` restricts to letters, digits, ``-`` and ``_``."""
    return f"{kind}:{key}"


def create_ticket(session: Session, *, data: TicketCreate, created_by: User | None) -> Ticket:
    """Validate, normalise and store a ticket. A repeated ``request_id`` returns the first ticket."""
    return submit_ticket(session, data=data, created_by=created_by).ticket


def submit_ticket(
    session: Session, *, data: TicketCreate, created_by: User | None,
    source: TicketSource = TicketSource.OPERATOR, anonymous: bool = False,
) -> Submission:
    """``create_ticket``, telling a new ticket from a replayed submission. ``source`` is the channel it came in
    by; ``anonymous`` (a 1888 citizen online who asked for it) keeps no number, whatever the data says."""
    if data.request_id:
        existing = _by_request_id(session, data.request_id)
        if existing is not None:
            return Submission(existing, new=False)
    category = session.get(Category, data.category_id)
    if category is None:
        raise ValidationFailed("دسته‌بندی انتخاب‌شده وجود ندارد.", field="category_id")
    if session.get(Unit, data.unit_id) is None:
        raise ValidationFailed("واحد انتخاب‌شده وجود ندارد.", field="unit_id")
    _check_district(session, data.district_id)
    description = normalize_text(data.description)
    if not description:
        raise ValidationFailed("شرح درخواست را بنویسید.", field="description")
    call = session.get(Call, data.call_id) if data.call_id is not None else None
    if data.call_id is not None and call is None:
        raise ValidationFailed("تماس مرتبط پیدا نشد.", field="call_id")
    anonymous = anonymous or bool(call and call.anonymous)
    caller = None if anonymous else data.caller_number or (call.caller_number if call else None)
    if (data.latitude is None) != (data.longitude is None):
        raise ValidationFailed("موقعیت روی نقشه ناقص است؛ دوباره انتخاب کنید.", field="latitude")
    ticket = Ticket(
        category_id=category.id,
        unit_id=data.unit_id,
        address=normalize_text(data.address),
        description=description,
        line=call.line if call else category.line,
        caller_number=normalize_phone_number(caller) if caller else None,
        # An anonymous caller's ticket must not lead back to them, not even through the call record.
        call_id=call.id if call and not anonymous else None,
        created_by_id=created_by.id if created_by else None,
        request_id=data.request_id,
        feedback_kind=data.feedback_kind or (call.feedback_kind if call else None),
        personnel_code=_personnel_code(data.personnel_code or (call.personnel_code if call else None)),
        anonymous=anonymous,
        district_id=data.district_id,
        priority=data.priority,
        source=source,
        latitude=data.latitude,
        longitude=data.longitude,
        tracking_code="",
    )
    submission = _insert_with_unique_code(session, ticket)
    if submission.new:
        _index_address_words(session, submission.ticket)
    return submission


def _check_district(session: Session, district_id: int | None) -> None:
    if district_id is None:
        return
    district = session.get(Unit, district_id)
    if district is None or district.kind != UnitKind.DISTRICT:
        raise ValidationFailed("منطقه انتخاب‌شده از مناطق شهرداری نیست.", field="district_id")


@dataclass(frozen=True)
class VoiceMessage:
    """A message a caller recorded in the IVR, with what the menu learnt about them."""

    line: str
    linkedid: str
    caller_number: str | None
    recording: str  # file name under the recordings folder
    feedback_kind: FeedbackKind | None = None
    personnel_code: str | None = None
    anonymous: bool = False


VOICE_MESSAGE_DESCRIPTION = "پیام صوتی شهروند؛ برای شنیدن، فایل پیوست را پخش کنید."


def create_voice_message_ticket(session: Session, *, message: VoiceMessage) -> Ticket:
    """A ticket around a recorded message, awaiting classification; a retried IVR step returns the first one."""
    return submit_voice_message(session, message=message).ticket


def submit_voice_message(session: Session, *, message: VoiceMessage) -> Submission:
    """``create_voice_message_ticket``, telling a new ticket from a retried IVR step."""
    request_id = server_request_id("voice", message.linkedid)
    existing = _by_request_id(session, request_id)
    if existing is not None:
        return Submission(existing, new=False)
    call = None if message.anonymous else session.exec(select(Call).where(Call.linkedid == message.linkedid)).first()
    caller = None if message.anonymous else normalize_phone_number(message.caller_number or "") or None
    ticket = Ticket(
        description=VOICE_MESSAGE_DESCRIPTION, line=message.line, source=TicketSource.VOICE_MESSAGE,
        caller_number=caller, call_id=call.id if call else None, request_id=request_id,
        feedback_kind=message.feedback_kind, personnel_code=_personnel_code(message.personnel_code),
        anonymous=message.anonymous, recording=message.recording, tracking_code="",
    )
    return _insert_with_unique_code(session, ticket)


def _personnel_code(raw: str | None) -> str | None:
    if not raw:
        return None
    code = ascii_digits(raw).strip()
    if not code.isascii() or not code.isdigit() or len(code) > PERSONNEL_CODE_MAX_DIGITS:
        raise ValidationFailed("کد پرسنلی باید فقط رقم و حداکثر ۱۰ رقم باشد.", field="personnel_code")
    return code


def _insert_with_unique_code(session: Session, ticket: Ticket) -> Submission:
    for _ in range(_CODE_ATTEMPTS):
        ticket.tracking_code = new_tracking_code()
        try:
            # A savepoint: a refused insert undoes only itself, never the rest of the caller's transaction.
            with session.begin_nested():
                session.add(ticket)
            session.refresh(ticket)
            return Submission(ticket, new=True)
        except IntegrityError:
            # Either the code was taken (try another) or a twin submission won the race (return it).
            if ticket.request_id:
                twin = _by_request_id(session, ticket.request_id)
                if twin is not None:
                    return Submission(twin, new=False)
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


# Words that say what kind of place a part of an address is, not which place: ignored when comparing.
_ADDRESS_FILLER = frozenset({"خیابان", "خ", "کوچه", "ک", "پلاک", "پ", "نبش", "روبروی", "روبه‌روی", "جنب", "بلوار",
                             "میدان", "م", "بن‌بست", "انتهای", "ابتدای", "کنار", "محله", "شهرک", "و", "،", "-"})
NEARBY_SIMILARITY = 0.5
DUPLICATE_WINDOW = timedelta(days=30)


def address_words(address: str) -> frozenset[str]:
    """The distinctive words of an address (street and alley names, numbers), normalised."""
    text = ascii_digits(normalize_text(address))
    words = re.split(r"[\s،,.\-/]+", text)
    return frozenset(w for w in words if w and w not in _ADDRESS_FILLER)


def addresses_near(first: str, second: str) -> bool:
    """Same place in the words people use: at least half of the distinctive words shared."""
    a, b = address_words(first), address_words(second)
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= NEARBY_SIMILARITY


def possible_duplicates(
    session: Session, *, category_id: int | None, address: str, caller_number: str | None,
    now: datetime | None = None,
) -> list[TicketPublic]:
    """Open tickets the operator should see before filing: the caller's own, and the same problem nearby; the
    newest ``HISTORY_LIMIT`` of them, each part read through an index (ADR 0077)."""
    since = (now or datetime.now(UTC)) - DUPLICATE_WINDOW
    found: dict[int, Ticket] = {}
    number = normalize_phone_number(caller_number or "")
    if number:
        for ticket in session.exec(_newest_first(select(Ticket).where(
                Ticket.caller_number == number, col(Ticket.status).in_(OPEN_STATUSES),
                col(Ticket.created_at) >= since)).limit(HISTORY_LIMIT)).all():
            found[ticket.id] = ticket  # type: ignore[index]
    if category_id is not None:
        for ticket in _near_in_category(session, category_id=category_id, address=address, since=since):
            found[ticket.id] = ticket  # type: ignore[index]
    ordered = sorted(found.values(), key=lambda t: (t.created_at, t.id), reverse=True)
    return [to_public(session, ticket) for ticket in ordered[:HISTORY_LIMIT]]


_CANDIDATES_PAGE = 100


def _near_in_category(session: Session, *, category_id: int, address: str, since: datetime) -> list[Ticket]:
    """The newest open tickets of the category filed since ``since`` whose address is near ``address``.

    The word index gives the candidates: tickets sharing enough of the address's words that they could be near
    (a Jaccard similarity of at least NEARBY_SIMILARITY needs at least that share of the words of either side);
    ``addresses_near`` then judges each, newest first, a page of candidates at a time."""
    words = address_words(address)
    keys = sorted({_word_key(word) for word in words})
    if not keys:
        return []
    # Words cut to the same key count once: each such collision can hide one shared word from the count.
    needed = max(1, math.ceil(round(NEARBY_SIMILARITY * len(words), 9)) - (len(words) - len(keys)))
    candidates = (
        select(TicketAddressWord.ticket_id)
        .where(TicketAddressWord.category_id == category_id, col(TicketAddressWord.word).in_(keys),
               col(TicketAddressWord.created_at) >= since)
        .group_by(col(TicketAddressWord.ticket_id)).having(sa.func.count() >= needed)
    )
    query = _newest_first(select(Ticket).where(col(Ticket.id).in_(candidates), col(Ticket.status).in_(OPEN_STATUSES)))
    near: list[Ticket] = []
    while len(near) < HISTORY_LIMIT:
        page = session.exec(query.limit(_CANDIDATES_PAGE)).all()
        near.extend(ticket for ticket in page if addresses_near(ticket.address, address))
        if len(page) < _CANDIDATES_PAGE:
            break
        last = page[-1]
        query = query.where(sa.tuple_(col(Ticket.created_at), col(Ticket.id)) < (last.created_at, last.id))
    return near[:HISTORY_LIMIT]


def _newest_first(query: SelectOfScalar[Ticket]) -> SelectOfScalar[Ticket]:
    return query.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())


def _word_key(word: str) -> str:
    return word[:ADDRESS_WORD_MAX_LENGTH]


def _index_address_words(session: Session, ticket: Ticket) -> None:
    """The new ticket's address words, for the duplicate check (a ticket without a category is never searched)."""
    if ticket.id is None or ticket.category_id is None:
        return
    for key in sorted({_word_key(word) for word in address_words(ticket.address)}):
        session.add(TicketAddressWord(ticket_id=ticket.id, word=key, category_id=ticket.category_id,
                                      created_at=ticket.created_at))


ADDRESS_WORD_PURGE_EVERY = timedelta(hours=1)


def purge_address_words(session: Session, *, now: datetime) -> int:
    """Forget the address words of tickets filed before the duplicate window (the scheduler's purge job).

    By ticket id, the word table's key: every ticket below the first one filed within the window was filed before
    it (a ticket filed within it is at or above that first one), so only words nobody searches for go."""
    first_recent = session.exec(select(sa.func.min(Ticket.id)).where(
        col(Ticket.created_at) >= now - DUPLICATE_WINDOW)).one()
    stale = sa.delete(TicketAddressWord)
    if first_recent is not None:
        stale = stale.where(col(TicketAddressWord.ticket_id) < first_recent)
    return int(session.exec(stale).rowcount or 0)


def address_word_purge_job(*, engine: Engine, now: Callable[[], datetime] = utcnow) -> Callable[[], int]:
    """The scheduler's job: ``purge_address_words`` in a unit of work of its own; returns how many rows went."""
    def purge() -> int:
        with unit_of_work(engine) as session:
            return purge_address_words(session, now=now())
    return purge


def to_public(session: Session, ticket: Ticket) -> TicketPublic:
    return TicketPublic.model_validate(
        ticket,
        update={"category_name": category_name(session, ticket.category_id),
                "unit_name": unit_name(session, ticket.unit_id),
                "district_name": unit_name(session, ticket.district_id),
                "has_recording": ticket.recording is not None},
    )


def unclassified_voice_messages(session: Session, *, limit: int = 100) -> list[TicketPublic]:
    """Recorded messages still without a category, in the order they were left."""
    tickets = session.exec(
        select(Ticket).where(Ticket.source == TicketSource.VOICE_MESSAGE, col(Ticket.category_id).is_(None))
        .order_by(col(Ticket.created_at), col(Ticket.id)).limit(limit)
    ).all()
    return [to_public(session, ticket) for ticket in tickets]


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
        with unit_of_work(self._engine) as session:
            ticket = session.exec(
                select(Ticket)
                .where(Ticket.caller_number == number, col(Ticket.status).in_(OPEN_STATUSES))
                .order_by(col(Ticket.created_at).desc())
            ).first()
            return _summary(session, ticket) if ticket else None

    def _by_tracking_code(self, code: str) -> TicketSummary | None:
        with unit_of_work(self._engine) as session:
            ticket = session.exec(select(Ticket).where(Ticket.tracking_code == code)).first()
            return _summary(session, ticket) if ticket else None


def _summary(session: Session, ticket: Ticket) -> TicketSummary:
    unit = session.get(Unit, ticket.unit_id) if ticket.unit_id is not None else None
    latest = session.exec(select(TicketTransition.at).where(TicketTransition.ticket_id == ticket.id)
                          .order_by(col(TicketTransition.at).desc(), col(TicketTransition.id).desc())).first()
    # The caller hears when their request last moved (a referral, a report, a reopening), else when it was filed.
    return TicketSummary(tracking_code=ticket.tracking_code, status=ticket.status.value,
                         unit_name=unit.name if unit else "", last_change=latest or ticket.created_at)
