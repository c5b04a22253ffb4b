"""The citizens' public forms: reporting a problem (137) and 1888 feedback, each a plain HTML form that works without
JavaScript, and the SMS code that verifies the citizen's mobile (a button of the form, or a JSON call from the page).

A form that is refused is rendered again with everything typed and a Persian message beside each wrong field (the
photos must be chosen again: a browser cannot be handed files back). The client address is used only for the
rate limits (as HMACs); no log line here carries it, nor a mobile.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from agent_console.api_errors import raises
from agent_console.csrf import session_token
from agent_console.deps import MetricsDep, NotifierDep, PhotosDep, SessionDep, SettingsDep
from agent_console.routes.auth import client_address
from agent_console.templating import TEMPLATES
from callcenter.citizens.links import status_links
from callcenter.citizens.phone_codes import CODE_LIFETIME, PhoneCodes, mobile_number
from callcenter.citizens.web_filing import (
    AnonymousBudget,
    Verifier,
    districts,
    feedback_categories,
    feedback_units,
    field_errors,
    file_feedback,
    file_report,
    new_request_id,
    report_categories,
)
from callcenter.platform.errors import RateLimited, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from callcenter.tickets.attachments import MAX_PHOTO_BYTES, MAX_PHOTOS, MAX_REQUEST_BYTES, PHOTO_TYPES, Upload
from callcenter.tickets.store import Submission, to_public
from callcenter.tickets.tracking_code import format_for_reading
from db.models import FeedbackKind, utcnow

router = APIRouter()
log = logging.getLogger(__name__)

SEND_CODE = "send_code"  # the form's other submit button: send the SMS code and show the form again
CODE_SENT = ("کد تأیید به شمارهٔ {mobile} پیامک شد؛ تا {minutes} دقیقه معتبر است. آن را در خانهٔ «کد تأیید» "
             "بنویسید.")
ALREADY_VERIFIED = "شمارهٔ همراه شما در همین مرورگر تأیید شده است؛ کد تازه لازم نیست."
CHOOSE_PHOTOS_AGAIN = "عکس‌هایی که انتخاب کرده بودید دوباره انتخاب کنید؛ مرورگر آن‌ها را نگه نمی‌دارد."
UNREADABLE_FORM = (f"فرم خوانده نشد؛ حداکثر {persian_digits(MAX_PHOTOS)} عکس و هر کدام تا "
                   f"{persian_digits(MAX_PHOTO_BYTES // (1024 * 1024))} مگابایت بفرستید.")
FEEDBACK_KINDS = {FeedbackKind.CRITICISM: "انتقاد", FeedbackKind.SUGGESTION: "پیشنهاد",
                  FeedbackKind.APPRECIATION: "قدردانی"}
# Starlette's own multipart limits answer in English; ours are wide and the form is checked field by field.
_FORM_LIMITS = {"max_files": MAX_PHOTOS + 5, "max_fields": 30}
_TEXT_FIELDS = ("request_id", "category_id", "district_id", "address", "description", "mobile", "code",
                "latitude", "longitude", "feedback_kind", "about_unit_id", "personnel_code", "anonymous", "intent")
_MAX_FIELD_CHARS = 8000


@dataclass
class SubmittedForm:
    """What the browser sent: the text fields, by name, and the chosen files."""

    fields: dict[str, str]
    uploads: list[Upload] = field(default_factory=list)
    unreadable: bool = False


async def submitted_form(request: Request) -> SubmittedForm:
    """The form's fields and photos (a multipart form), or what can be read of it."""
    declared = request.headers.get("content-length", "")
    if request.headers.get("content-type", "").startswith("multipart/form-data") and (
            not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES):
        return SubmittedForm(fields={}, unreadable=True)
    try:
        async with request.form(**_FORM_LIMITS) as form:
            fields = {key: value[:_MAX_FIELD_CHARS] for key, value in form.multi_items()
                      if key in _TEXT_FIELDS and isinstance(value, str)}
            files = [value for key, value in form.multi_items() if key == "photos" and isinstance(value, UploadFile)]
            chosen = [upload for upload in files if upload.filename or upload.size]
            if len(chosen) > MAX_PHOTOS:  # refused before reading any of them
                return SubmittedForm(fields=fields, uploads=[Upload("", b"")] * len(chosen))
            uploads = [Upload(filename=upload.filename or "", data=await upload.read(MAX_PHOTO_BYTES + 1))
                       for upload in chosen]
    except HTTPException as exc:  # a malformed body or starlette's limits
        log.info("Unreadable citizen form: %s", exc.detail)
        return SubmittedForm(fields={}, unreadable=True)
    return SubmittedForm(fields=fields, uploads=uploads)


