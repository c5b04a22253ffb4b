"""HTTP and websocket routes of the console: login, console page, tickets, queue membership, health."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, field_validator
from sqlalchemy import text
from sqlmodel import Session, col, select

from agent_console.api_errors import raises
from agent_console.csrf import SESSION_KEY as CSRF_SESSION_KEY
from agent_console.csrf import session_token
from agent_console.deps import CallHandler, CurrentUser, ServicesDep, SessionDep, Supervisor, get_services
from callcenter.accounts import authenticate
from callcenter.callbacks import close_callback, pending_callbacks
from callcenter.errors import (
    AccountLocked,
    AsteriskUnavailable,
    Conflict,
    NoActiveCall,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from callcenter.lifecycle import refer_on_filing
from callcenter.lines import LINE_137, line_by_queue
from callcenter.sms import queue_tracking_code_sms
from callcenter.tickets import (
    create_ticket,
    find_by_tracking_code,
    possible_duplicates,
    to_public,
    unclassified_voice_messages,
)
from db.models import (
    Call,
    CallbackPublic,
    CallbackStatus,
    Category,
    PauseReason,
    Role,
    RowId,
    TicketCreate,
    TicketPublic,
    Unit,
    User,
    UserPublic,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

router = APIRouter()
TRANSFER_CONTEXT = "pasokh-transfer"  # asterisk_config/templates/extensions.conf.j2
log = logging.getLogger(__name__)
WAV_FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"audio/wav": {}}, "description": "The recording"}}


@router.get("/", include_in_schema=False)
def home(request: Request, session: SessionDep) -> RedirectResponse:
    user_id = request.session.get("user_id")
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    return RedirectResponse(landing_page(user) if user is not None else "/login", status_code=303)


def landing_page(user: User) -> str:
    """Where a user starts: the mayor's office watches the wallboard, liaisons and field supervisors their inbox;
    everyone else the console (which tells roles without a page yet that it is not theirs)."""
    return LANDING_PAGES.get(user.role, "/console")


LANDING_PAGES = {Role.VIEWER: "/wallboard", Role.UNIT_LIAISON: "/inbox", Role.FIELD_SUPERVISOR: "/inbox"}


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "login.html", {"error": None})


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    try:
        user = authenticate(session, username=username, password=password, policy=services.lockout_policy)
    except (NotAuthenticated, AccountLocked) as refused:
        log.info("Login refused for %r: %s", username[:64], refused.error_id)
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": refused.message},
                                          status_code=refused.status_code)
    token = session_token(request.session)
    request.session.clear()  # a new session for the new identity, keeping the page's CSRF token valid
    request.session.update({"user_id": user.id, CSRF_SESSION_KEY: token})
    return RedirectResponse(landing_page(user), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def console_page(request: Request, user: CallHandler) -> Response:
    return TEMPLATES.TemplateResponse(request, "console.html", {"user": user})


class Reference(BaseModel):
    categories: list[dict[str, Any]]
    units: list[dict[str, Any]]
    supervisors: list[UserPublic]  # whom an operator may transfer a call to


@router.get("/api/reference")
def reference_data(_user: CurrentUser, session: SessionDep) -> Reference:
    categories = session.exec(select(Category).order_by(col(Category.line), col(Category.id))).all()
    units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    return Reference(
        categories=[c.model_dump(mode="json") for c in categories],
        units=[u.model_dump(mode="json") for u in units],
        supervisors=[UserPublic.model_validate(u) for u in supervisors_with_phones(session)],
    )


def supervisors_with_phones(session: Session) -> list[User]:
    return list(session.exec(
        select(User).where(User.role == Role.SUPERVISOR, col(User.is_active).is_(True),
                           col(User.extension).is_not(None)).order_by(col(User.extension))
    ).all())


class AgentStatePublic(BaseModel):
    queue: str
    state: str
    reason: str | None = None
    since: datetime


class Me(BaseModel):
    user: UserPublic
    queues: list[AgentStatePublic]


@router.get("/api/me")
def me(user: CurrentUser, services: ServicesDep) -> Me:
    # From the durable log, not this process's memory: the same answer from any web worker, and after a restart.
    queues = [
        AgentStatePublic(queue=status.queue, state=status.state, reason=status.reason, since=status.since)
        for status in services.agent_log.current(extension=user.extension)
    ] if user.extension else []
    return Me(user=UserPublic.model_validate(user), queues=queues)


class QueueMembership(BaseModel):
    queue: str = LINE_137.queue

    @field_validator("queue")
    @classmethod
    def _a_public_line(cls, queue: str) -> str:
        if line_by_queue(queue) is None:
            raise ValueError("no such queue")  # answered as invalid-data with the Persian message
        return queue


def _phone_of(user: User) -> str:
    if not user.extension:
        raise PermissionDenied("برای شما داخلی تلفن تعریف نشده است.", username=user.username)
    return user.extension


@router.post("/api/queue/join", status_code=204)
@raises(AsteriskUnavailable)
async def join_queue(body: QueueMembership, user: CallHandler, services: ServicesDep) -> Response:
    await services.ami.queue_add(queue=body.queue, extension=_phone_of(user), member_name=user.full_name)
    return Response(status_code=204)


@router.post("/api/queue/leave", status_code=204)
@raises(AsteriskUnavailable)
async def leave_queue(body: QueueMembership, user: CallHandler, services: ServicesDep) -> Response:
    await services.ami.queue_remove(queue=body.queue, extension=_phone_of(user))
    return Response(status_code=204)


class QueuePause(QueueMembership):
    reason: PauseReason


@router.post("/api/queue/pause", status_code=204)
@raises(AsteriskUnavailable)
async def pause_in_queue(body: QueuePause, user: CallHandler, services: ServicesDep) -> Response:
    """Out of rotation with a reason (break, training, after-call work); the wallboard shows it."""
    await services.ami.queue_pause(queue=body.queue, extension=_phone_of(user), reason=body.reason.value)
    return Response(status_code=204)


@router.post("/api/queue/resume", status_code=204)
@raises(AsteriskUnavailable)
async def resume_in_queue(body: QueueMembership, user: CallHandler, services: ServicesDep) -> Response:
    await services.ami.queue_pause(queue=body.queue, extension=_phone_of(user), reason=None)
    return Response(status_code=204)


class CallHold(BaseModel):
    on_hold: bool


@router.post("/api/call/hold", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def hold_call(body: CallHold, user: CallHandler, services: ServicesDep) -> Response:
    """Hold without music: the citizen's channel is muted both ways until the operator resumes."""
    legs = await services.ami.operator_call(_phone_of(user))
    await services.ami.mute(channel=legs.citizen_channel, muted=body.on_hold)
    return Response(status_code=204)


