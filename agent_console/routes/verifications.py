"""The supervisors' verification list: click-to-call, automatic calls, and recording what the citizen said."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from agent_console.api_errors import raises
from agent_console.deps import CallHandler, SessionDep, Supervisor, VerificationDep
from agent_console.templating import TEMPLATES
from callcenter.citizens.online_answers import recent_answers
from callcenter.platform.errors import (
    AsteriskUnavailable,
    Conflict,
    LinesNeededForInbound,
    NotFound,
    OutsideCallingHours,
)
from callcenter.platform.keyset import CURSOR_MAX_LENGTH
from callcenter.verification.tasks import VerificationPage
from db.models import OnlineAnswerPublic, RowId, VerificationOutcome, VerificationTaskPublic

router = APIRouter()


@router.get("/verifications", response_class=HTMLResponse, include_in_schema=False)
def verifications_page(request: Request, user: Supervisor) -> Response:
    return TEMPLATES.TemplateResponse(request, "verifications.html", {"user": user})


@router.get("/api/verifications")
async def verification_list(
    _user: Supervisor, dialer: VerificationDep,
    after: Annotated[str | None, Query(max_length=CURSOR_MAX_LENGTH)] = None,
) -> VerificationPage:
    """A page of the open verification tasks, the soonest due first, with how many there are; ``after`` is the
    previous page's ``next_cursor``."""
    return await dialer.open_tasks(after=after)


@router.get("/api/verifications/online")
def online_answers(_user: Supervisor, session: SessionDep) -> list[OnlineAnswerPublic]:
    """The latest answers citizens gave through their SMS link (decision 58), newest first."""
    return recent_answers(session)


@router.post("/api/verifications/{task_id}/call")
@raises(NotFound, Conflict, OutsideCallingHours, LinesNeededForInbound, AsteriskUnavailable)
async def call_citizen(task_id: RowId, user: Supervisor, dialer: VerificationDep) -> VerificationTaskPublic:
    """Click-to-call: the supervisor's phone rings first, then the citizen's (refused while inbound waits)."""
    return await dialer.call_with_supervisor(task_id=task_id, supervisor=user)


class AutomaticRequest(BaseModel):
    task_ids: list[RowId] = Field(min_length=1, max_length=500)


@router.post("/api/verifications/automatic")
@raises(NotFound, Conflict)
async def ask_automatic(body: AutomaticRequest, user: Supervisor,
                        dialer: VerificationDep) -> list[VerificationTaskPublic]:
    """The automatic dialer takes these tasks; results are recorded in this supervisor's name."""
    return await dialer.ask_automatic(task_ids=body.task_ids, by=user)


class OutcomeRequest(BaseModel):
    outcome: VerificationOutcome
    note: str = Field(default="", max_length=4000)


@router.post("/api/verifications/{task_id}/outcome")
@raises(NotFound, Conflict)
async def record_outcome(task_id: RowId, body: OutcomeRequest, user: CallHandler,
                         dialer: VerificationDep) -> VerificationTaskPublic:
    """What the citizen said (a note is required when the problem is not solved)."""
    return await dialer.record_outcome(task_id=task_id, outcome=body.outcome, by=user, note=body.note)