FormDep = Annotated[SubmittedForm, Depends(submitted_form)]


def _codes(settings: Settings) -> PhoneCodes:
    return PhoneCodes(secret=settings.secret_key, per_address_hour=settings.phone_codes_per_address_hour)


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
          refused: ValidationFailed | RateLimited | None = None) -> HTMLResponse:
    """The page; a throttled request's page says when to come back, as an API refusal does (Retry-After)."""
    retry_after = refused.details.get("retry_after") if isinstance(refused, RateLimited) else None
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code, headers=headers)


def _form_context(session: Session, settings: Settings, request: Request, fields: dict[str, str],
                  **extra: Any) -> dict[str, Any]:
    mobile = fields.get("mobile", "")
    verified = False
    with contextlib.suppress(ValidationFailed):  # a mistyped mobile is simply not verified
        verified = bool(mobile) and _codes(settings).is_verified(
            session, mobile=mobile_number(mobile), session_token=session_token(request.session), now=utcnow())
    context = {"fields": fields, "errors": {}, "notice": None, "code_shown": False, "verified": verified,
               "photo_types": ",".join(PHOTO_TYPES), "max_photos": MAX_PHOTOS, "photos_again": False}
    context.update(extra)
    if context["errors"] or context["notice"]:
        context["code_shown"] = True
    return context


def _report_context(session: Session, settings: Settings, request: Request, fields: dict[str, str],
                    **extra: Any) -> dict[str, Any]:
    return {**_form_context(session, settings, request, fields, **extra),
            "categories": report_categories(session), "districts": districts(session)}


def _feedback_context(session: Session, settings: Settings, request: Request, fields: dict[str, str],
                      **extra: Any) -> dict[str, Any]:
    return {**_form_context(session, settings, request, fields, **extra),
            "categories": feedback_categories(session), "units": feedback_units(session),
            "kinds": FEEDBACK_KINDS}


@router.get("/citizen/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return _page(request, "public/report.html",
                 _report_context(session, settings, request, {"request_id": new_request_id()}))


@router.post("/citizen/report", response_class=HTMLResponse, include_in_schema=False)
def submit_report(
    request: Request, form: FormDep, session: SessionDep, settings: SettingsDep, photos: PhotosDep,
    metrics: MetricsDep, notifier: NotifierDep,
) -> HTMLResponse:
    """File the report, or (the other button) send the mobile its code; either way a refusal re-renders it."""
    fields = form.fields
    fields.setdefault("request_id", new_request_id())
    photos_again = bool(form.uploads)
    if form.unreadable:
        return _page(request, "public/report.html", _report_context(
            session, settings, request, fields, errors={"photos": UNREADABLE_FORM}), status_code=422)
    if fields.get("intent") == SEND_CODE:
        context = _send_code_on_form(session, settings, request, fields)
        status, refused = context.pop("status_code", 200), context.pop("refused", None)
        return _page(request, "public/report.html",
                     _report_context(session, settings, request, fields, photos_again=photos_again, **context),
                     status_code=status, refused=refused)
    verifier = Verifier(_codes(settings), session_token(request.session))
    try:
        submission = file_report(session, photos, verifier, fields=fields, uploads=form.uploads, now=utcnow(),
                                 status_link=status_links(settings))
    except (ValidationFailed, RateLimited) as refused:
        return _page(request, "public/report.html", _report_context(
            session, settings, request, fields, errors=field_errors(refused), photos_again=photos_again),
            status_code=refused.status_code, refused=refused)
    return _filed(request, session, submission, metrics=metrics, notifier=notifier)


