"""The citizens' follow-up pages (no login): finding a request by tracking code and mobile digits, its public
timeline by the signed link of its SMS, and answering "solved / not solved" online (decisions 57 and 58).

Plain HTML forms that work without JavaScript; each POST carries the session's CSRF field like the login form
(the answer form, multipart for its photo, carries it in its action's query)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from agent_console.body_limit import body_limit
from agent_console.deps import NotifierDep, PhotosDep, SessionDep, SettingsDep
from agent_console.routes.auth import client_address
from agent_console.templating import TEMPLATES
from callcenter.citizens.links import STATUS, signature_matches, status_path
from callcenter.citizens.online_answers import AnswerState, Offer, open_offer, record_answer
from callcenter.citizens.timeline import look_up, public_timeline
from callcenter.platform.errors import Conflict, NotFound, RateLimited, ValidationFailed
from callcenter.platform.rate_limits import RateLimiter
from callcenter.tickets.attachments import MAX_PHOTO_BYTES, Upload, check_photos
from callcenter.tickets.store import to_public
from callcenter.tickets.tracking_code import parse_tracking_code
from db.models import Ticket, utcnow

router = APIRouter()
log = logging.getLogger(__name__)

NO_SUCH_REQUEST = "درخواستی با این پیوند پیدا نشد؛ نشانی را همان‌گونه که در پیامک آمده باز کنید."
WORDS_MAX = 2000  # the textarea's maxlength; more is cut
# One photo and a few words; anything bigger is refused before it is read.
ANSWER_FORM_BYTES = body_limit("POST", "/citizen/a/0/x")
_UNREADABLE = "فرم فرستاده‌شده خوانده نشد؛ یک عکس تا ۵ مگابایت بفرستید."


@router.get("/citizen/track", response_class=HTMLResponse, include_in_schema=False)
def track_page(request: Request) -> HTMLResponse:
    return _track_form(request)


@router.post("/citizen/track", include_in_schema=False)
def track(
    request: Request, session: SessionDep, settings: SettingsDep,
    tracking_code: Annotated[str, Form(max_length=64)] = "", mobile_digits: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Code and digits right: on to the ticket's signed status page; else the form again, with its values."""
    limiter = RateLimiter(secret=settings.secret_key)
    try:
        ticket = look_up(session, limiter, tracking_code=tracking_code, mobile_digits=mobile_digits,
                         address=client_address(request), now=utcnow())
    except (NotFound, RateLimited) as refused:
        session.commit()  # the failure counts even though the answer is a refusal
        headers = {"Retry-After": str(refused.details["retry_after"])} if isinstance(refused, RateLimited) else {}
        return _track_form(request, error=refused.message, status_code=refused.status_code, headers=headers,
                           tracking_code=tracking_code)
    return RedirectResponse(status_path(settings.secret_key, ticket.tracking_code), status_code=303)


@router.get("/citizen/s/{tracking_code}/{sig}", response_class=HTMLResponse, include_in_schema=False)
def status_page(tracking_code: str, sig: str, request: Request, session: SessionDep,
                settings: SettingsDep) -> HTMLResponse:
    """The public timeline the SMS and the receipt link to."""
    ticket = _signed_ticket(session, settings.secret_key, tracking_code, sig)
    if ticket is None:
        return _track_form(request, error=NO_SUCH_REQUEST, status_code=404)
    return TEMPLATES.TemplateResponse(request, "public/track_timeline.html",
                                      {"timeline": public_timeline(session, ticket)})


def _signed_ticket(session: Session, secret: str, tracking_code: str, sig: str) -> Ticket | None:
    if not signature_matches(secret, sig, STATUS, tracking_code):
        return None
    try:
        code = parse_tracking_code(tracking_code)
    except ValidationFailed:
        return None
    return session.exec(select(Ticket).where(Ticket.tracking_code == code)).first()


def _track_form(request: Request, *, error: str | None = None, status_code: int = 200,
                headers: dict[str, str] | None = None, tracking_code: str = "") -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "public/track.html",
                                      {"error": error, "tracking_code": tracking_code[:64]},
                                      status_code=status_code, headers=headers)


@router.get("/citizen/a/{answer_id}/{sig}", response_class=HTMLResponse, include_in_schema=False)
def answer_page(answer_id: int, sig: str, request: Request, session: SessionDep,
                settings: SettingsDep) -> HTMLResponse:
    """The form "is the problem solved?", or why it is no longer open (expired, or already answered)."""
    try:
        offer = open_offer(session, settings.secret_key, answer_id=answer_id, sig=sig, now=utcnow())
    except NotFound as missing:
        return _answer_page(request, None, error=missing.message, status_code=404)
    return _answer_page(request, offer)


