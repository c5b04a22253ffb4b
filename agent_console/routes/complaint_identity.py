"""A named complainant's identity, revealed to the inspection office for a stated purpose and audited, and the
head of inspection's audit log of those views (callcenter/complaints/identity_views.py decides and records)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from agent_console.deps import ComplaintReader, HeadOfInspection, SessionDep, SettingsDep
from agent_console.templating import TEMPLATES
from callcenter.complaints import access, identity_views
from callcenter.complaints.tracking_code import format_for_reading, parse_complaint_code
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import NotFound, ValidationFailed
from callcenter.platform.persian import ascii_digits, persian_digits
from db.models import Complaint, User

router = APIRouter(prefix="/inspection", include_in_schema=False)
log = logging.getLogger(__name__)

# An identity on screen must not stay in the browser's cache or history for the next person at that computer.
NO_STORE = {"Cache-Control": "no-store"}
NO_SUCH_COMPLAINT = "شکایت پیدا نشد."


def _complaint_for(session: Session, user: User, complaint_id: int) -> Complaint:
    """The complaint if ``user`` may see it; otherwise the same 404 as a missing one, so its existence is not told."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not access.can_see(session, user, complaint):
        raise NotFound(NO_SUCH_COMPLAINT, complaint=complaint_id)
    return complaint


@router.get("/complaints/{complaint_id}/identity", response_class=HTMLResponse)
def identity_form(request: Request, complaint_id: int, user: ComplaintReader, session: SessionDep) -> Response:
    complaint = _complaint_for(session, user, complaint_id)
    return _form_page(request, user, complaint)


@router.post("/complaints/{complaint_id}/identity", response_class=HTMLResponse)
def reveal_identity(
    request: Request, complaint_id: int, user: ComplaintReader, session: SessionDep, settings: SettingsDep,
    purpose: Annotated[str, Form()] = "", purpose_other: Annotated[str, Form()] = "",
) -> Response:
    complaint = _complaint_for(session, user, complaint_id)
    if complaint.anonymous:
        return _form_page(request, user, complaint)
    try:
        reason = identity_views.purpose_text(purpose, purpose_other)
    except ValidationFailed as error:
        return _form_page(request, user, complaint, error=error, chosen=purpose, other=purpose_other)
    identity = identity_views.reveal(session, settings, user, complaint, reason)
    log.info("Identity of complaint %s shown to %s", complaint.id, user.username)  # no name, no mobile
    context = {"user": user, "complaint": complaint, "code": _shown_code(complaint), "name": identity.name,
               "mobile": persian_digits(identity.mobile), "purpose": reason}
    return TEMPLATES.TemplateResponse(request, "inspection/identity_revealed.html", context, headers=NO_STORE)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, user: HeadOfInspection, session: SessionDep,
    code: Annotated[str, Query()] = "", username: Annotated[str, Query()] = "", after: Annotated[str, Query()] = "",
) -> Response:
    error: str | None = None
    tracking_code: str | None = None
    if code.strip():
        try:
            tracking_code = parse_complaint_code(code)
        except ValidationFailed as refused:
            error = refused.message
    cursor = ascii_digits(after)
    page = identity_views.audit_log(session, user, tracking_code=tracking_code, username=username.strip() or None,
                                    after=int(cursor) if cursor.isdigit() else None)
    if error is not None:
        page = identity_views.AuditPage(entries=[], next_cursor=None)
    rows = [{"when": " ".join(reversed(jalali_timestamp(entry.at))), "who": entry.full_name,
             "username": entry.username, "code": persian_digits(format_for_reading(entry.tracking_code)),
             "purpose": entry.purpose} for entry in page.entries]
    context = {"user": user, "rows": rows, "code": code, "username": username, "error": error,
               "next_cursor": page.next_cursor}
    return TEMPLATES.TemplateResponse(request, "inspection/audit.html", context, headers=NO_STORE,
                                      status_code=422 if error else 200)


def _form_page(
    request: Request, user: User, complaint: Complaint, *, error: ValidationFailed | None = None,
    chosen: str = "", other: str = "",
) -> HTMLResponse:
    context = {"user": user, "complaint": complaint, "code": _shown_code(complaint),
               "purposes": identity_views.PURPOSES, "chosen": chosen, "other": other,
               "anonymous_text": identity_views.ANONYMOUS,
               "error": error.message if error else None, "error_field": error.details.get("field") if error else None}
    template = "inspection/identity_anonymous.html" if complaint.anonymous else "inspection/identity_form.html"
    return TEMPLATES.TemplateResponse(request, template, context, headers=NO_STORE,
                                      status_code=error.status_code if error else 200)


def _shown_code(complaint: Complaint) -> str:
    return persian_digits(format_for_reading(complaint.tracking_code))