@router.get("/citizen/feedback", response_class=HTMLResponse, include_in_schema=False)
def feedback_page(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    return _page(request, "public/feedback.html",
                 _feedback_context(session, settings, request, {"request_id": new_request_id()}))


@router.post("/citizen/feedback", response_class=HTMLResponse, include_in_schema=False)
def submit_feedback(
    request: Request, form: FormDep, session: SessionDep, settings: SettingsDep, metrics: MetricsDep,
    notifier: NotifierDep,
) -> HTMLResponse:
    """File the 1888 message (anonymous, or from a verified mobile), or send the mobile its code."""
    fields = form.fields
    fields.setdefault("request_id", new_request_id())
    if fields.get("intent") == SEND_CODE:
        context = _send_code_on_form(session, settings, request, fields)
        status, refused = context.pop("status_code", 200), context.pop("refused", None)
        return _page(request, "public/feedback.html",
                     _feedback_context(session, settings, request, fields, **context), status_code=status,
                     refused=refused)
    verifier = Verifier(_codes(settings), session_token(request.session))
    try:
        budget = AnonymousBudget(per_hour=settings.anonymous_1888_per_address_hour)
        submission = file_feedback(session, verifier, budget, fields=fields, address=client_address(request),
                                   now=utcnow(), status_link=status_links(settings))
    except (ValidationFailed, RateLimited) as refused:
        return _page(request, "public/feedback.html", _feedback_context(
            session, settings, request, fields, errors=field_errors(refused)), status_code=refused.status_code,
            refused=refused)
    return _filed(request, session, submission, metrics=metrics, notifier=notifier)


def _send_code_on_form(session: Session, settings: Settings, request: Request,
                       fields: dict[str, str]) -> dict[str, Any]:
    """The form's «send code» button: the notice or the refusal the form is shown with."""
    try:
        notice = _send_code(session, settings, request, fields.get("mobile", ""))
    except (ValidationFailed, RateLimited) as refused:
        return {"errors": {"mobile": refused.message}, "status_code": refused.status_code, "refused": refused}
    return {"notice": notice, "code_shown": True}


def _send_code(session: Session, settings: Settings, request: Request, raw_mobile: str) -> str:
    mobile = mobile_number(raw_mobile)
    codes = _codes(settings)
    token = session_token(request.session)
    now = utcnow()
    if codes.is_verified(session, mobile=mobile, session_token=token, now=now):
        return ALREADY_VERIFIED
    codes.send(session, mobile=mobile, session_token=token, address=client_address(request), now=now)
    log.info("Phone code queued for a citizen's web form")
    return CODE_SENT.format(mobile=persian_digits(mobile),
                            minutes=persian_digits(int(CODE_LIFETIME.total_seconds()) // 60))


@router.post("/citizen/phone-code")
@raises(ValidationFailed, RateLimited)
def send_phone_code(
    request: Request, session: SessionDep, settings: SettingsDep, mobile: Annotated[str, Form()] = "",
) -> JSONResponse:
    """The page's «send code» without leaving the form (JavaScript); the same checks and limits as the button.

    A refusal is answered, not raised, so that the hits it counted are committed with it."""
    try:
        notice = _send_code(session, settings, request, mobile)
    except (ValidationFailed, RateLimited) as refused:
        session.commit()
        headers = ({"Retry-After": str(refused.details["retry_after"])}
                   if isinstance(refused, RateLimited) and "retry_after" in refused.details else None)
        return JSONResponse(refused.as_dict(), status_code=refused.status_code, headers=headers)
    return JSONResponse({"message": notice})


def _filed(request: Request, session: Session, submission: Submission, *, metrics: MetricsDep,
           notifier: NotifierDep) -> HTMLResponse:
    ticket = submission.ticket
    public = to_public(session, ticket)
    session.commit()  # stored before it is counted and announced
    if submission.new:
        metrics.tickets_created.labels(line=ticket.line).inc()
        notifier.ticket_created(public)
        log.info("Ticket %s filed from the public web form (%s)", ticket.tracking_code, ticket.line)
    return _page(request, "public/filed.html", {"ticket": public, "sms_sent": bool(ticket.caller_number),
                                                "code_for_reading": format_for_reading(ticket.tracking_code)})
