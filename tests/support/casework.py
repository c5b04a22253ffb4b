"""Complaints and inspection staff for the case-work tests, written as intake would leave them."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from callcenter.complaints.access import desk_for_target
from callcenter.complaints.identity import Identity, seal
from callcenter.complaints.tracking_code import new_complaint_code
from callcenter.platform.settings import Settings
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround, ComplaintStatus, Unit, utcnow

INSPECTION_OFFICE = "مدیریت بازرسی"
DESCRIPTION = "مأمور جمع‌آوری زباله سه هفته است به کوچهٔ ما نیامده و به تماس‌ها پاسخ نمی‌دهد"
COMPLAINANT = Identity(name="مریم احمدی", mobile="09123334455")


def file_complaint(
    engine: Engine, settings: Settings, *, target_unit: str, ground: ComplaintGround = ComplaintGround.DUTY_FAILURE,
    description: str = DESCRIPTION, named: bool = True, status: ComplaintStatus = ComplaintStatus.RECEIVED,
    assigned_to_id: int | None = None, created_at: datetime | None = None, due_at: datetime | None = None,
) -> Complaint:
    with unit_of_work(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == target_unit)).one()
        assert unit.id is not None
        complaint = Complaint(
            tracking_code=new_complaint_code(), desk=desk_for_target(session, unit.id), target_unit_id=unit.id,
            ground=ground, description=description, anonymous=not named,
            identity_sealed=seal(settings, COMPLAINANT) if named else None, status=status,
            assigned_to_id=assigned_to_id, created_at=created_at or utcnow(), due_at=due_at,
            request_id=secrets.token_hex(8),
        )
        session.add(complaint)
        session.flush()
        session.refresh(complaint)
        session.expunge(complaint)
        return complaint