@dataclass(frozen=True)
class AnswerForm:
    """What the answer form sent, or why it could not be read (shown on the page, not raised)."""

    resolved: bool = False
    words: str = ""
    choice: str = ""  # as sent, to show it again with a refusal
    photo: Upload | None = None
    refusal: ValidationFailed | None = None


async def answer_form(request: Request) -> AnswerForm:
    """The multipart form, read asynchronously before the route's unit of work (as the inbox's photos are)."""
    try:
        return await _read_answer_form(request)
    except _Refused as refused:
        return AnswerForm(refusal=refused.refusal, words=refused.words, choice=refused.choice)


@router.post("/citizen/a/{answer_id}/{sig}", response_class=HTMLResponse, include_in_schema=False)
def answer(answer_id: int, sig: str, request: Request, form: Annotated[AnswerForm, Depends(answer_form)],
           session: SessionDep, settings: SettingsDep, photos: PhotosDep, notifier: NotifierDep) -> HTMLResponse:
    """Solved or not solved, once; words and a photo optional. The unit's inbox and the supervisors' list hear of
    the step as of any other."""
    try:
        offer = open_offer(session, settings.secret_key, answer_id=answer_id, sig=sig, now=utcnow())
    except NotFound as missing:
        return _answer_page(request, None, error=missing.message, status_code=404)
    try:
        if form.refusal is not None:
            raise form.refusal
        step = record_answer(session, photos, offer=offer, resolved=form.resolved, words=form.words,
                             photo=form.photo, now=utcnow())
    except Conflict as closed:
        session.rollback()
        log.info("Online answer %d refused: %s", answer_id, closed.error_id)
        fresh = open_offer(session, settings.secret_key, answer_id=answer_id, sig=sig, now=utcnow())
        return _answer_page(request, fresh, status_code=closed.status_code)  # its state says why
    except ValidationFailed as wrong:
        session.rollback()
        return _answer_page(request, offer, error=wrong.message, status_code=wrong.status_code, form=form)
    session.refresh(offer.ticket)
    public = to_public(session, offer.ticket)
    session.commit()  # stored before it is announced
    log.info("Online answer %d recorded for ticket %d", answer_id, offer.ticket.id or 0)
    notifier.ticket_changed(public, action=step.action)
    return _answer_page(request, offer, recorded=form.resolved)


class _Refused(Exception):
    """The form could not be taken, with what it said (shown again with the refusal)."""

    def __init__(self, refusal: ValidationFailed, *, words: str = "", choice: str = "") -> None:
        super().__init__(refusal.message)
        self.refusal, self.words, self.choice = refusal, words, choice


async def _read_answer_form(request: Request) -> AnswerForm:
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > ANSWER_FORM_BYTES:
        raise _Refused(ValidationFailed(_UNREADABLE, field="photo"))
    try:
        async with request.form(max_files=1, max_fields=10) as form:
            choice, words, upload = form.get("solved"), form.get("words"), form.get("photo")
            photo = None
            if isinstance(upload, UploadFile) and (upload.filename or upload.size):
                photo = Upload(filename=upload.filename or "", data=await upload.read(MAX_PHOTO_BYTES + 1))
    except HTTPException as exc:
        raise _Refused(ValidationFailed(_UNREADABLE, field="photo")) from exc
    text = words[:WORDS_MAX] if isinstance(words, str) else ""
    chosen = choice if isinstance(choice, str) else ""
    if chosen not in ("yes", "no"):
        raise _Refused(ValidationFailed("بگویید مشکل رفع شده است یا نه.", field="solved"), words=text)
    if photo is not None:
        try:
            check_photos([photo])  # refused here, the page shows the citizen's words and choice again
        except ValidationFailed as refusal:
            raise _Refused(refusal, words=text, choice=chosen) from refusal
    return AnswerForm(resolved=chosen == "yes", words=text, choice=chosen, photo=photo)


def _answer_page(request: Request, offer: Offer | None, *, error: str | None = None, status_code: int = 200,
                 recorded: bool | None = None, form: AnswerForm | None = None) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "public/answer.html", {
        "offer": offer, "error": error, "recorded": recorded, "states": AnswerState, "form": form or AnswerForm(),
        "tracking_code": offer.ticket.tracking_code if offer else "",
    }, status_code=status_code)

