"""HTTP and websocket routes of the console: login, console page, tickets, queue membership, health."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, field_validator
from sqlalchemy import text
from sqlmodel import Session, col, select

from agent_console.csrf import SESSION_KEY as CSRF_SESSION_KEY
from agent_console.csrf import session_token
from agent_console.deps import CallHandler, CurrentUser, ServicesDep, SessionDep, get_services
from callcenter.accounts import authenticate
from callcenter.callbacks import close_callback, pending_callbacks
from callcenter.errors import AccountLocked, NotAuthenticated, NotFound, PermissionDenied
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
    TicketCreate,
    TicketPublic,
    Unit,
    User,
    UserPublic,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/", include_in_schema=False)
def home(request: Request) -> RedirectResponse:
    target = "/console" if request.session.get("user_id") else "/login"
    return RedirectResponse(target, status_code=303)


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
    return RedirectResponse("/console", status_code=303)


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


@router.get("/api/reference")
def reference_data(_user: CurrentUser, session: SessionDep) -> Reference:
    categories = session.exec(select(Category).order_by(col(Category.line), col(Category.id))).all()
    units = session.exec(select(Unit).order_by(col(Unit.id))).all()
    return Reference(
        categories=[c.model_dump(mode="json") for c in categories],
        units=[u.model_dump(mode="json") for u in units],
    )


class AgentStatePublic(BaseModel):
    queue: str
    state: str
    reason: str | None = None


class Me(BaseModel):
    user: UserPublic
    queues: list[AgentStatePublic]


@router.get("/api/me")
def me(user: CurrentUser, services: ServicesDep) -> Me:
    queues = [
        AgentStatePublic(queue=state.queue, state=state.state, reason=state.reason)
        for (extension, _queue), state in services.tracker.agents.items()
        if extension == user.extension
    ]
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
async def join_queue(body: QueueMembership, user: CallHandler, services: ServicesDep) -> Response:
    await services.ami.queue_add(queue=body.queue, extension=_phone_of(user), member_name=user.full_name)
    return Response(status_code=204)


@router.post("/api/queue/leave", status_code=204)
async def leave_queue(body: QueueMembership, user: CallHandler, services: ServicesDep) -> Response:
    await services.ami.queue_remove(queue=body.queue, extension=_phone_of(user))
    return Response(status_code=204)


class QueuePause(QueueMembership):
    reason: PauseReason


@router.post("/api/queue/pause", status_code=204)
async def pause_in_queue(body: QueuePause, user: CallHandler, services: ServicesDep) -> Response:
    """Out of rotation with a reason (break, training, after-call work); the wallboard shows it."""
    await services.ami.queue_pause(queue=body.queue, extension=_phone_of(user), reason=body.reason.value)
    return Response(status_code=204)


@router.post("/api/queue/resume", status_code=204)
async def resume_in_queue(body: QueueMembership, user: CallHandler, services: ServicesDep) -> Response:
    await services.ami.queue_pause(queue=body.queue, extension=_phone_of(user), reason=None)
    return Response(status_code=204)


@router.post("/api/tickets", status_code=201)
def file_ticket(body: TicketCreate, user: CallHandler, session: SessionDep, services: ServicesDep) -> TicketPublic:
    ticket = create_ticket(session, data=body, created_by=user)
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
    _user: CallHandler, session: SessionDep, category_id: int | None = None, address: str = "",
    caller_number: str | None = None, call_id: int | None = None,
) -> list[TicketPublic]:
    """Open tickets like the one being filed (same caller, or same category near the same address)."""
    if call_id is not None and not caller_number:
        call = session.get(Call, call_id)
        caller_number = None if call is None or call.anonymous else call.caller_number
    return possible_duplicates(session, category_id=category_id, address=address, caller_number=caller_number)


@router.get("/api/tickets/{tracking_code}")
def ticket_by_code(tracking_code: str, _user: CurrentUser, session: SessionDep) -> TicketPublic:
    return to_public(session, find_by_tracking_code(session, tracking_code))


@router.get("/api/tickets/{tracking_code}/recording", response_class=FileResponse)
def ticket_recording(
    tracking_code: str, _user: CallHandler, session: SessionDep, services: ServicesDep
) -> FileResponse:
    """The caller's recorded message, for the console's audio player."""
    ticket = find_by_tracking_code(session, tracking_code)
    if ticket.recording is None:
        raise NotFound("این درخواست پیام صوتی ندارد.", tracking_code=ticket.tracking_code)
    return FileResponse(services.recordings.host_file(ticket.recording), media_type="audio/wav",
                        filename=f"{ticket.tracking_code}.wav", content_disposition_type="inline")


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
def close_callback_request(
    callback_id: int, body: CallbackClose, user: CallHandler, session: SessionDep, services: ServicesDep
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


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """Database, AMI, FastAGI and Asterisk's version; 503 when a part the calls need is down."""
    services = get_services(request)
    try:
        with Session(services.engine) as session:
            session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = "ok"
    except Exception as exc:  # reported, not raised: health must answer
        database = f"error: {type(exc).__name__}"
    body = {
        "database": database,
        "ami": "connected" if services.ami.connected else "disconnected",
        "fastagi": "listening" if services.agi.listening else "down",
        "asterisk_version": services.ami.asterisk_version,
    }
    healthy = database == "ok" and services.ami.connected and services.agi.listening
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(get_services(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)
