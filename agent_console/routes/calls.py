"""The operator's call controls (hold, hang up, transfer) and a supervisor's playback of a recorded call."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from agent_console.api_errors import raises
from agent_console.deps import (
    AsteriskDep,
    CallHandler,
    CallRecordsDep,
    RecordingsDep,
    SessionDep,
    Supervisor,
    phone_of,
)
from agent_console.routes.console import supervisors_with_phones
from callcenter.platform.errors import AsteriskUnavailable, NoActiveCall, NotFound, ValidationFailed
from callcenter.platform.lines import line_by_queue
from callcenter.telephony.dialplan import Context
from db.models import Call, RowId

router = APIRouter()
log = logging.getLogger(__name__)
WAV_FILE: dict[int | str, dict[str, Any]] = {200: {"content": {"audio/wav": {}}, "description": "The recording"}}


class CallHold(BaseModel):
    on_hold: bool


@router.post("/api/call/hold", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def hold_call(body: CallHold, user: CallHandler, ami: AsteriskDep) -> Response:
    """Hold without music: the citizen's channel is muted both ways until the operator resumes."""
    legs = await ami.operator_call(phone_of(user))
    await ami.mute(channel=legs.citizen_channel, muted=body.on_hold)
    return Response(status_code=204)


@router.post("/api/call/hangup", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def hang_up_call(user: CallHandler, ami: AsteriskDep) -> Response:
    legs = await ami.operator_call(phone_of(user))
    await ami.hang_up(legs.citizen_channel)
    return Response(status_code=204)


class CallTransfer(BaseModel):
    target: str  # "line137" / "line1888", or a supervisor's extension


@router.post("/api/call/transfer", status_code=204)
@raises(NoActiveCall, AsteriskUnavailable)
async def transfer_call(
    body: CallTransfer, user: CallHandler, session: SessionDep, ami: AsteriskDep, call_records: CallRecordsDep,
) -> Response:
    """Blind transfer of the citizen to the other line's queue or to a supervisor's phone."""
    if line_by_queue(body.target) is None and body.target not in {
        s.extension for s in supervisors_with_phones(session)
    }:
        raise ValidationFailed("مقصد انتقال باید صف یکی از خط‌ها یا داخلی یک ناظر باشد.", target=body.target)
    legs = await ami.operator_call(phone_of(user))
    await ami.transfer(legs, context=Context.TRANSFER, exten=body.target)
    await asyncio.to_thread(call_records.update, legs.linkedid, transferred_to=body.target)
    log.info("%s transferred call %s to %s", user.username, legs.linkedid, body.target)
    return Response(status_code=204)


@router.get("/api/calls/{call_id}/recording", response_class=FileResponse, responses=WAV_FILE)
@raises(NotFound)
def call_recording(call_id: RowId, user: Supervisor, session: SessionDep, recordings: RecordingsDep) -> FileResponse:
    """A whole answered call, for a supervisor's review; gone once the retention period has purged it."""
    call = session.get(Call, call_id)
    if call is None or call.recording is None:
        raise NotFound("این تماس صدای ضبط‌شده ندارد.", call_id=call_id)
    path = recordings.host_file(call.recording)
    log.info("Call %d: recording played by %s", call_id, user.username)  # who listened to a citizen, for audits
    return FileResponse(path, media_type="audio/wav", filename=f"call-{call_id}.wav",
                        content_disposition_type="inline")
