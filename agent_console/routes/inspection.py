"""The inspection office's console: the triage queue, the case page with its step, note, message and information
request forms, a case's attachments, the head's SLA page, and the liaisons' information-request inbox.
Server-rendered forms (no script needed); every complaint is checked with access.can_see (404 otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import jdatetime
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from agent_console.deps import ComplaintReader, HeadOfInspection, SessionDep, SettingsDep, UnitLiaison
from agent_console.templating import TEMPLATES
from callcenter.complaints import information_requests, lifecycle, messages, notes, sla, triage
from callcenter.complaints.access import units_up_from
from callcenter.complaints.attachments import AttachmentStore
from callcenter.complaints.names import ACTION_NAMES, CHANNEL_NAMES, DESK_NAMES, GROUND_NAMES, STATUS_NAMES
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import Conflict, NotFound, PasokhError, PermissionDenied, ValidationFailed
from callcenter.platform.persian import ascii_digits
from callcenter.tickets.lifecycle import STATUS_NAMES as TICKET_STATUS_NAMES
from db.models import (
    ComplaintAction,
    ComplaintAttachment,
    ComplaintGround,
    ComplaintStatus,
    ComplaintTicketLink,
    RowId,
    Ticket,
    Unit,
    User,
    utcnow,
)

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
TextField = Annotated[str, Form()]
# What a form can be refused for, said next to it; "not found" is the error page (the case is not this user's).
FORM_ERRORS = (ValidationFailed, Conflict, PermissionDenied)


def jalali(moment: datetime | None) -> str:
    """A moment as staff read it: the Jalali date and the time in Tehran, Persian digits."""
    if moment is None:
        return ""
    day, clock = jalali_timestamp(moment)
    return f"{day} {clock}"


def due_day(moment: datetime | None) -> str:
    """A deadline kept as the midnight that ends its day, shown as that day (Jalali, Persian digits)."""
    if moment is None:
        return ""
    return jalali_timestamp(moment - timedelta(seconds=1))[0]


def _names(session: Session, ids: set[int | None], model: type[User] | type[Unit]) -> dict[int, str]:
    wanted = [ident for ident in ids if ident is not None]
    if not wanted:
        return {}
    if model is User:
        return {u.id: u.full_name for u in session.exec(select(User).where(col(User.id).in_(wanted))).all()
                if u.id is not None}
    return {u.id: u.name for u in session.exec(select(Unit).where(col(Unit.id).in_(wanted))).all()
            if u.id is not None}


def _common(user: User, session: Session) -> dict[str, Any]:
    return {"user": user, "jalali": jalali, "due_day": due_day, "open_statuses": lifecycle.OPEN_STATUSES,
            "ground_names": GROUND_NAMES, "status_names": STATUS_NAMES,
            "action_names": ACTION_NAMES, "escalated": triage.escalated_count(session, user)}


@router.get("/inspection", response_class=HTMLResponse)
def triage_page(
    request: Request, user: ComplaintReader, session: SessionDep,
    view: triage.View = triage.View.OPEN, ground: ComplaintGround | None = None,
    unit: Annotated[RowId | None, Query()] = None, older: Annotated[int | None, Query(ge=0, le=3650)] = None,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    filters = triage.Filters(view=view, ground=ground, target_unit_id=unit, older_than_days=older, after=after)
    page = triage.queue(session, user, filters, now=utcnow())
    unit_ids = set(page.counts_by_unit) | {c.target_unit_id for c in page.complaints}
    people = {c.assigned_to_id for c in page.complaints}
    context = {**_common(user, session), "page": page, "filters": filters, "views": triage.VIEW_NAMES,
               "unit_names": _names(session, set(unit_ids), Unit), "people": _names(session, people, User),
               "now": utcnow()}
    return TEMPLATES.TemplateResponse(request, "inspection/triage.html", context, headers=NO_STORE)


@router.get("/inspection/complaints/{complaint_id}", response_class=HTMLResponse)
def case_page(request: Request, complaint_id: RowId, user: ComplaintReader, session: SessionDep) -> Response:
    return _case(request, session, user, complaint_id)


def _case(request: Request, session: Session, user: User, complaint_id: int, *, error: PasokhError | None = None,
          typed: Mapping[str, str] | None = None) -> HTMLResponse:
    complaint = lifecycle.visible_complaint(session, complaint_id, user)
    steps = lifecycle.history(session, complaint_id)
    case_notes = notes.notes_of(session, complaint_id)
    conversation = messages.conversation(session, complaint_id)
    requests = information_requests.for_case(session, complaint_id)
    tickets = session.exec(select(Ticket).join(ComplaintTicketLink, col(ComplaintTicketLink.ticket_id) == Ticket.id)
                           .where(ComplaintTicketLink.complaint_id == complaint_id)
                           .order_by(col(Ticket.created_at))).all()
    attachments = session.exec(select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint_id)
                               .order_by(col(ComplaintAttachment.id))).all()
    people_ids = ({complaint.assigned_to_id} | {s.actor_id for s in steps} | {n.author_id for n in case_notes}
                  | {m.author_id for m in conversation} | {r.asked_by_id for r in requests}
                  | {r.answered_by_id for r in requests})
    units = session.exec(select(Unit).order_by(col(Unit.name))).all()
    context = {
        **_common(user, session), "complaint": complaint, "steps": steps, "notes": case_notes,
        "conversation": conversation, "requests": requests, "tickets": tickets, "attachments": attachments,
        "ticket_status_names": TICKET_STATUS_NAMES, "channel_names": CHANNEL_NAMES, "desk_names": DESK_NAMES,
        "people": _names(session, people_ids, User), "units": units,
        "unit_names": {u.id: u.name for u in units},
        "target_path": list(reversed(units_up_from(session, complaint.target_unit_id))),
        "actions": lifecycle.steps_open_to(user, complaint), "assignees": lifecycle.assignees(session, complaint),
        "works_on": lifecycle.works_on(user, complaint), "finished": complaint.status in lifecycle.FINAL_STATUSES,
        "error": error.message if error else None, "error_field": error.details.get("field") if error else None,
        "error_form": (typed or {}).get("form"), "typed": typed or {}, "A": ComplaintAction,
    }
    return TEMPLATES.TemplateResponse(request, "inspection/case.html", context,
                                      status_code=error.status_code if error else 200, headers=NO_STORE)


def _refused(request: Request, session: Session, user: User, complaint_id: int, error: PasokhError,
             typed: Mapping[str, str]) -> HTMLResponse:
    """The case page again with the Persian error next to the form that was sent, what was typed kept."""
    session.rollback()
    return _case(request, session, user, complaint_id, error=error, typed=typed)


def _back_to(complaint_id: int, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/inspection/complaints/{complaint_id}#{anchor}", status_code=303)


@router.post("/inspection/complaints/{complaint_id}/actions", response_class=HTMLResponse)
def take_step(
    request: Request, complaint_id: RowId, user: ComplaintReader, session: SessionDep, settings: SettingsDep,
    action: TextField = "", expected_status: TextField = "", note: TextField = "", referred_to: TextField = "",
    assignee_id: TextField = "",
) -> Response:
    typed = {"form": f"action-{action}", "note": note, "referred_to": referred_to, "assignee_id": assignee_id}
    try:
        lifecycle.visible_complaint(session, complaint_id, user)  # 404 before anything else is said
        chosen, expected = _action(action), _status(expected_status)
        lifecycle.apply(session, complaint_id, chosen, user, expected, settings=settings, note=note,
                        referred_to=referred_to, assignee_id=_optional_id(assignee_id, "assignee_id"))
    except FORM_ERRORS as error:
        return _refused(request, session, user, complaint_id, error, typed)
    return _back_to(complaint_id, "steps")


def _action(value: str) -> ComplaintAction:
    try:
        return ComplaintAction(value)
    except ValueError as exc:
        raise ValidationFailed("اقدام خواسته‌شده شناخته نیست.", field="action") from exc


def _status(value: str) -> ComplaintStatus:
    try:
        return ComplaintStatus(value)
    except ValueError as exc:
        raise ValidationFailed("وضعیتی که دیده بودید همراه فرم نیامد؛ صفحه را تازه کنید.",
                               field="expected_status") from exc


def _optional_id(value: str, field: str) -> int | None:
    text = ascii_digits(value).strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed("گزینهٔ انتخاب‌شده درست نیست.", field=field)
    return int(text)


@router.post("/inspection/complaints/{complaint_id}/notes", response_class=HTMLResponse)
def write_note(request: Request, complaint_id: RowId, user: ComplaintReader, session: SessionDep,
               note_body: TextField = "") -> Response:
    try:
        notes.add_note(session, complaint_id=complaint_id, by=user, text=note_body)
    except FORM_ERRORS as error:
        return _refused(request, session, user, complaint_id, error, {"form": "note", "note_body": note_body})
    return _back_to(complaint_id, "notes")


@router.post("/inspection/complaints/{complaint_id}/messages", response_class=HTMLResponse)
def message_complainant(request: Request, complaint_id: RowId, user: ComplaintReader, session: SessionDep,
                        body: TextField = "") -> Response:
    complaint = lifecycle.visible_complaint(session, complaint_id, user)
    try:
        if not lifecycle.works_on(user, complaint):
            raise PermissionDenied("فقط بازرس مسئول این شکایت یا مدیر بازرسی با شاکی مکاتبه می‌کند.")
        messages.ask_complainant(session, complaint, by=user, text=body)
    except FORM_ERRORS as error:
        return _refused(request, session, user, complaint_id, error, {"form": "message", "body": body})
    return _back_to(complaint_id, "messages")


@router.post("/inspection/complaints/{complaint_id}/information-requests", response_class=HTMLResponse)
def ask_unit(request: Request, complaint_id: RowId, user: ComplaintReader, session: SessionDep,
             unit_id: TextField = "", question: TextField = "", due_on: TextField = "") -> Response:
    typed = {"form": "information", "unit_id": unit_id, "question": question, "due_on": due_on}
    try:
        lifecycle.visible_complaint(session, complaint_id, user)
        unit = _optional_id(unit_id, "unit_id")
        if unit is None:
            raise ValidationFailed("واحدی را که از آن اطلاعات می‌خواهید انتخاب کنید.", field="unit_id")
        information_requests.ask(session, complaint_id=complaint_id, by=user, unit_id=unit, question=question,
                                 due_on=parse_jalali_day(due_on))
    except FORM_ERRORS as error:
        return _refused(request, session, user, complaint_id, error, typed)
    return _back_to(complaint_id, "information")


def parse_jalali_day(text: str) -> date:
    """«۱۴۰۵/۰۹/۲۰» (or with dashes, any digits) as the Gregorian day it is."""
    parts = ascii_digits(text).strip().replace("-", "/").split("/")
    try:
        year, month, day = (int(part) for part in parts)
        return jdatetime.date(year, month, day).togregorian()
    except ValueError as exc:
        raise ValidationFailed("مهلت پاسخ را به تاریخ شمسی بنویسید، مثلاً ۱۴۰۵/۰۹/۲۰.", field="due_on") from exc


@router.get("/inspection/complaints/{complaint_id}/attachments/{attachment_id}", response_class=FileResponse)
def attachment_file(complaint_id: RowId, attachment_id: RowId, user: ComplaintReader, session: SessionDep,
                    settings: SettingsDep) -> FileResponse:
    """A case's file, for whoever may see the case (not the file's original name: none is kept)."""
    lifecycle.visible_complaint(session, complaint_id, user)
    attachment = session.get(ComplaintAttachment, attachment_id)
    if attachment is None or attachment.complaint_id != complaint_id:
        raise NotFound("پیوست پیدا نشد.", attachment_id=attachment_id)
    path = AttachmentStore.for_settings(settings).path(attachment.stored_name)
    return FileResponse(path, media_type=attachment.content_type, content_disposition_type="inline",
                        filename=f"attachment-{attachment_id}.{attachment.stored_name.rsplit('.', 1)[-1]}",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.get("/inspection/sla", response_class=HTMLResponse)
def sla_page(request: Request, user: HeadOfInspection, session: SessionDep) -> Response:
    return _sla(request, session, user, saved=request.query_params.get("saved") == "1")


def _sla(request: Request, session: Session, user: User, *, error: PasokhError | None = None,
         saved: bool = False) -> HTMLResponse:
    context = {**_common(user, session), "limits": sla.limits(session), "saved": saved,
               "error": error.message if error else None, "error_field": error.details.get("field") if error else None}
    return TEMPLATES.TemplateResponse(request, "inspection/sla.html", context,
                                      status_code=error.status_code if error else 200, headers=NO_STORE)


@router.post("/inspection/sla", response_class=HTMLResponse)
async def save_sla(request: Request, user: HeadOfInspection, session: SessionDep) -> Response:
    form = await request.form()
    try:
        for ground in ComplaintGround:
            value = ascii_digits(str(form.get(ground.value, ""))).strip()
            if not value.isdigit():
                raise ValidationFailed(f"مهلت «{GROUND_NAMES[ground]}» را به روز کاری بنویسید.", field=ground.value)
            sla.set_working_days(session, by=user, ground=ground, days=int(value))
    except ValidationFailed as error:
        session.rollback()
        return _sla(request, session, user, error=error)
    return RedirectResponse("/inspection/sla?saved=1", status_code=303)


@router.get("/inbox/information-requests", response_class=HTMLResponse)
def liaison_requests_page(request: Request, user: UnitLiaison, session: SessionDep) -> Response:
    return _liaison(request, session, user)


def _liaison(request: Request, session: Session, user: User, *, error: PasokhError | None = None,
             typed: Mapping[str, str] | None = None) -> HTMLResponse:
    unit = session.get(Unit, user.unit_id) if user.unit_id is not None else None
    context = {"user": user, "jalali": jalali, "due_day": due_day, "unit": unit,
               "requests": information_requests.for_liaison(session, user),
               "error": error.message if error else None, "typed": typed or {}}
    return TEMPLATES.TemplateResponse(request, "inspection/liaison_requests.html", context,
                                      status_code=error.status_code if error else 200, headers=NO_STORE)


@router.get("/api/inbox/information-requests")
def liaison_requests(user: UnitLiaison, session: SessionDep) -> list[information_requests.LiaisonRequest]:
    return information_requests.for_liaison(session, user)


@router.post("/inbox/information-requests/{request_number}/answer", response_class=HTMLResponse)
def answer_request(request: Request, request_number: RowId, user: UnitLiaison, session: SessionDep,
                   answer: TextField = "") -> Response:
    try:
        information_requests.answer(session, request_number=request_number, by=user, text=answer)
    except FORM_ERRORS as error:
        session.rollback()
        return _liaison(request, session, user, error=error,
                        typed={"number": str(request_number), "answer": answer})
    return RedirectResponse(f"/inbox/information-requests#request-{request_number}", status_code=303)
