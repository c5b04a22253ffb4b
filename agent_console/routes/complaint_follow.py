"""The complainant's follow-up pages (no login): opening a complaint with its tracking code and receipt, or with a
code texted to the mobile it was filed with; the case page the pass names (status, conversation, result, an
answer with files); the files the complainant sent; leaving (the pass forgotten).

Plain HTML forms that work without JavaScript, each POST carrying the session's CSRF token (the answer form, a
multipart one, as its first field). The client address is passed to the domain only to be counted under the
day's random key; no log line here carries it, a receipt, a mobile or a tracking code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from agent_console import complaint_pass
from agent_console.csrf import session_token
from agent_console.deps import SessionDep, SettingsDep
from agent_console.routes.auth import client_address
from agent_console.templating import TEMPLATES
from callcenter.citizens.phone_codes import PhoneCodes
from callcenter.complaints.attachments import MAX_BYTES, MAX_FILES, MAX_REQUEST_BYTES, AttachmentStore, Upload
from callcenter.complaints.followup import (
    Guard,
    answer,
    case_view,
    complainants_file,
    open_with_mobile_code,
    open_with_receipt,
    send_mobile_code,
    stored_names,
)
from callcenter.complaints.messages import MAX_LENGTH
from callcenter.platform.errors import Conflict, NotFound, PasokhError, RateLimited, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from db.models import Complaint, utcnow

router = APIRouter()
log = logging.getLogger(__name__)

FOLLOW = "/complaints/follow"
CASE = "/complaints/case"
RECEIPT, MOBILE = "receipt", "mobile"
SEND_CODE, VERIFY = "send_code", "verify"
LEFT = "از پیگیری شکایت خارج شدید؛ این مرورگر دیگر آن را نشان نمی‌دهد."
ANSWERED = "پاسخ شما ثبت شد و به بازرس رسیدگی‌کننده می‌رسد."
UNREADABLE = (f"فرم خوانده نشد؛ حداکثر {persian_digits(MAX_FILES)} پیوست بفرستید و حجم همه روی هم از حد "
              f"مجاز بیشتر نباشد.")
# Starlette's own multipart limits answer in English; ours are wide and the files are checked one by one.
_FORM_LIMITS = {"max_files": MAX_FILES + 1, "max_fields": 10}
_BIGGEST_FILE = max(MAX_BYTES.values())


def _guard(settings: Settings) -> Guard:
    return Guard(secret=settings.secret_key)


def _codes(settings: Settings) -> PhoneCodes:
    return PhoneCodes(secret=settings.secret_key, per_address_hour=settings.phone_codes_per_address_hour)


def _refusal_headers(refused: PasokhError) -> dict[str, str] | None:
    if isinstance(refused, RateLimited) and "retry_after" in refused.details:
        return {"Retry-After": str(refused.details["retry_after"])}
    return None


def _follow_page(request: Request, *, status_code: int = 200, headers: dict[str, str] | None = None,
                 **context: Any) -> HTMLResponse:
    values = {"way": RECEIPT, "tracking_code": "", "mobile": "", "error": None, "errors": {}, "notice": None,
              "code_shown": False, **context}
    return TEMPLATES.TemplateResponse(request, "public/complaints/follow.html", values, status_code=status_code,
                                      headers={"Cache-Control": "no-store", **(headers or {})})


@router.get(FOLLOW, response_class=HTMLResponse, include_in_schema=False)
def follow_page(request: Request, left: int = 0) -> HTMLResponse:
    return _follow_page(request, notice=LEFT if left else None)


@router.post(FOLLOW, include_in_schema=False)
def follow(
    request: Request, session: SessionDep, settings: SettingsDep,
    way: Annotated[str, Form(max_length=16)] = RECEIPT, intent: Annotated[str, Form(max_length=16)] = VERIFY,
    tracking_code: Annotated[str, Form(max_length=64)] = "", receipt: Annotated[str, Form(max_length=128)] = "",
    mobile: Annotated[str, Form(max_length=32)] = "", code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Code and receipt, or code and mobile (then the texted code): the pass, and on to the case page."""
    shown: dict[str, Any] = {"way": MOBILE if way == MOBILE else RECEIPT, "tracking_code": tracking_code[:64],
             "mobile": mobile[:32] if way == MOBILE else ""}
    address, now = client_address(request), utcnow()
    try:
        if way == MOBILE and intent == SEND_CODE:
            notice = send_mobile_code(session, _guard(settings), _codes(settings), settings,
                                      tracking_code=tracking_code, mobile=mobile,
                                      session_token=session_token(request.session), address=address, now=now)
            session.commit()
            return _follow_page(request, notice=notice, code_shown=True, **shown)
        if way == MOBILE:
            complaint = open_with_mobile_code(session, _guard(settings), _codes(settings), settings,
                                              tracking_code=tracking_code, mobile=mobile, code=code,
                                              session_token=session_token(request.session), address=address,
                                              now=now)
        else:
            complaint = open_with_receipt(session, _guard(settings), tracking_code=tracking_code, receipt=receipt,
                                          address=address, now=now)
    except (ValidationFailed, NotFound, RateLimited) as refused:
        session.commit()  # the failure counts even though the answer is a refusal
        field_name = refused.details.get("field") if isinstance(refused, ValidationFailed) else None
        errors = {str(field_name): refused.message} if field_name else {}
        if isinstance(refused, ValidationFailed) and not field_name:
            errors = {"tracking_code": refused.message}
        return _follow_page(request, status_code=refused.status_code, headers=_refusal_headers(refused),
                            error=None if errors else refused.message, errors=errors,
                            code_shown=way == MOBILE and intent == VERIFY, **shown)
    session.commit()
    assert complaint.id is not None
    log.info("A complaint was opened for follow-up (%s)", "receipt" if way != MOBILE else "mobile code")
    response = RedirectResponse(CASE, status_code=303)
    complaint_pass.grant(response, settings, complaint.id)
    return response


