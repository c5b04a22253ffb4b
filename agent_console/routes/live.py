"""The console's websocket: live events for a signed-in member of staff, from this page's origin only."""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agent_console.deps import EngineDep, HubDep, SettingsDep, StaffSessionsDep
from agent_console.session_cookie import current_session
from db.engine import is_database_outage
from db.models import User

router = APIRouter()
log = logging.getLogger(__name__)


@router.websocket("/ws")
async def console_socket(
    websocket: WebSocket, settings: SettingsDep, engine: EngineDep, sessions: StaffSessionsDep, hub: HubDep,
) -> None:
    """A console's live events. Refused (4403) from a page of another origin; closed (4401) without a live
    session, and by the hub as soon as the session is revoked or the account deactivated."""
    origin = websocket.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in settings.allowed_origins:
        log.warning("Websocket refused: origin %r is not one of PASOKH_PUBLIC_ORIGINS", origin[:200])
        await websocket.close(code=4403)
        return
    active = current_session(websocket)
    user = await run_in_threadpool(_active_user, engine, active.user_id) if active else None
    if active is None or user is None:
        await websocket.close(code=4401)
        return
    await websocket.accept()

    async def still_live() -> bool:
        try:
            return await run_in_threadpool(sessions.is_live, active.id)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            # The database away says nothing about the session: the console keeps its events (ADR 0087).
            return True

    await hub.serve(websocket, user, session_id=active.id, still_live=still_live,
                    check_every=settings.session_check_seconds)


def _active_user(engine: Engine, user_id: int) -> User | None:
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        session.expunge(user)
        return user
