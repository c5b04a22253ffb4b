"""Tickets over HTTP: filing one, its possible duplicates, reading it and its history, its photos and recording,
taking a lifecycle action (with photos), and the unit a new ticket is referred to."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile

from agent_console.api_errors import raises
from agent_console.deps import (
    CallHandler,
    HistoryReader,
    MetricsDep,
    NotifierDep,
    PhotosDep,
    RecordingsDep,
    SessionDep,
    SettingsDep,
    TicketActor,
)
from agent_console.routes.calls import WAV_FILE
from callcenter.citizens.links import status_links
from callcenter.citizens.online_answers import offer_online_answer
from callcenter.platform.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.privacy import steps_for_reader, ticket_for_reader, ticket_read_refusal
from callcenter.tickets.attachments import (
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    MAX_REQUEST_BYTES,
    TOO_MANY,
    Upload,
    apply_action_with_photos,
    history_with_photos,
    photo_of,
)
from callcenter.tickets.filing import file_with_referral
from callcenter.tickets.inbox import units_that_held, was_disputed
from callcenter.tickets.referral_units import ReferralUnit, referral_unit
from callcenter.tickets.store import find_by_tracking_code, possible_duplicates, to_public
from db.models import (
    Call,
    FieldVerdict,
    RowId,
    Ticket,
    TicketAction,
    TicketCreate,
    TicketPublic,
    TicketStatus,
    TicketTransitionWithPhotos,
    User,
)

router = APIRouter()
log = logging.getLogger(__name__)
PHOTO_FILE: dict[int | str, dict[str, Any]] = {200: {"description": "The photo", "content": {
    "image/jpeg": {}, "image/png": {}, "image/webp": {}}}}


@router.post("/api/tickets", status_code=201)
def file_ticket(
    body: TicketCreate, user: CallHandler, session: SessionDep, metrics: MetricsDep, notifier: NotifierDep,
    settings: SettingsDep,
) -> TicketPublic:
    submission = file_with_referral(session, data=body, by=user, status_link=status_links(settings))
    ticket = submission.ticket
    public = to_public(session, ticket)
    session.commit()  # stored before it is counted and announced (the consoles re-read what they are told of)
    if submission.new:  # a replayed form gets the first ticket back, counted and announced once
        metrics.tickets_created.labels(line=ticket.line).inc()
        notifier.ticket_created(public)
    return public


@router.get("/api/duplicates")
def duplicates(
    _user: CallHandler, session: SessionDep, category_id: RowId | None = None, address: str = "",
    caller_number: str | None = None, call_id: RowId | None = None,
) -> list[TicketPublic]:
    """Open tickets like the one being filed (same caller, or same category near the same address)."""
    if call_id is not None and not caller_number:
        call = session.get(Call, call_id)
        caller_number = None if call is None or call.anonymous else call.caller_number
    return possible_duplicates(session, category_id=category_id, address=address, caller_number=caller_number)


@router.get("/api/tickets/{tracking_code}/recording", response_class=FileResponse, responses=WAV_FILE)
@raises(NotFound)
def ticket_recording(
    tracking_code: str, _user: CallHandler, session: SessionDep, recordings: RecordingsDep
) -> FileResponse:
    """The caller's recorded message, for the console's audio player."""
    ticket = find_by_tracking_code(session, tracking_code)
    if ticket.recording is None:
        raise NotFound("این درخواست پیام صوتی ندارد.", tracking_code=ticket.tracking_code)
    return FileResponse(recordings.host_file(ticket.recording), media_type="audio/wav",
                        filename=f"{ticket.tracking_code}.wav", content_disposition_type="inline")


class ActionRequest(BaseModel):
    action: TicketAction
    note: str = ""
    unit_id: RowId | None = None
    verdict: FieldVerdict | None = None
    # The status the person saw on screen; if the ticket has moved on since, the action is refused (409).
    expected_status: TicketStatus | None = None


@dataclass(frozen=True)
class ActionUpload:
    """The step asked for and the photos sent with it (none in a JSON request)."""

    body: ActionRequest
    photos: list[Upload]


# Form fields beside the photos; starlette's own limits answer in English, so ours are wide and checked below.
_FORM_LIMITS = {"max_files": 50, "max_fields": 20}
_UNREADABLE_FORM = (f"فایل‌های فرستاده‌شده خوانده نشد؛ حداکثر {persian_digits(MAX_PHOTOS)} عکس "
                    f"و هر کدام تا {persian_digits(MAX_PHOTO_BYTES // (1024 * 1024))} مگابایت بفرستید.")


async def action_upload(request: Request) -> ActionUpload:
    """JSON as before, or multipart/form-data (the same fields, plus ``photos`` files) for a report with photos."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        try:
            return ActionUpload(body=ActionRequest.model_validate_json(await request.body() or b"{}"), photos=[])
        except PydanticValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from exc
    declared = request.headers.get("content-length", "")
    # Without a declared length (a chunked upload) nothing would bound what starlette spools to disk; a
    # browser's form always declares it.
    if not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES:
        log.info("Refused an action form of %s bytes: undeclared or larger than %d", declared or "undeclared",
                 MAX_REQUEST_BYTES)
        raise ValidationFailed(_UNREADABLE_FORM, field="photos")
    try:
        async with request.form(**_FORM_LIMITS) as form:
            fields = {key: value for key, value in form.multi_items()
                      if key != "photos" and isinstance(value, str) and value != ""}
            files = [value for key, value in form.multi_items() if key == "photos" and isinstance(value, UploadFile)]
            if len(files) > MAX_PHOTOS:  # before reading any of them
                raise ValidationFailed(TOO_MANY, field="photos", count=len(files), limit=MAX_PHOTOS)
            # Read one byte past the limit: enough to refuse a big file without holding all of it.
            photos = [Upload(filename=upload.filename or "", data=await upload.read(MAX_PHOTO_BYTES + 1))
                      for upload in files if upload.filename or upload.size]
    except HTTPException as exc:  # a malformed body or starlette's own limits
        log.info("Refused an action form: %s", exc.detail)
        raise ValidationFailed(_UNREADABLE_FORM, field="photos") from exc
    try:
        return ActionUpload(body=ActionRequest.model_validate(fields), photos=photos)
    except PydanticValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


