"""Open311 service requests: tickets of the 137 line as the spec's requests, and a posted request filed as a ticket.

Who sees what (decision 60): any ticket of a 137 service shows its service, status (open/closed with a public note),
responsible unit and dates; only a request that came in through Open311 also shows its description, address and
location, which the citizen gave to a public app. A citizen's number is never part of an answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from callcenter.open311.catalog import (
    DISTRICT_ATTRIBUTE,
    district_id,
    service_categories,
    service_category,
    service_code,
)
from callcenter.platform.errors import InvalidTrackingCode, NotFound, ValidationFailed
from callcenter.platform.persian import normalize_phone_number, persian_digits
from callcenter.tickets.filing import file_from_channel
from callcenter.tickets.lifecycle import FINAL_STATUSES, Citizen
from callcenter.tickets.sms import StatusLink
from callcenter.tickets.store import server_request_id, to_public
from callcenter.tickets.tracking_code import parse_tracking_code
from db.models import (
    Category,
    Line,
    Ticket,
    TicketCreate,
    TicketPublic,
    TicketSource,
    TicketStatus,
    TicketTransition,
    Unit,
)

TOKEN_KIND = "open311"
MAX_RANGE = timedelta(days=90)  # the spec's longest start_date..end_date span, and the default range
MAX_RESULTS = 1000
MAX_IDS = 100
# An app's own idempotency key (the Idempotency-Key header): namespaced by its API key, within request_id's 64.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,36}")
PHONE = re.compile(r"0\d{6,14}")

# What a citizen's app shows for each status: public wording, never a staff member's note.
STATUS_NOTES: Mapping[TicketStatus, str] = {
    TicketStatus.REGISTERED: "ثبت شد؛ در انتظار ارجاع به واحد مسئول.",
    TicketStatus.REFERRED: "به واحد مسئول ارجاع شد.",
    TicketStatus.ACCEPTED: "واحد مسئول رسیدگی را آغاز کرده است.",
    TicketStatus.DONE: "واحد مسئول انجام کار را اعلام کرده است؛ از شهروند پرسیده می‌شود که مشکل رفع شده است یا نه.",
    TicketStatus.AWAITING_VERIFICATION: "در انتظار تأیید شهروند دربارهٔ رفع مشکل.",
    TicketStatus.VERIFIED: "شهروند رفع مشکل را تأیید کرد.",
    TicketStatus.REOPENED: "به گفتهٔ شهروند مشکل رفع نشده بود؛ دوباره به واحد مسئول برگشت.",
    TicketStatus.DISPUTED: "در حال بررسی میدانی.",
    TicketStatus.CLOSED_ON_VERDICT: "پس از بررسی میدانی بسته شد.",
    TicketStatus.CANCELLED: "این درخواست تکراری یا نادرست بود و بسته شد.",
}


def open_or_closed(status: TicketStatus) -> str:
    """The spec's two statuses: a ticket is closed once it is final (verified, closed on verdict, cancelled)."""
    return "closed" if status in FINAL_STATUSES else "open"


