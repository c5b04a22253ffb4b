"""One complaint's queue row over HTTP, for the console that heard its doorbell on the websocket (the event carries
the id only): answered only to whom access.can_see allows, and as "not found" to everyone else."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from agent_console.api_errors import raises
from agent_console.deps import ComplaintReader, SessionDep
from callcenter.complaints.access import can_see
from callcenter.platform.errors import NotFound
from db.models import Complaint, ComplaintDesk, ComplaintGround, ComplaintStatus, RowId

router = APIRouter()


class ComplaintSummary(BaseModel):
    """What a triage queue's row shows: never the text, the attachments or who complained."""

    id: int
    tracking_code: str
    desk: ComplaintDesk
    status: ComplaintStatus
    ground: ComplaintGround
    target_unit_id: int
    assigned_to_id: int | None
    created_at: datetime
    due_at: datetime | None


@router.get("/api/complaints/{complaint_id}/summary")
@raises(NotFound)
def complaint_summary(complaint_id: RowId, user: ComplaintReader, session: SessionDep) -> ComplaintSummary:
    """Refused as not found, not forbidden: whoever may not see a complaint may not learn that it exists."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.id is None or not can_see(session, user, complaint):
        raise NotFound("این شکایت پیدا نشد.")
    return ComplaintSummary(id=complaint.id, tracking_code=complaint.tracking_code, desk=complaint.desk,
                            status=complaint.status, ground=complaint.ground,
                            target_unit_id=complaint.target_unit_id, assigned_to_id=complaint.assigned_to_id,
                            created_at=complaint.created_at, due_at=complaint.due_at)
