"""The supervisor wallboard: its page, its snapshot (agents, waiting calls, today's KPIs) and ChanSpy."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlmodel import Session, col, select

from agent_console.api_errors import raises
from agent_console.deps import ServicesDep, SessionDep, Supervisor, WallboardViewer
from agent_console.static_assets import install_page_globals
from callcenter.platform.errors import AsteriskUnavailable, NoActiveCall, PermissionDenied
from callcenter.platform.privacy import masked_number
from callcenter.reports.kpis import KpiReport, compute_kpis, today_window
from callcenter.telephony.agent_states import AgentStatus
from callcenter.telephony.asterisk_actions import SPY_OPTIONS
from db.models import AgentState, Call, CallPublic, Role

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
install_page_globals(TEMPLATES.env)
SERVICE_LEVEL_SECONDS = 20
RECENT_CALLS = 10

router = APIRouter()


@router.get("/wallboard", response_class=HTMLResponse, include_in_schema=False)
def wallboard_page(request: Request, user: WallboardViewer) -> Response:
    return TEMPLATES.TemplateResponse(request, "wallboard.html", {"user": user})


class Wallboard(BaseModel):
    """Everything the wallboard shows; websocket deltas only say what changed since."""

    now: datetime
    agents: list[AgentStatus]
    waiting: list[CallPublic]  # in a queue, nobody answered yet; longest waiting first
    talking: list[CallPublic]  # answered and not yet ended
    recent: list[CallPublic]  # answered calls that ended today, newest first
    kpis: KpiReport


@router.get("/api/wallboard")
def wallboard(user: WallboardViewer, session: SessionDep, services: ServicesDep) -> Wallboard:
    """The mayor's office (viewer) reads the citizens' numbers masked, as its websocket events carry them."""
    now = datetime.now(UTC)
    start, end = today_window(now)
    board = Wallboard(
        now=now,
        agents=services.agent_log.current(),
        waiting=_open_calls(session, answered=False),
        talking=_open_calls(session, answered=True),
        recent=_recent_calls(session, since=start),
        kpis=compute_kpis(session, start=start, end=end, now=now, service_level_seconds=SERVICE_LEVEL_SECONDS),
    )
    return _for_onlookers(board) if user.role == Role.VIEWER else board


def _for_onlookers(board: Wallboard) -> Wallboard:
    def masked(calls: list[CallPublic]) -> list[CallPublic]:
        return [call.model_copy(update={"caller_number": masked_number(call.caller_number) or ""}) for call in calls]
    return board.model_copy(update={"waiting": masked(board.waiting), "talking": masked(board.talking),
                                    "recent": masked(board.recent)})


def _open_calls(session: Session, *, answered: bool) -> list[CallPublic]:
    query = select(Call).where(col(Call.ended_at).is_(None), col(Call.queued_at).is_not(None))
    query = query.where(col(Call.answered_at).is_not(None) if answered else col(Call.answered_at).is_(None))
    return [CallPublic.of(call) for call in session.exec(query.order_by(col(Call.queued_at))).all()]


def _recent_calls(session: Session, *, since: datetime, limit: int = RECENT_CALLS) -> list[CallPublic]:
    query = (select(Call).where(col(Call.started_at) >= since, col(Call.answered_at).is_not(None),
                                col(Call.ended_at).is_not(None))
             .order_by(col(Call.ended_at).desc()).limit(limit))
    return [CallPublic.of(call) for call in session.exec(query).all()]


class SpyMode(enum.StrEnum):
    """ChanSpy from the supervisor's phone: hear both sides, speak to the operator only, or join the call."""

    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class Supervise(BaseModel):
    extension: str  # the operator's phone
    mode: SpyMode


@router.post("/api/supervise", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def supervise(body: Supervise, user: Supervisor, services: ServicesDep) -> Response:
    """Rings the supervisor's own phone; answering it joins the operator's call in the chosen mode."""
    if not user.extension:
        raise PermissionDenied("برای شما داخلی تلفن تعریف نشده است.", username=user.username)
    agents = await asyncio.to_thread(services.agent_log.current, extension=body.extension)
    if not any(a.state == AgentState.TALKING for a in agents):
        raise NoActiveCall("این کارشناس اکنون در مکالمه نیست.", extension=body.extension)
    await services.ami.spy(supervisor_extension=user.extension, operator_extension=body.extension,
                           options=SPY_OPTIONS[body.mode.value])
    return Response(status_code=204)
