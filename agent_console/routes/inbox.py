"""The inbox of unit liaisons and field supervisors: its page and the tickets waiting for them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from agent_console.deps import InboxOwner, SessionDep
from agent_console.templating import TEMPLATES
from callcenter.tickets.inbox import Inbox, inbox_for

router = APIRouter()


@router.get("/api/inbox")
def inbox(user: InboxOwner, session: SessionDep) -> Inbox:
    return inbox_for(session, user)


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(request: Request, user: InboxOwner) -> Response:
    return TEMPLATES.TemplateResponse(request, "inbox.html", {"user": user})