def _passed_complaint(request: Request, session: Session, settings: Settings) -> Complaint | None:
    complaint_id = complaint_pass.granted_complaint(request, settings)
    return session.get(Complaint, complaint_id) if complaint_id is not None else None


def _case_page(request: Request, session: Session, settings: Settings, complaint: Complaint, *,
               status_code: int = 200, error: str | None = None, notice: str | None = None,
               text: str = "") -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, "public/complaints/case.html", {
        "case": case_view(session, complaint), "error": error, "notice": notice, "text": text,
        "max_length": MAX_LENGTH, "max_files": MAX_FILES,
    }, status_code=status_code, headers={"Cache-Control": "no-store"})
    assert complaint.id is not None
    complaint_pass.grant(response, settings, complaint.id)  # renewed while the complainant reads
    return response


@router.get(CASE, response_class=HTMLResponse, include_in_schema=False)
def case_page(request: Request, session: SessionDep, settings: SettingsDep, answered: int = 0) -> Response:
    """The complaint the pass names; without a live pass, the form that opens one."""
    complaint = _passed_complaint(request, session, settings)
    if complaint is None:
        return RedirectResponse(FOLLOW, status_code=303)
    return _case_page(request, session, settings, complaint, notice=ANSWERED if answered else None)


@dataclass
class AnswerForm:
    """What the answer form sent: its words and the chosen files, or that it could not be read."""

    text: str = ""
    uploads: list[Upload] = field(default_factory=list)
    unreadable: bool = False


async def answer_form(request: Request) -> AnswerForm:
    """The multipart form, read before the route's unit of work (as the citizens' forms are)."""
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES:
        return AnswerForm(unreadable=True)
    try:
        async with request.form(**_FORM_LIMITS) as form:
            raw = form.get("body")
            text = raw[: MAX_LENGTH * 2] if isinstance(raw, str) else ""
            chosen = [value for key, value in form.multi_items()
                      if key == "attachments" and isinstance(value, UploadFile) and (value.filename or value.size)]
            if len(chosen) > MAX_FILES:  # refused by the check, before any is read
                return AnswerForm(text=text, uploads=[Upload(None, b"")] * len(chosen))
            uploads = [Upload(filename=upload.filename, data=await upload.read(_BIGGEST_FILE + 1))
                       for upload in chosen]
    except HTTPException as exc:
        log.info("Unreadable complaint answer form: %s", exc.detail)
        return AnswerForm(unreadable=True)
    return AnswerForm(text=text, uploads=uploads)


@router.post(CASE, include_in_schema=False)
def post_answer(request: Request, form: Annotated[AnswerForm, Depends(answer_form)], session: SessionDep,
                settings: SettingsDep) -> Response:
    """The complainant's answer with its files; refused with the words kept when something is wrong."""
    complaint = _passed_complaint(request, session, settings)
    if complaint is None:
        return RedirectResponse(FOLLOW, status_code=303)
    if form.unreadable:
        return _case_page(request, session, settings, complaint, status_code=422, error=UNREADABLE,
                          text=form.text)
    store = AttachmentStore.for_settings(settings)
    try:
        message = answer(session, store, complaint, text=form.text, uploads=form.uploads)
        written = stored_names(session, message)
    except (ValidationFailed, Conflict) as refused:
        session.rollback()
        return _case_page(request, session, settings, complaint, status_code=refused.status_code,
                          error=refused.message, text=form.text)
    try:
        session.commit()
    except Exception:
        for name in written:
            store.remove(name)
        raise
    return RedirectResponse(f"{CASE}?answered=1", status_code=303)


@router.get(CASE + "/files/{attachment_id}", include_in_schema=False)
def complainants_file_download(attachment_id: int, request: Request, session: SessionDep,
                               settings: SettingsDep) -> Response:
    """A file the complainant sent, for the browser holding the pass of its complaint (else not found)."""
    complaint = _passed_complaint(request, session, settings)
    if complaint is None or complaint.id is None:
        return RedirectResponse(FOLLOW, status_code=303)
    try:
        row = complainants_file(session, complaint.id, attachment_id)
        path = AttachmentStore.for_settings(settings).path(row.stored_name)
    except NotFound as missing:
        return _case_page(request, session, settings, complaint, status_code=404, error=missing.message)
    extension = row.stored_name.rsplit(".", 1)[1]
    return FileResponse(path, media_type=row.content_type, content_disposition_type="attachment",
                        filename=f"attachment-{attachment_id}.{extension}",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.post(CASE + "/leave", include_in_schema=False)
def leave() -> Response:
    """«خروج»: this browser forgets the pass (on a shared computer, the next person cannot read on)."""
    response = RedirectResponse(FOLLOW + "?left=1", status_code=303)
    complaint_pass.revoke(response)
    return response
