"""Complaints for access tests, filed straight into the database the way intake leaves them (the desk from
access.desk_for_target, a named complainant's identity sealed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import select

from callcenter.complaints.access import desk_for_target
from callcenter.complaints.identity import Identity, seal
from callcenter.complaints.tracking_code import new_complaint_code
from callcenter.platform.settings import Settings
from db.engine import unit_of_work
from db.models import Complaint, ComplaintDesk, ComplaintGround, ComplaintStatus, Unit

COMPLAINANT = Identity(name="فاطمه شاکری‌نژاد", mobile="09351239876")
DESCRIPTION = "مأمور جمع‌آوری پسماند در محله ما رشوه خواست و تهدید کرد"


@dataclass(frozen=True)
class FiledComplaint:
    id: int
    tracking_code: str
    desk: ComplaintDesk
    description: str


def file_complaint(
    engine: sa.Engine, settings: Settings | None, *, target: str, description: str = DESCRIPTION,
    status: ComplaintStatus = ComplaintStatus.RECEIVED, closed_at: datetime | None = None,
) -> FiledComplaint:
    """A complaint about the unit named ``target``; named (sealed identity) when ``settings`` is given."""
    with unit_of_work(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == target)).one()
        assert unit.id is not None
        complaint = Complaint(
            tracking_code=new_complaint_code(), desk=desk_for_target(session, unit.id), target_unit_id=unit.id,
            target_person_name="رضا کارمندی", target_personnel_code="7788991", ground=ComplaintGround.LAW_VIOLATION,
            description=description, anonymous=settings is None,
            identity_sealed=seal(settings, COMPLAINANT) if settings is not None else None,
            status=status, closed_at=closed_at)
        session.add(complaint)
        session.commit()
        session.refresh(complaint)
        assert complaint.id is not None
        return FiledComplaint(id=complaint.id, tracking_code=complaint.tracking_code, desk=complaint.desk,
                              description=complaint.description)
