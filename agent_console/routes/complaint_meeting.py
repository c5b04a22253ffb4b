"""The complainant's meeting page (no login): the days with free times, book, reschedule and cancel for the one
complaint this browser's pass names (agent_console/complaint_pass.py). Plain forms, no JavaScript needed; each
POST carries the session's CSRF field and answers with a redirect (or the page again with the refusal)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from agent_console import complaint_pass
from agent_console.deps import SessionDep, SettingsDep
from agent_console.templating import TEMPLATES
from callcenter.complaints import meetings
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.calendar import jalali_day_label, tehran_clock
from callcenter.platform.errors import Conflict, NotFound, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from db.models import Complaint, MeetingSlot, utcnow

router = APIRouter(prefix="/complaints/meeting", include_in_schema=False)
log = logging.getLogger(__name__)

PAGE = "/complaints/meeting"
DONE = {
    "booked": "وقت دیدار شما ثبت شد.",
    "moved": "وقت دیدار شما تغییر کرد.",
    "cancelled": "وقت دیدار شما لغو شد.",
}
SMS_NOTE = "پیامک تأیید به شماره همراه شما فرستاده شد."
NO_SLOT_CHOSEN = "یکی از وقت‌های آزاد را انتخاب کنید."


@dataclass(frozen=True)
class FreeTime:
    slot_id: int
    clock: str       # «۰۹:۳۰»
    free: str        # «۲ جای خالی»
    place: str


@dataclass(frozen=True)
class Day:
    label: str       # «شنبه ۱۴ آذر ۱۴۰۵»
    key: str         # 2026-12-05, for the fieldset's id
    times: list[FreeTime]


def _days(slots: list[MeetingSlot], *, except_slot: int | None) -> list[Day]:
    """The free times grouped by Tehran day, as the page lists them."""
    days: list[Day] = []
    for day, group in groupby((s for s in slots if s.id != except_slot), key=lambda s: meetings.day_of(s.starts_at)):
        times = [FreeTime(slot_id=s.id or 0, clock=tehran_clock(s.starts_at), place=persian_digits(s.place),
                          free=f"{persian_digits(s.capacity - s.booked)} جای خالی") for s in group]
        days.append(Day(label=jalali_day_label(day), key=day.isoformat(), times=times))
    return days


def _granted(request: Request, session: Session, settings: Settings) -> Complaint | None:
    complaint_id = complaint_pass.granted_complaint(request, settings)
    return session.get(Complaint, complaint_id) if complaint_id is not None else None


def _page(request: Request, session: Session, settings: Settings, complaint: Complaint | None, *,
          error: str | None = None, done: str | None = None, status_code: int = 200) -> HTMLResponse:
    context: dict[str, Any] = {"complaint": None, "error": error}
    if complaint is not None and complaint.id is not None:
        booking = meetings.live_booking(session, complaint.id)
        booked_slot = meetings.slot(session, booking.slot_id) if booking is not None else None
        context.update(
            complaint=complaint, code=persian_digits(format_for_reading(complaint.tracking_code)),
            booking=booking, booked_when=meetings.when_text(booked_slot) if booked_slot else None,
            booked_place=persian_digits(booked_slot.place) if booked_slot else None,
            days=_days(meetings.open_slots(session, now=utcnow()), except_slot=booking.slot_id if booking else None),
            done=DONE.get(done or ""),
            sms_note=SMS_NOTE if done in DONE and not complaint.anonymous else None,
        )
    # Without a pass the page says how to open the complaint (200: a page to read, not a failed request).
    response = TEMPLATES.TemplateResponse(request, "public/complaints/meeting.html", context, status_code=status_code)
    if complaint is not None and complaint.id is not None:
        complaint_pass.grant(response, settings, complaint.id)  # the pass lives on while the page is used
    return response


@router.get("", response_class=HTMLResponse)
def meeting_page(request: Request, session: SessionDep, settings: SettingsDep,
                 done: str | None = None) -> HTMLResponse:
    """The complaint's meeting and the free times; without a pass, how to open the complaint first. ``done``
    (after a step's redirect) picks one of the fixed confirmations; the visitor's session keeps nothing else."""
    return _page(request, session, settings, _granted(request, session, settings), done=done)


def _act(request: Request, session: Session, settings: Settings, done: str,
         step: Any, **arguments: Any) -> Response:
    """Run one booking step for the pass's complaint: on success back to the page (its confirmation shown once),
    on a refusal the page again with the refusal and the times as they are now."""
    complaint = _granted(request, session, settings)
    if complaint is None:
        return _page(request, session, settings, None)
    try:
        step(session, settings, complaint=complaint, now=utcnow(), **arguments)
    except (Conflict, NotFound, ValidationFailed) as refused:
        session.rollback()
        log.info("Meeting step %s refused for complaint %s: %s", done, complaint.id, refused.error_id)
        return _page(request, session, settings, complaint, error=refused.message, status_code=refused.status_code)
    session.commit()
    response = RedirectResponse(f"{PAGE}?done={done}", status_code=303)
    if complaint.id is not None:
        complaint_pass.grant(response, settings, complaint.id)
    return response


def _act_on_slot(request: Request, session: Session, settings: Settings, done: str, step: Any,
                 slot_id: str) -> Response:
    """``_act`` for a step that takes the chosen slot; no slot chosen is the page again with its message."""
    if not slot_id.isdigit():
        missing = ValidationFailed(NO_SLOT_CHOSEN, field="slot_id")
        return _page(request, session, settings, _granted(request, session, settings), error=missing.message,
                     status_code=missing.status_code)
    return _act(request, session, settings, done, step, slot_id=int(slot_id))


@router.post("/book")
def book(request: Request, session: SessionDep, settings: SettingsDep,
         slot_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    return _act_on_slot(request, session, settings, "booked", meetings.book, slot_id)


@router.post("/reschedule")
def reschedule(request: Request, session: SessionDep, settings: SettingsDep,
               slot_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    return _act_on_slot(request, session, settings, "moved", meetings.reschedule, slot_id)


@router.post("/cancel")
def cancel(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    return _act(request, session, settings, "cancelled", meetings.cancel)

