"""The inspection office's complaint form: a landing page, then one URL per step of a server-side draft
(``/complaints/new/{draft}/{step}``), plain forms that work without JavaScript, and the page that shows the tracking
code (and, once, an anonymous complainant's receipt). Staff use the same steps for a caller or a visitor
(``/complaints/new?for=phone|in_person``).

Every step posts back to its own URL and is redirected to the next (post, redirect, get): the browser's back and
forward buttons and a refresh show the draft as the server keeps it, so nothing typed is lost (ADR 0064). The
draft id in the URL works only in the browser session that made it. No log line here carries an address, a
mobile, a name or a receipt."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

import jdatetime
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from agent_console import complaint_pass
from agent_console.csrf import session_token
from agent_console.deps import SessionDep, SettingsDep
from agent_console.routes.auth import client_address
from agent_console.session_cookie import current_session
from agent_console.templating import TEMPLATES
from callcenter.citizens.phone_codes import CODE_LIFETIME, mobile_number
from callcenter.citizens.web_filing import field_errors
from callcenter.complaints import attachments as files
from callcenter.complaints.drafts import STEPS, Drafts, channel_of, draft_attachments
from callcenter.complaints.filing import (
    ANONYMOUS,
    STEP_FIELDS,
    STEP_OF_FIELD,
    check_step,
    complaint_by_request,
    date_years,
    file_complaint,
    phone_codes,
    unit_tree,
)
from callcenter.complaints.names import GROUND_NAMES
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.calendar import JALALI_MONTHS
from callcenter.platform.errors import PermissionDenied, RateLimited, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from db.models import Complaint, ComplaintAttachment, ComplaintChannel, ComplaintDraft, Role, User, utcnow

router = APIRouter()
log = logging.getLogger(__name__)

STAFF_CHANNELS: dict[str, tuple[ComplaintChannel, frozenset[Role]]] = {
    "phone": (ComplaintChannel.PHONE, frozenset({Role.OPERATOR, Role.SUPERVISOR})),
    "in_person": (ComplaintChannel.IN_PERSON,
                  frozenset({Role.DESK, Role.INSPECTOR, Role.HEAD_OF_INSPECTION})),
}
STAFF_ONLY = "ثبت شکایت از طرف شهروند فقط برای کارکنان همین کار است؛ ابتدا با حساب خود وارد شوید."
STEP_TITLES = {"target": "دربارهٔ چه کسی", "ground": "موضوع شکایت", "story": "شرح رویداد", "files": "پیوست‌ها",
               "identity": "هویت شما", "meeting": "درخواست ملاقات", "review": "بازبینی و ثبت"}
CODE_SENT = ("کد تأیید به شمارهٔ {mobile} پیامک شد؛ تا {minutes} دقیقه معتبر است. آن را در خانهٔ «کد تأیید» "
             "بنویسید.")
FILES_SAVED = "{count} پیوست افزوده شد."
UNREADABLE_FILES = (f"فایل‌ها خوانده نشد؛ در هر بار حداکثر "
                    f"{persian_digits(files.MAX_REQUEST_BYTES // files.MB)} مگابایت بفرستید.")
_FORM_LIMITS = {"max_files": files.MAX_FILES + 2, "max_fields": 40}
_READ_LIMIT = max(files.MAX_BYTES.values()) + 1
BACK, NEXT, SEND_CODE, UPLOAD, FILE = "back", "next", "send_code", "upload", "file"
REMOVE_PREFIX = "remove:"


@dataclass
class Posted:
    fields: dict[str, str]
    uploads: list[files.Upload] = field(default_factory=list)
    unreadable: bool = False


async def posted_form(request: Request) -> Posted:
    """The step's fields, and its files (the attachments step's multipart form), or what can be read of it."""
    declared = request.headers.get("content-length", "")
    if request.headers.get("content-type", "").startswith("multipart/form-data") and (
            not declared.isdigit() or int(declared) > files.MAX_REQUEST_BYTES):
        return Posted(fields={}, unreadable=True)
    try:
        async with request.form(**_FORM_LIMITS) as form:
            fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
            chosen = [value for key, value in form.multi_items()
                      if key == "attachments" and isinstance(value, UploadFile) and (value.filename or value.size)]
            if len(chosen) > files.MAX_FILES:
                return Posted(fields=fields, uploads=[files.Upload("", b"")] * len(chosen))
            uploads = [files.Upload(filename=upload.filename or "", data=await upload.read(_READ_LIMIT))
                       for upload in chosen]
    except HTTPException as exc:
        log.info("Unreadable complaint form: %s", exc.detail)
        return Posted(fields={}, unreadable=True)
    return Posted(fields=fields, uploads=uploads)


PostedDep = Annotated[Posted, Depends(posted_form)]


def _staff(request: Request, session: Session) -> User | None:
    active = current_session(request)
    user = session.get(User, active.user_id) if active else None
    return user if user is not None and user.is_active else None


def _step_url(draft_id: str, step: str) -> str:
    return f"/complaints/new/{draft_id}/{step}"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
          refused: ValidationFailed | RateLimited | None = None) -> HTMLResponse:
    retry_after = refused.details.get("retry_after") if isinstance(refused, RateLimited) else None
    headers = {"Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code, headers=headers)


def _step_template(step: str) -> str:
    """A step's template; the meeting step's is ``step_meeting.html``, since ``meeting.html`` is the booking page."""
    return f"public/complaints/{'step_meeting' if step == 'meeting' else step}.html"


@router.get("/complaints/", response_class=HTMLResponse, include_in_schema=False)
def landing(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _page(request, "public/complaints/landing.html",
                 {"grounds": GROUND_NAMES.values(), "draft_hours": settings.complaint_draft_hours})


@router.get("/complaints/new", include_in_schema=False)
def start(request: Request, session: SessionDep, settings: SettingsDep,
          channel_for: Annotated[str, Query(alias="for")] = "", fresh: str = "") -> Response:
    """Resume this browser's draft of the form, or start one (``?for=``: staff filing for a citizen, always anew)."""
    channel, filed_by = ComplaintChannel.WEB, None
    if channel_for:
        staff = _staff(request, session)
        wanted = STAFF_CHANNELS.get(channel_for)
        if wanted is None or staff is None or staff.role not in wanted[1]:
            raise PermissionDenied(STAFF_ONLY)
        channel, filed_by = wanted[0], staff.id
    drafts, token, now = Drafts(settings), session_token(request.session), utcnow()
    # Staff always start afresh: the last caller's unfinished form is not the next caller's (ADR 0065).
    resume = not fresh and channel == ComplaintChannel.WEB
    draft = drafts.latest(session, session_token=token, now=now, channel=channel) if resume else None
    if draft is None:
        draft = drafts.create(session, session_token=token, now=now, channel=channel, filed_by_id=filed_by)
        session.commit()
    return _redirect(_step_url(draft.id, draft.step))


