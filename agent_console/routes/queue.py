"""An operator's membership of the lines' queues: join, leave, pause with a reason, resume."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, field_validator

from agent_console.api_errors import raises
from agent_console.deps import AsteriskDep, CallHandler, phone_of
from callcenter.platform.errors import AsteriskUnavailable
from callcenter.platform.lines import LINE_137, line_by_queue
from db.models import PauseReason

router = APIRouter()


class QueueMembership(BaseModel):
    queue: str = LINE_137.queue

    @field_validator("queue")
    @classmethod
    def _a_public_line(cls, queue: str) -> str:
        if line_by_queue(queue) is None:
            raise ValueError("no such queue")  # answered as invalid-data with the Persian message
        return queue


@router.post("/api/queue/join", status_code=204)
@raises(AsteriskUnavailable)
async def join_queue(body: QueueMembership, user: CallHandler, ami: AsteriskDep) -> Response:
    await ami.queue_add(queue=body.queue, extension=phone_of(user), member_name=user.full_name)
    return Response(status_code=204)


@router.post("/api/queue/leave", status_code=204)
@raises(AsteriskUnavailable)
async def leave_queue(body: QueueMembership, user: CallHandler, ami: AsteriskDep) -> Response:
    await ami.queue_remove(queue=body.queue, extension=phone_of(user))
    return Response(status_code=204)


class QueuePause(QueueMembership):
    reason: PauseReason


@router.post("/api/queue/pause", status_code=204)
@raises(AsteriskUnavailable)
async def pause_in_queue(body: QueuePause, user: CallHandler, ami: AsteriskDep) -> Response:
    """Out of rotation with a reason (break, training, after-call work); the wallboard shows it."""
    await ami.queue_pause(queue=body.queue, extension=phone_of(user), reason=body.reason.value)
    return Response(status_code=204)


@router.post("/api/queue/resume", status_code=204)
@raises(AsteriskUnavailable)
async def resume_in_queue(body: QueueMembership, user: CallHandler, ami: AsteriskDep) -> Response:
    await ami.queue_pause(queue=body.queue, extension=phone_of(user), reason=None)
    return Response(status_code=204)
