"""HTTP and websocket routes of the console: login, console page, tickets, queue membership, health."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, field_validator
from sqlalchemy import text
from sqlmodel import Session, col, select
from starlette.requests import HTTPConnection

from agent_console.api_errors import raises
from agent_console.deps import CallHandler, CurrentUser, ServicesDep, SessionDep, Supervisor, get_services
from agent_console.session_cookie import current_session
from agent_console.session_cookie import end as end_session
from agent_console.session_cookie import start as start_session
from callcenter.bootstrap.services import Services
from callcenter.intake.callbacks import close_callback, pending_callbacks
from callcenter.platform.errors import (
    AccountLocked,
    AsteriskUnavailable,
    Conflict,
    NoActiveCall,
    NotAuthenticated,
    NotFound,
    PasokhError,
    PermissionDenied,
    ValidationFailed,
)
from callcenter.platform.lines import LINE_137, line_by_queue
from callcenter.platform.privacy import unit_for_reader
from callcenter.staff.accounts import authenticate, change_password
from callcenter.telephony.asterisk_actions import TRANSFER_CONTEXT
from callcenter.tickets.filing import file_with_referral
from callcenter.tickets.store import (
    find_by_tracking_code,
    possible_duplicates,
    to_public,
    unclassified_voice_messages,
)
from db.engine import unit_of_work
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
log = logging.getLogger(__name__)
WAV_FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"audio/wav": {}}, "description": "The recording"}}


@router.get("/", include_in_schema=False)
def home(request: Request, session: SessionDep) -> RedirectResponse:
    active = current_session(request)
    user = session.get(User, active.user_id) if active else None
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
async def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    address = client_address(request)
    try:
        user = await run_in_threadpool(_authenticate, services, username=username, password=password,
                                       address=address)
    except (NotAuthenticated, AccountLocked) as refused:
        log.info("Login refused for %r from %s: %s", username[:64], address, refused.error_id)
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": refused.message},
                                          status_code=refused.status_code)
    assert user.id is not None
    previous = current_session(request)
    if previous is not None:  # someone else's session on this browser ends with the new login
        await run_in_threadpool(services.sessions.revoke, previous.id)
        services.notifier.sessions_revoked(user_id=previous.user_id)
    token, active = await run_in_threadpool(services.sessions.open, user_id=user.id, address=address,
                                            user_agent=request.headers.get("user-agent", ""))
    start_session(request, token=token, active=active)
    log.info("Login of %s from %s (session %d)", user.username, address, active.id)
    return RedirectResponse(landing_page(user), status_code=303)


def _authenticate(services: Services, *, username: str, password: str, address: str) -> User:
    with Session(services.engine) as session:
        user = authenticate(session, username=username, password=password, address=address,
                            policy=services.lockout_policy)
        session.expunge(user)
        return user


def client_address(connection: HTTPConnection) -> str:
    """The client's address as uvicorn saw it (behind a proxy: with --forwarded-allow-ips, the proxy's client)."""
    return connection.client.host if connection.client else "unknown"


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, services: ServicesDep) -> RedirectResponse:
    active = current_session(request)
    if active is not None:
        await run_in_threadpool(services.sessions.revoke, active.id)
        services.notifier.sessions_revoked(user_id=active.user_id)
    end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password", response_class=HTMLResponse, include_in_schema=False)
def password_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, "password.html", {"user": user, "error": None, "done": False})


@router.post("/account/password", response_class=HTMLResponse, include_in_schema=False)
async def change_own_password(
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    repeated_password: Annotated[str, Form()],
) -> HTMLResponse:
    """The account holder's own password: the current one first; every other session of the account ends."""
    active = current_session(request)
    assert active is not None and user.id is not None  # CurrentUser came from this session
    try:
        if new_password != repeated_password:
            raise ValidationFailed("گذرواژهٔ تازه و تکرار آن یکی نیستند.", field="repeated_password")
        await run_in_threadpool(_change_password, services, user_id=user.id, current=current_password,
                                new=new_password)
    except PasokhError as refused:
        return TEMPLATES.TemplateResponse(request, "password.html", {"user": user, "error": refused.message,
                                                                     "done": False},
                                          status_code=refused.status_code)
    revoked = await run_in_threadpool(services.sessions.revoke_all, user.id, except_session=active.id)
    services.notifier.sessions_revoked(user_id=user.id, except_session=active.id)
    log.info("%s changed their password; %d other sessions revoked", user.username, revoked)
    return TEMPLATES.TemplateResponse(request, "password.html", {"user": user, "error": None, "done": True})


def _change_password(services: Services, *, user_id: int, current: str, new: str) -> None:
    with unit_of_work(services.engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        change_password(session, user=user, current=current, new=new)


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
def console_page(request: Request, user: CallHandler) -> Response:
    return TEMPLATES.TemplateResponse(request, "console.html", {"user": user})


class Reference(BaseModel):
    categories: list[dict[str, Any]]
    units: list[dict[str, Any]]
    supervisors: list[UserPublic]  # whom an operator may transfer a call to


@router.get("/api/reference")
def reference_data(user: CurrentUser, session: SessionDep) -> Reference:
    categories = session.exec(select(Category).order_by(col(Category.line), col(Category.id))).all()
    units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    return Reference(
        categories=[c.model_dump(mode="json") for c in categories],
        units=[unit_for_reader(u.model_dump(mode="json"), user.role) for u in units],
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
    submission = file_with_referral(session, data=body, by=user)
    ticket = submission.ticket
    public = to_public(session, ticket)
    session.commit()  # stored before it is counted and announced (the consoles re-read what they are told of)
    if submission.new:  # a replayed form gets the first ticket back, counted and announced once
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
    session.commit()  # stored before it is announced
    services.notifier.callback_closed(closed)
    return closed


@router.websocket("/ws")
async def console_socket(websocket: WebSocket) -> None:
    """A console's live events. Refused (4403) from a page of another origin; closed (4401) without a live
    session, and by the hub as soon as the session is revoked or the account deactivated."""
    services: Services = websocket.app.state.services
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in services.settings.allowed_origins:
        log.warning("Websocket refused: origin %r is not one of PASOKH_PUBLIC_ORIGINS", origin[:200])
        await websocket.close(code=4403)
        return
    active = current_session(websocket)
    user = await run_in_threadpool(_active_user, services, active.user_id) if active else None
    if active is None or user is None:
        await websocket.close(code=4401)
        return
    await websocket.accept()

    async def still_live() -> bool:
        return await run_in_threadpool(services.sessions.is_live, active.id)

    await websocket.app.state.hub.serve(websocket, user, session_id=active.id, still_live=still_live,
                                        check_every=services.settings.session_check_seconds)


def _active_user(services: Services, user_id: int) -> User | None:
    with Session(services.engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        session.expunge(user)
        return user


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
