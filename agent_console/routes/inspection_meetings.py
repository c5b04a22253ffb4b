"""The inspection office's meetings page: publishing slots (one or a series on working days), withdrawing one, and
the inspectors' day view (each slot with its bookings: the tracking code and a link to the case for the complaints
the user may see, callcenter/complaints/access.py; "booked" only for the others; never an identity)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from agent_console.deps import InspectionStaff, SessionDep, SettingsDep
from agent_console.templating import TEMPLATES
from callcenter.complaints import access, meetings
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.calendar import in_tehran, jalali_day_label, jalali_input, parse_jalali_day, tehran_clock
from callcenter.platform.errors import NotFound, ValidationFailed
from callcenter.platform.persian import ascii_digits, persian_digits
from db.models import Complaint, MeetingSlot, User, utcnow

router = APIRouter(prefix="/inspection/meetings", include_in_schema=False)
log = logging.getLogger(__name__)

PAGE = "/inspection/meetings"
FLASH_KEY = "inspection_meetings_flash"
BAD_DAY = "تاریخ را به شکل ۱۴۰۵/۰۹/۱۴ بنویسید."
BAD_TIME = "ساعت را به شکل ۰۹:۰۰ بنویسید."
BAD_NUMBER = "یک عدد درست بنویسید."
FIELD_NAMES = ("first_day", "last_day", "day_start", "day_end", "every_minutes", "minutes", "capacity", "place")


@dataclass(frozen=True)
class BookingRow:
    tracking_code: str | None   # None: a complaint this user may not see ("booked" only)
    case_url: str | None


@dataclass(frozen=True)
class SlotRow:
    slot_id: int
    clock: str
    until: str
    place: str
    filled: str      # «۱ از ۲»
    withdrawn: bool
    bookings: list[BookingRow]


def _day_param(raw: str | None, today: date) -> date:
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return today


def _slot_rows(session: Session, user: User, slots: list[MeetingSlot]) -> list[SlotRow]:
    bookings = meetings.live_bookings_of(session, [s.id for s in slots if s.id is not None])
    complaint_ids = {b.complaint_id for b in bookings}
    complaints = {c.id: c for c in session.exec(select(Complaint).where(col(Complaint.id).in_(complaint_ids))).all()}
    rows = []
    for meeting in slots:
        shown = []
        for booking in (b for b in bookings if b.slot_id == meeting.id):
            complaint = complaints.get(booking.complaint_id)
            if complaint is not None and access.can_see(session, user, complaint):
                shown.append(BookingRow(tracking_code=persian_digits(format_for_reading(complaint.tracking_code)),
                                        case_url=f"/inspection/complaints/{complaint.id}"))
            else:
                shown.append(BookingRow(tracking_code=None, case_url=None))
        rows.append(SlotRow(
            slot_id=meeting.id or 0, clock=tehran_clock(meeting.starts_at),
            until=tehran_clock(meeting.starts_at + timedelta(minutes=meeting.minutes)),
            place=persian_digits(meeting.place),
            filled=f"{persian_digits(meeting.booked)} از {persian_digits(meeting.capacity)}",
            withdrawn=meeting.withdrawn, bookings=shown))
    return rows


def _page(request: Request, session: Session, user: User, day: date, *, errors: dict[str, str] | None = None,
          fields: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    default_fields = {"first_day": jalali_input(day), "last_day": jalali_input(day), "day_start": "09:00",
                      "day_end": "12:00", "every_minutes": "30", "minutes": "30", "capacity": "1", "place": ""}
    context: dict[str, Any] = {
        "user": user, "day_label": jalali_day_label(day), "day": day.isoformat(),
        "previous_day": (day - timedelta(days=1)).isoformat(), "next_day": (day + timedelta(days=1)).isoformat(),
        "slots": _slot_rows(session, user, meetings.slots_of_day(session, day)),
        "errors": errors or {}, "fields": {**default_fields, **(fields or {})},
        "flash": request.session.pop(FLASH_KEY, None),
    }
    return TEMPLATES.TemplateResponse(request, "inspection/meetings.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse)
def meetings_page(request: Request, user: InspectionStaff, session: SessionDep, day: str | None = None) -> Response:
    """The day view (today in Tehran unless ``?day=YYYY-MM-DD``) with the publishing form."""
    return _page(request, session, user, _day_param(day, in_tehran(utcnow()).date()))


def _plan(fields: dict[str, str]) -> meetings.SeriesPlan:
    """The form's fields as a plan; ValidationFailed naming the first field that is not what it should be."""
    days: dict[str, date] = {}
    for name in ("first_day", "last_day"):
        try:
            days[name] = parse_jalali_day(fields[name])
        except ValueError as wrong:
            raise ValidationFailed(BAD_DAY, field=name) from wrong
    times: dict[str, time] = {}
    for name in ("day_start", "day_end"):
        try:
            times[name] = time.fromisoformat(ascii_digits(fields[name]).strip())
        except ValueError as wrong:
            raise ValidationFailed(BAD_TIME, field=name) from wrong
    numbers: dict[str, int] = {}
    for name in ("every_minutes", "minutes", "capacity"):
        text = ascii_digits(fields[name]).strip()
        if not text.isdigit():
            raise ValidationFailed(BAD_NUMBER, field=name)
        numbers[name] = int(text)
    return meetings.SeriesPlan(first_day=days["first_day"], last_day=days["last_day"], day_start=times["day_start"],
                               day_end=times["day_end"], every_minutes=numbers["every_minutes"],
                               minutes=numbers["minutes"], capacity=numbers["capacity"], place=fields["place"])