def _action_body_schema() -> dict[str, Any]:
    """The body ``action_upload`` reads by hand, for the API docs: JSON, or the same fields as a form with up to
    five ``photos``. Its enums are the ones the responses already put in the components."""
    fields = ActionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    fields.pop("$defs", None)
    form = {**fields, "properties": {**fields["properties"], "photos": {
        "type": "array", "maxItems": MAX_PHOTOS,
        "items": {"type": "string", "format": "binary"},
        "description": "JPEG, PNG or WebP, each up to 5 MB; only with report_done",
    }}}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": fields},
        "multipart/form-data": {"schema": form},
    }}}


@router.post("/api/tickets/{tracking_code}/actions", openapi_extra=_action_body_schema())
@raises(NotFound, InvalidTransition, Conflict)
def take_action(
    tracking_code: str, user: TicketActor, upload: Annotated[ActionUpload, Depends(action_upload)],
    session: SessionDep, photos: PhotosDep, notifier: NotifierDep, settings: SettingsDep,
) -> TicketPublic:
    """One step of the lifecycle as the logged-in user; apply_action enforces the role and the unit.

    A report that the work is done may carry up to five photos (multipart ``photos``); it texts the citizen a
    link to answer "solved / not solved" online (callcenter/citizens/online_answers.py)."""
    body = upload.body
    ticket = find_by_tracking_code(session, tracking_code)
    assert ticket.id is not None  # a stored row
    transition = apply_action_with_photos(
        session, photos, ticket_id=ticket.id, action=body.action, actor=user,
        uploads=upload.photos, note=body.note, unit_id=body.unit_id, verdict=body.verdict,
        expected_status=body.expected_status)
    session.refresh(ticket)
    if transition.action == TicketAction.REPORT_DONE:
        offer_online_answer(session, settings, ticket=ticket, now=transition.at)
    public = to_public(session, ticket)
    session.commit()  # stored before it is announced
    log.info("Ticket %s: %s by %s (%s → %s)%s", ticket.tracking_code, transition.action, user.username,
             transition.from_status, transition.to_status,
             f" with {len(upload.photos)} photo(s)" if upload.photos else "")
    notifier.ticket_changed(public, action=transition.action)
    return ticket_for_reader(public, user.role)


def _readable_ticket(session: Session, user: User, tracking_code: str) -> Ticket:
    """The ticket, if this reader may see it and its history (the rule: privacy.ticket_read_refusal)."""
    ticket = find_by_tracking_code(session, tracking_code)
    assert ticket.id is not None
    refusal = ticket_read_refusal(user.role, user.unit_id, units_that_held=lambda: units_that_held(session, ticket),
                                  was_disputed=lambda: was_disputed(session, ticket))
    if refusal is not None:
        raise PermissionDenied(refusal, tracking_code=ticket.tracking_code)
    return ticket


@router.get("/api/tickets/{tracking_code}")
@raises(NotFound)
def ticket_by_code(tracking_code: str, user: HistoryReader, session: SessionDep) -> TicketPublic:
    """The ticket and the citizen's words for whoever may read its history; who called, for the call center only."""
    return ticket_for_reader(to_public(session, _readable_ticket(session, user, tracking_code)), user.role)


@router.get("/api/tickets/{tracking_code}/history")
@raises(NotFound)
def ticket_history(tracking_code: str, user: HistoryReader, session: SessionDep) -> list[TicketTransitionWithPhotos]:
    """Every step, with the photos sent with it; a liaison sees it only for tickets their unit holds or once held."""
    ticket = _readable_ticket(session, user, tracking_code)
    return steps_for_reader(history_with_photos(session, ticket), user.role, ticket.caller_number)


@router.get("/api/tickets/{tracking_code}/photos/{photo_id}", response_class=FileResponse, responses=PHOTO_FILE)
@raises(NotFound)
def ticket_photo(
    tracking_code: str, photo_id: RowId, user: HistoryReader, session: SessionDep, photos: PhotosDep,
) -> FileResponse:
    """One photo of a report-done step, for whoever may read the ticket's history."""
    ticket = _readable_ticket(session, user, tracking_code)
    photo = photo_of(session, ticket, photo_id)
    path = photos.path(photo.stored_name)
    # nosniff: the browser shows it as the image type we checked, never guesses; private: staff-only evidence.
    return FileResponse(path, media_type=photo.content_type, content_disposition_type="inline",
                        filename=f"{ticket.tracking_code}-{photo_id}.{photo.stored_name.rsplit('.', 1)[1]}",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})


@router.get("/api/referral-unit")
@raises(NotFound)
def suggested_unit(
    _user: CallHandler, session: SessionDep, category_id: RowId, district_id: RowId | None = None,
) -> ReferralUnit:
    """The unit the filing form proposes for a category in a district (the operator may pick another)."""
    return referral_unit(session, category_id=category_id, district_id=district_id)
