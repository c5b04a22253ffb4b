"""The operator's console: its page, the reference data, who I am, and the voice messages and callbacks to work."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session, col, select

from agent_console.api_errors import raises
from agent_console.deps import AgentLogDep, CallHandler, CurrentUser, NotifierDep, SessionDep
from agent_console.templating import TEMPLATES
from callcenter.intake.callbacks import close_callback, pending_callbacks
from callcenter.platform.errors import Conflict, NotFound
from callcenter.platform.privacy import unit_for_reader
from callcenter.tickets.store import unclassified_voice_messages
from db.models import (
    CallbackPublic,
    CallbackStatus,
    Category,
    Role,
    RowId,
    TicketPublic,
    Unit,
    User,
    UserPublic,
)

router = APIRouter()


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
def me(user: CurrentUser, agent_log: AgentLogDep) -> Me:
    # From the durable log, not this process's memory: the same answer from any web worker, and after a restart.
    queues = [
        AgentStatePublic(queue=status.queue, state=status.state, reason=status.reason, since=status.since)
        for status in agent_log.current(extension=user.extension)
    ] if user.extension else []
    return Me(user=UserPublic.model_validate(user), queues=queues)


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
    callback_id: RowId, body: CallbackClose, user: CallHandler, session: SessionDep, notifier: NotifierDep
) -> CallbackPublic:
    closed = CallbackPublic.model_validate(close_callback(session, callback_id=callback_id, status=body.status,
                                                          by=user))
    session.commit()  # stored before it is announced
    notifier.callback_closed(closed)
    return closed