def w3c(moment: datetime) -> str:
    """ISO 8601 as the W3C note has it, in UTC (``…Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_w3c(raw: str, *, field: str) -> datetime:
    """A W3C date or date-time; a time must carry its zone (the spec's rule), a bare date is midnight UTC."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationFailed("تاریخ باید به قالب استاندارد ایزو ۸۶۰۱ باشد.", field=field) from None
    if moment.tzinfo is None:
        if len(raw.strip()) > len("2026-01-01"):
            raise ValidationFailed("زمان باید منطقهٔ زمانی داشته باشد.", field=field)
        moment = moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class RequestQuery:
    """GET requests' filters; ``ids`` (tracking codes), when given, override all the others."""

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def parse_query(params: Mapping[str, str], *, now: datetime) -> RequestQuery:
    """The query string as the spec defines it (comma-separated lists, W3C dates, open/closed)."""
    ids = _listed(params.get("service_request_id", ""))
    if ids:
        if len(ids) > MAX_IDS:
            raise ValidationFailed(f"حداکثر {persian_digits(MAX_IDS)} شناسهٔ درخواست در هر پرسش.",
                                   field="service_request_id")
        return RequestQuery(ids=tuple(ids))
    statuses = _listed(params.get("status", ""))
    if any(status not in ("open", "closed") for status in statuses):
        raise ValidationFailed("وضعیت فقط باز یا بسته است.", field="status")
    start = parse_w3c(params["start_date"], field="start_date") if params.get("start_date") else None
    end = parse_w3c(params["end_date"], field="end_date") if params.get("end_date") else None
    end = end or (start + MAX_RANGE if start else now)
    start = start or end - MAX_RANGE
    if start > end:
        raise ValidationFailed("تاریخ آغاز پس از تاریخ پایان است.", field="start_date")
    if end - start > MAX_RANGE:
        raise ValidationFailed("بازهٔ تاریخ‌ها بیش از ۹۰ روز است.", field="end_date")
    return RequestQuery(service_codes=tuple(_listed(params.get("service_code", ""))), statuses=tuple(statuses),
                        start=start, end=end)


def find_requests(session: Session, query: RequestQuery) -> list[dict[str, Any]]:
    """GET requests: the tickets the query names, newest first (at most ``MAX_RESULTS``). Only tickets filed
    through Open311: a phoned-in or web ticket's tracking code opens its timeline only with the citizen's mobile
    digits or signed link (the track page), so no listing here may publish it (ADR 0060)."""
    statement = select(Ticket).where(Ticket.line == Line.SERVICES.value, col(Ticket.category_id).is_not(None),
                                     Ticket.source == TicketSource.OPEN311)
    if query.ids:
        codes = [code for code in (_tracking_code(raw) for raw in query.ids) if code]
        statement = statement.where(col(Ticket.tracking_code).in_(codes))
    else:
        statement = statement.where(col(Ticket.created_at) >= query.start, col(Ticket.created_at) <= query.end)
        if query.service_codes:
            ids = [int(code) for code in query.service_codes if code.isascii() and code.isdigit() and len(code) < 18]
            statement = statement.where(col(Ticket.category_id).in_(ids))
        if set(query.statuses) == {"open"}:
            statement = statement.where(col(Ticket.status).not_in(FINAL_STATUSES))
        elif set(query.statuses) == {"closed"}:
            statement = statement.where(col(Ticket.status).in_(FINAL_STATUSES))
    tickets = session.exec(statement.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
                           .limit(MAX_RESULTS)).all()
    return _as_requests(session, tickets)


def request_by_id(session: Session, raw: str) -> dict[str, Any]:
    """GET requests/{id}: one request (by its tracking code), or :class:`NotFound`."""
    code = _tracking_code(raw)
    found = find_requests(session, RequestQuery(ids=(code,))) if code else []
    if not found:
        raise NotFound("درخواستی با این شناسه نیست.", field="service_request_id")
    return found[0]


def request_by_token(session: Session, token: str) -> dict[str, str]:
    """GET tokens/{token}: the request a post's token became."""
    ticket = session.exec(select(Ticket).where(Ticket.request_id == server_request_id(TOKEN_KIND, token))).first()
    if ticket is None:
        raise NotFound("درخواستی با این نشانه ثبت نشده است.", field="token")
    return {"service_request_id": ticket.tracking_code, "token": token}


@dataclass(frozen=True)
class Posted:
    """A filed request: what the POST answers, and whether it is new (False: the app's retry found the first)."""

    answer: dict[str, Any]
    new: bool
    ticket: TicketPublic  # for the consoles' announcement (staff's view: never part of the answer)


def new_token(key_id: int, idempotency_key: str | None) -> str:
    """The token of a post: the app's own idempotency key (per API key), else a fresh one."""
    if idempotency_key is None:
        return uuid.uuid4().hex
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ValidationFailed("کلید تکرار فقط حروف و رقم‌های لاتین، خط تیره و زیرخط است (حداکثر ۳۶ نویسه).",
                               field="Idempotency-Key")
    return f"k{key_id}-{idempotency_key}"


def post_request(session: Session, form: Mapping[str, str], *, token: str,
                 status_link: StatusLink | None = None) -> Posted:
    """POST requests: the form fields as the spec names them, filed through the routing table as a citizen's
    ticket. Only the phone is kept of who the citizen is (email and names are not stored, decision 60)."""
    code = form.get("service_code", "").strip()
    if not code:
        raise ValidationFailed("کد خدمت لازم است.", field="service_code")
    category = service_category(session, code)
    lat, long = form.get("lat", "").strip(), form.get("long", "").strip()
    address = form.get("address_string", "").strip() or form.get("address_id", "").strip()
    if not address and not (lat and long):
        raise ValidationFailed("مکان لازم است: طول و عرض جغرافیایی، یا نشانی.", field="address_string")
    data = _ticket_data(category, form, lat=lat, long=long, address=address)
    try:
        submission = file_from_channel(session, data=data.model_copy(update={"request_id": server_request_id(
            TOKEN_KIND, token)}), source=TicketSource.OPEN311, by=Citizen(channel=TicketSource.OPEN311),
            status_link=status_link)
    except ValidationFailed as error:  # named as the app knows the field (attribute[district], not district_id)
        raise ValidationFailed(error.message, field=_field_name(error.details.get("field", ""))) from error
    ticket = submission.ticket
    unit = session.get(Unit, ticket.unit_id) if ticket.unit_id else None
    notice = (f"درخواست شما با کد رهگیری {persian_digits(ticket.tracking_code)} ثبت و به «{unit.name if unit else ''}»"
              " ارجاع شد؛ پیگیری در ۱۳۷.")
    return Posted(answer={"service_request_id": ticket.tracking_code, "token": token, "service_notice": notice,
                          "account_id": None}, new=submission.new, ticket=to_public(session, ticket))


def _ticket_data(category: Category, form: Mapping[str, str], *, lat: str, long: str, address: str) -> TicketCreate:
    phone = normalize_phone_number(form.get("phone", "")) if form.get("phone", "").strip() else None
    if phone is not None and not PHONE.fullmatch(phone):
        raise ValidationFailed("شمارهٔ تلفن درست نیست.", field="phone")
    values = {
        "category_id": category.id,
        # Only to satisfy the schema: the routing table picks the unit (file_from_channel overrides it).
        "unit_id": category.default_unit_id or 1,
        "district_id": district_id(form.get(f"attribute[{DISTRICT_ATTRIBUTE}]", "")),
        "description": form.get("description", "").strip() or category.name,
        "address": address, "caller_number": phone,
        "latitude": lat or None, "longitude": long or None,
    }
    try:
        return TicketCreate.model_validate(values)
    except PydanticValidationError as exc:
        names = ", ".join(dict.fromkeys(_field_name(error["loc"][0]) for error in exc.errors()))
        raise ValidationFailed("این پارامترها درست نیستند.", field=names) from exc


_FORM_NAMES = {"latitude": "lat", "longitude": "long", "address": "address_string",
               "district_id": f"attribute[{DISTRICT_ATTRIBUTE}]", "caller_number": "phone"}


def _field_name(field: object) -> str:
    return _FORM_NAMES.get(str(field), str(field))


def _listed(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _tracking_code(raw: str) -> str | None:
    try:
        return parse_tracking_code(raw)
    except InvalidTrackingCode:
        return None


def _as_requests(session: Session, tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    if not tickets:
        return []
    units = {unit.id: unit.name for unit in session.exec(select(Unit)).all()}
    categories = {category.id: category for category in service_categories(session)}
    ids = [ticket.id for ticket in tickets]
    last_step = select(TicketTransition.ticket_id, func.max(TicketTransition.at)).where(
        col(TicketTransition.ticket_id).in_(ids)).group_by(col(TicketTransition.ticket_id))
    updated: dict[int | None, datetime] = dict(session.exec(last_step).all())
    return [_as_request(ticket, categories[ticket.category_id], units, updated.get(ticket.id))
            for ticket in tickets if ticket.category_id in categories]


def _as_request(ticket: Ticket, category: Category, units: Mapping[int | None, str],
                updated: datetime | None) -> dict[str, Any]:
    # What the citizen gave a public app is public; what a caller told an operator is not.
    published = ticket.source == TicketSource.OPEN311
    return {
        "service_request_id": ticket.tracking_code,
        "status": open_or_closed(ticket.status),
        "status_notes": STATUS_NOTES[ticket.status],
        "service_name": category.name,
        "service_code": service_code(category),
        "description": ticket.description if published else "",
        "agency_responsible": units.get(ticket.unit_id, ""),
        "service_notice": "",
        "requested_datetime": w3c(ticket.created_at),
        "updated_datetime": w3c(max(updated or ticket.created_at, ticket.created_at)),
        "address": ticket.address if published else "",
        "lat": ticket.latitude if published else None,
        "long": ticket.longitude if published else None,
    }
