"""The inbox of unit liaisons and field supervisors: its page and the tickets waiting for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from agent_console.deps import InboxOwner, SessionDep
from agent_console.templating import TEMPLATES
from callcenter.platform.keyset import CURSOR_MAX_LENGTH
from callcenter.tickets.inbox import ALL, Inbox, inbox_for

router = APIRouter()


@router.get("/api/inbox")
def inbox(
    user: InboxOwner, session: SessionDep, tab: Annotated[str, Query(max_length=32)] = ALL,
    after: Annotated[str | None, Query(max_length=CURSOR_MAX_LENGTH)] = None,
) -> Inbox:
    """A page of the inbox's tab (every status it holds by default), with each tab's count; ``after`` is the
    previous page's ``next_cursor``."""
    return inbox_for(session, user, tab=tab, after=after)


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(request: Request, user: InboxOwner) -> Response:
    return TEMPLATES.TemplateResponse(request, "inbox.html", {"user": user})