def _draft_or_none(request: Request, session: Session, settings: Settings, draft_id: str) -> ComplaintDraft | None:
    draft = Drafts(settings).load(session, draft_id, session_token=session_token(request.session), now=utcnow())
    if draft is not None and draft.filed_by_id is not None:
        staff = _staff(request, session)
        if staff is None or staff.id != draft.filed_by_id:
            return None
    return draft


def _gone(request: Request, session: Session, settings: Settings, draft_id: str) -> HTMLResponse:
    """No live draft: the complaint it filed (for the browser holding its pass, or the staff who filed it), or
    the page saying the form expired."""
    filed = complaint_by_request(session, draft_id)
    if filed is None:
        return _page(request, "public/complaints/expired.html", {}, status_code=404)
    if _may_see_filed(request, session, settings, filed):
        return _filed_page(request, settings, filed, receipt=None, again=True)
    # A second click that raced the first (its request left before the pass came back): the form was filed, and
    # the page the first click got shows the code and receipt. Say so, and show nothing of the complaint.
    return _page(request, "public/complaints/already_filed.html", {})


def _may_see_filed(request: Request, session: Session, settings: Settings, complaint: Complaint) -> bool:
    if complaint.filed_by_id is not None:
        staff = _staff(request, session)
        return staff is not None and staff.id == complaint.filed_by_id
    return complaint_pass.granted_complaint(request, settings) == complaint.id