@router.post("/api/call/hangup", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def hang_up_call(user: CallHandler, services: ServicesDep) -> Response:
    legs = await services.ami.operator_call(_phone_of(user))
    await services.ami.hang_up(legs.citizen_channel)
    return Response(status_code=204)


class CallTransfer(BaseModel):
    target: str  # "line137" / "line1888", or a supervisor's extension


@router.post("/api/call/transfer", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def transfer_call(body: CallTransfer, user: CallHandler, session: SessionDep, services: ServicesDep) -> Response:
    """Blind transfer of the citizen to the other line's queue or to a supervisor's phone."""
    if line_by_queue(body.target) is None and body.target not in {
        s.extension for s in supervisors_with_phones(session)
    }:
        raise ValidationFailed("مقصد انتقال باید صف یکی از خط‌ها یا داخلی یک ناظر باشد.", target=body.target)
    legs = await services.ami.operator_call(_phone_of(user))
    await services.ami.transfer(legs, context=TRANSFER_CONTEXT, exten=body.target)
    await asyncio.to_thread(services.call_records.update, legs.linkedid, transferred_to=body.target)
    log.info("%s transferred call %s to %s", user.username, legs.linkedid, body.target)
    return Response(status_code=204)


@router.post("/api/tickets", status_code=201)
def file_ticket(body: TicketCreate, user: CallHandler, session: SessionDep, services: ServicesDep) -> TicketPublic:
    ticket = create_ticket(session, data=body, created_by=user)
    refer_on_filing(session, ticket=ticket, by=user)
    # Only an outbox row: the dispatcher sends it later, so a slow or failing provider never holds the operator.
    try:
        queue_tracking_code_sms(session, ticket=ticket)
    except Exception:  # the ticket is filed and its code on the operator's screen; the SMS is a courtesy
        session.rollback()
        log.exception("Ticket %s: could not queue the tracking-code SMS", ticket.tracking_code)
    public = to_public(session, ticket)
    services.metrics.tickets_created.labels(line=ticket.line).inc()
    services.notifier.ticket_created(public)
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
    tracking_code: str, _user: CallHandler, session: SessionDep, services: ServicesDep
) -> FileResponse:
    """The caller's recorded message, for the console's audio player."""
    ticket = find_by_tracking_code(session, tracking_code)
    if ticket.recording is None:
        raise NotFound("این درخواست پیام صوتی ندارد.", tracking_code=ticket.tracking_code)
    return FileResponse(services.recordings.host_file(ticket.recording), media_type="audio/wav",
                        filename=f"{ticket.tracking_code}.wav", content_disposition_type="inline")


@router.get("/api/calls/{call_id}/recording", response_class=FileResponse, responses=WAV_FILE)
@raises(NotFound)
def call_recording(call_id: RowId, user: Supervisor, session: SessionDep, services: ServicesDep) -> FileResponse:
    """A whole answered call, for a supervisor's review; gone once the retention period has purged it."""
    call = session.get(Call, call_id)
    if call is None or call.recording is None:
        raise NotFound("این تماس صدای ضبط‌شده ندارد.", call_id=call_id)
    path = services.recordings.host_file(call.recording)
    log.info("Call %d: recording played by %s", call_id, user.username)  # who listened to a citizen, for audits
    return FileResponse(path, media_type="audio/wav", filename=f"call-{call_id}.wav",
                        content_disposition_type="inline")


@router.get("/api/voice-messages")
def voice_messages(_user: CallHandler, session: SessionDep) -> list[TicketPublic]:
    """Recorded messages no operator has classified yet, oldest first."""
    return unclassified_voice_messages(session)


@router.get("/api/callbacks")
def callbacks(_user: CallHandler, session: SessionDep) -> list[CallbackPublic]:
    """Pending callback requests in the callers' turn."""
    return pending_callbacks(session)


class CallbackClose(BaseModel):
    status: Literal[CallbackStatus.DONE, CallbackStatus.CANCELLED]


@router.post("/api/callbacks/{callback_id}/close")
@raises(NotFound, Conflict)
def close_callback_request(
    callback_id: RowId, body: CallbackClose, user: CallHandler, session: SessionDep, services: ServicesDep
) -> CallbackPublic:
    closed = CallbackPublic.model_validate(close_callback(session, callback_id=callback_id, status=body.status,
                                                          by=user))
    services.notifier.callback_closed(closed)
    return closed


@router.websocket("/ws")
async def console_socket(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    user_id = websocket.session.get("user_id")
    with Session(services.engine) as session:
        user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        await websocket.close(code=4401)
        return
    await websocket.accept()
    await websocket.app.state.hub.serve(websocket, user)


@router.get("/healthz", responses={503: {"description": "A part the calls need is down (same body)"}})
def healthz(request: Request) -> JSONResponse:
    """Database, AMI, FastAGI and Asterisk's version; 503 when a part the calls need is down."""
    services = get_services(request)
    try:
        with Session(services.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = "ok"
    except Exception as exc:  # reported, not raised: health must answer
        database = f"error: {type(exc).__name__}"
    # A web-only worker hears about AMI from the telephony process, and FastAGI is that process's job.
    agi_ok = services.web_only or services.agi.listening
    body = {
        "database": database,
        "ami": "connected" if services.ami.connected else "disconnected",
        "fastagi": "in the telephony process" if services.web_only else "listening" if agi_ok else "down",
        "asterisk_version": services.ami.asterisk_version,
    }
    healthy = database == "ok" and services.ami.connected and agi_ok
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(get_services(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)
