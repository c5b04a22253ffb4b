"""The ticket lifecycle over HTTP: taking an action, reading the history, and the liaison's inbox page."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from agent_console.deps import HistoryReader, InboxOwner, ServicesDep, SessionDep, TicketActor
from callcenter.errors import PermissionDenied
from callcenter.inbox import Inbox, inbox_for, units_that_held
from callcenter.lifecycle import apply_action, history
from callcenter.tickets import find_by_tracking_code, to_public
from db.models import FieldVerdict, Role, TicketAction, TicketPublic, TicketStatus, TicketTransitionPublic

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

router = APIRouter()
log = logging.getLogger(__name__)


class ActionRequest(BaseModel):
    action: TicketAction
    note: str = ""
    unit_id: int | None = None
    verdict: FieldVerdict | None = None
    # The status the person saw on screen; if the ticket has moved on since, the action is refused (409).
    expected_status: TicketStatus | None = None


@router.post("/api/tickets/{tracking_code}/actions")
def take_action(
    tracking_code: str, body: ActionRequest, user: TicketActor, session: SessionDep, services: ServicesDep
) -> TicketPublic:
    """One step of the lifecycle as the logged-in user; apply_action enforces the role and the unit."""
    ticket = find_by_tracking_code(session, tracking_code)
    assert ticket.id is not None  # a stored row
    transition = apply_action(session, ticket_id=ticket.id, action=body.action, actor=user, note=body.note,
                              unit_id=body.unit_id, verdict=body.verdict, expected_status=body.expected_status)
    session.refresh(ticket)
    public = to_public(session, ticket)
    log.info("Ticket %s: %s by %s (%s → %s)", ticket.tracking_code, transition.action, user.username,
             transition.from_status, transition.to_status)
    services.notifier.ticket_changed(public, action=transition.action)
    return public


@router.get("/api/tickets/{tracking_code}/history")
def ticket_history(tracking_code: str, user: HistoryReader, session: SessionDep) -> list[TicketTransitionPublic]:
    """Every step; a liaison sees it only for tickets their unit holds or once held."""
    ticket = find_by_tracking_code(session, tracking_code)
    assert ticket.id is not None
    if user.role == Role.UNIT_LIAISON and user.unit_id not in units_that_held(session, ticket):
        raise PermissionDenied("این درخواست هرگز به واحد شما ارجاع نشده است.", tracking_code=ticket.tracking_code)
    return history(session, ticket.id)


@router.get("/api/inbox")
def inbox(user: InboxOwner, session: SessionDep) -> Inbox:
    return inbox_for(session, user)


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(request: Request, user: InboxOwner) -> Response:
    return TEMPLATES.TemplateResponse(request, "inbox.html", {"user": user})