@router.post("")
def publish(
    request: Request, user: InspectionStaff, session: SessionDep, settings: SettingsDep,
    first_day: Annotated[str, Form(max_length=20)] = "", last_day: Annotated[str, Form(max_length=20)] = "",
    day_start: Annotated[str, Form(max_length=10)] = "", day_end: Annotated[str, Form(max_length=10)] = "",
    every_minutes: Annotated[str, Form(max_length=6)] = "", minutes: Annotated[str, Form(max_length=6)] = "",
    capacity: Annotated[str, Form(max_length=6)] = "", place: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Publish the form's slots and show their first day; a wrong field: the form again, everything kept."""
    fields = dict(zip(FIELD_NAMES, (first_day, last_day, day_start, day_end, every_minutes, minutes, capacity,
                                    place), strict=True))
    try:
        plan = _plan(fields)
        slots = meetings.publish(session, plan, hours=meetings.office_hours(settings), by=user, now=utcnow())
    except ValidationFailed as wrong:
        session.rollback()
        shown_day = _day_param(None, in_tehran(utcnow()).date())
        return _page(request, session, user, shown_day, errors={str(wrong.details.get("field", "form")): wrong.message},
                     fields=fields, status_code=wrong.status_code)
    session.commit()
    log.info("User %s published %d meeting slots", user.id, len(slots))
    request.session[FLASH_KEY] = f"{persian_digits(len(slots))} وقت دیدار منتشر شد."
    first = meetings.day_of(slots[0].starts_at) if slots else plan.first_day
    return RedirectResponse(f"{PAGE}?day={first.isoformat()}", status_code=303)


@router.post("/{slot_id}/withdraw")
def withdraw(slot_id: int, request: Request, user: InspectionStaff, session: SessionDep,
             settings: SettingsDep) -> Response:
    """Take a slot back: its bookings are cancelled and their complainants texted."""
    try:
        cancelled = meetings.withdraw(session, settings, slot_id=slot_id, now=utcnow())
        meeting = meetings.slot(session, slot_id)
    except NotFound as missing:
        session.rollback()
        return _page(request, session, user, in_tehran(utcnow()).date(), errors={"form": missing.message},
                     status_code=missing.status_code)
    session.commit()
    log.info("User %s withdrew meeting slot %d (%d bookings cancelled)", user.id, slot_id, len(cancelled))
    request.session[FLASH_KEY] = (f"وقت ساعت {tehran_clock(meeting.starts_at)} پس گرفته شد؛ "
                                  f"{persian_digits(len(cancelled))} وقت رزروشده لغو شد.")
    return RedirectResponse(f"{PAGE}?day={meetings.day_of(meeting.starts_at).isoformat()}", status_code=303)