def _context(session: Session, settings: Settings, request: Request, draft: ComplaintDraft, step: str,
             fields: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    drafts = Drafts(settings)
    typed = drafts.fields(draft) if fields is None else fields
    channel = channel_of(draft)
    now = utcnow()
    verified = False
    if step in ("identity", "review") and channel == ComplaintChannel.WEB and typed.get("mobile"):
        try:
            verified = phone_codes(settings).is_verified(session, mobile=mobile_number(typed["mobile"]),
                                                         session_token=session_token(request.session), now=now)
        except ValidationFailed:
            verified = False
    index = STEPS.index(step)
    units = unit_tree(session)
    context: dict[str, Any] = {
        "draft": draft, "step": step, "steps": STEPS, "titles": STEP_TITLES, "fields": typed, "errors": {},
        "notice": None, "code_shown": False, "verified": verified, "staff": channel != ComplaintChannel.WEB,
        "channel": channel, "previous": STEPS[index - 1] if index > 0 else None,
        "units": units, "unit_labels": {str(unit.value): unit.label for unit in units},
        "grounds": GROUND_NAMES, "months": JALALI_MONTHS, "years": date_years(now),
        "attachments": draft_attachments(session, draft.id), "kind_names": files.KIND_NAMES,
        "max_files": files.MAX_FILES, "step_of_field": STEP_OF_FIELD, "anonymous_value": ANONYMOUS,
        "occurred_label": _occurred_label(typed),
    }
    context.update(extra)
    if context["errors"].get("code") or context["notice"]:
        context["code_shown"] = True
    return context


def _occurred_label(fields: dict[str, str]) -> str | None:
    try:
        day = jdatetime.date(int(fields["year"]), int(fields["month"]), int(fields["day"]))
    except (KeyError, ValueError):
        return None
    return persian_digits(f"{day.day} {JALALI_MONTHS[day.month - 1]} {day.year}")


@router.get("/complaints/new/{draft_id}/{step}", response_class=HTMLResponse, include_in_schema=False)
def show_step(request: Request, draft_id: str, step: str, session: SessionDep, settings: SettingsDep) -> Response:
    draft = _draft_or_none(request, session, settings, draft_id)
    if draft is None:
        return _gone(request, session, settings, draft_id)
    if step not in STEPS:
        return _redirect(_step_url(draft.id, draft.step))
    return _page(request, _step_template(step), _context(session, settings, request, draft, step))


@router.post("/complaints/new/{draft_id}/files", response_class=HTMLResponse, include_in_schema=False)
def post_files_step(request: Request, draft_id: str, form: PostedDep, session: SessionDep,
                    settings: SettingsDep) -> Response:
    """The attachments step. Its own route (declared before the generic one) so that the larger body limit in
    ``body_limit.ROUTE_BODY_LIMITS`` names a route of the app, and no other step may carry megabytes."""
    return post_step(request, draft_id, "files", form, session, settings)


@router.post("/complaints/new/{draft_id}/{step}", response_class=HTMLResponse, include_in_schema=False)
def post_step(request: Request, draft_id: str, step: str, form: PostedDep, session: SessionDep,
              settings: SettingsDep) -> Response:
    """Save the step's fields, then go back, forward (the step checked first), send a code, or file."""
    draft = _draft_or_none(request, session, settings, draft_id)
    if draft is None:
        return _gone(request, session, settings, draft_id)
    if step not in STEPS:
        return _redirect(_step_url(draft.id, draft.step))
    intent = form.fields.get("intent", NEXT)
    if step == "review":
        return _file(request, session, settings, draft) if intent == FILE else _redirect(
            _step_url(draft.id, STEPS[-2]))
    drafts = Drafts(settings)
    typed = {name: form.fields.get(name, "") for name in STEP_FIELDS[step]}
    drafts.save(session, draft, typed, step=step, now=utcnow())
    session.commit()
    if step == "files" and (intent == UPLOAD or form.uploads or form.unreadable or intent.startswith(REMOVE_PREFIX)):
        return _files(request, session, settings, draft, form, intent)
    index = STEPS.index(step)
    if intent == BACK:
        return _redirect(_step_url(draft.id, STEPS[max(0, index - 1)]))
    fields = drafts.fields(draft)
    if step == "identity" and intent == SEND_CODE:
        return _send_code(request, session, settings, draft, fields)
    if step == "identity" and (refused := _verify_code(request, session, settings, draft, form.fields)):
        return refused
    checked = check_step(session, step, fields, now=utcnow())
    if checked.errors:
        return _page(request, _step_template(step),
                     _context(session, settings, request, draft, step, fields, errors=checked.errors),
                     status_code=422)
    draft.step = STEPS[index + 1]
    session.add(draft)
    session.commit()
    return _redirect(_step_url(draft.id, STEPS[index + 1]))


def _files(request: Request, session: Session, settings: Settings, draft: ComplaintDraft, form: Posted,
           intent: str) -> HTMLResponse:
    """Add the chosen files to the draft (all or none: a refused one names itself), or remove one."""
    store = files.AttachmentStore.for_settings(settings)
    if intent.startswith(REMOVE_PREFIX):
        wanted = intent.removeprefix(REMOVE_PREFIX)
        for attachment in draft_attachments(session, draft.id):
            if str(attachment.id) == wanted:
                store.remove(attachment.stored_name)
                session.delete(attachment)
        session.commit()
        return _page(request, "public/complaints/files.html", _context(session, settings, request, draft, "files"))
    if form.unreadable:
        return _page(request, "public/complaints/files.html", _context(
            session, settings, request, draft, "files", errors={"attachments": UNREADABLE_FILES}), status_code=422)
    try:
        checked = files.check_attachments(form.uploads, already=len(draft_attachments(session, draft.id)))
    except ValidationFailed as refused:
        return _page(request, "public/complaints/files.html", _context(
            session, settings, request, draft, "files", errors=field_errors(refused)), status_code=422)
    saved: list[str] = []
    try:
        for item in checked:
            name = store.save(item)
            saved.append(name)
            session.add(ComplaintAttachment(draft_id=draft.id, kind=item.kind, content_type=item.content_type,
                                            size=item.size, sha256=item.sha256, stored_name=name))
        session.commit()
    except BaseException:
        session.rollback()
        for name in saved:
            store.remove(name)
        raise
    notice = FILES_SAVED.format(count=persian_digits(len(checked))) if checked else None
    return _page(request, "public/complaints/files.html",
                 _context(session, settings, request, draft, "files", notice=notice))


def _send_code(request: Request, session: Session, settings: Settings, draft: ComplaintDraft,
               fields: dict[str, str]) -> HTMLResponse:
    try:
        mobile = mobile_number(fields.get("mobile", ""))
        phone_codes(settings).send(session, mobile=mobile, session_token=session_token(request.session),
                                   address=client_address(request), now=utcnow())
    except (ValidationFailed, RateLimited) as refused:
        session.commit()  # the hits count
        return _page(request, "public/complaints/identity.html", _context(
            session, settings, request, draft, "identity", fields, errors={"mobile": refused.message}),
            status_code=refused.status_code, refused=refused)
    session.commit()
    log.info("Phone code queued for a complaint form")
    notice = CODE_SENT.format(mobile=persian_digits(mobile),
                              minutes=persian_digits(int(CODE_LIFETIME.total_seconds()) // 60))
    return _page(request, "public/complaints/identity.html",
                 _context(session, settings, request, draft, "identity", fields, notice=notice))


def _verify_code(request: Request, session: Session, settings: Settings, draft: ComplaintDraft,
                 posted: dict[str, str]) -> HTMLResponse | None:
    """A named web complainant's code, checked with the identity step (staff type the number they are given)."""
    fields = Drafts(settings).fields(draft)
    if channel_of(draft) != ComplaintChannel.WEB or fields.get("identity") == ANONYMOUS:
        return None
    try:
        mobile = mobile_number(fields.get("mobile", ""))
    except ValidationFailed:
        return None  # the step's own checks say so
    try:
        phone_codes(settings).ensure_verified(session, mobile=mobile, session_token=session_token(request.session),
                                              code=posted.get("code", ""), now=utcnow())
    except ValidationFailed as refused:
        session.commit()  # the wrong try counts
        return _page(request, "public/complaints/identity.html", _context(
            session, settings, request, draft, "identity", fields, errors={"code": refused.message}),
            status_code=422)
    session.commit()
    return None


def _file(request: Request, session: Session, settings: Settings, draft: ComplaintDraft) -> HTMLResponse:
    try:
        filed = file_complaint(session, settings, draft, session_token=session_token(request.session),
                               address=client_address(request), now=utcnow())
    except (ValidationFailed, RateLimited) as refused:
        session.commit()  # a refused anonymous budget still counts
        return _page(request, "public/complaints/review.html", _context(
            session, settings, request, draft, "review", errors=field_errors(refused)),
            status_code=refused.status_code, refused=refused)
    session.commit()
    return _filed_page(request, settings, filed.complaint, receipt=filed.receipt, again=not filed.new)


def _filed_page(request: Request, settings: Settings, complaint: Complaint, *, receipt: str | None,
                again: bool) -> HTMLResponse:
    """The tracking code, the receipt (the one time it exists in the clear), and the ways on. The complainant's
    own browser gets the pass to follow the complaint up; staff do not."""
    assert complaint.id is not None
    web = complaint.channel == ComplaintChannel.WEB
    response = _page(request, "public/complaints/filed.html", {
        "complaint": complaint, "code_for_reading": persian_digits(format_for_reading(complaint.tracking_code)),
        "receipt": receipt, "again": again, "web": web, "named": not complaint.anonymous})
    if web:
        complaint_pass.grant(response, settings, complaint.id)
    return response
