"""Complaints with a sealed identity, and the inspection office's staff, for the identity and audit tests."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from callcenter.complaints.access import desk_for_target
from callcenter.complaints.identity import Identity, seal
from callcenter.complaints.tracking_code import new_complaint_code
from callcenter.platform.settings import Settings
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround
from tests.support.ticket_flow import unit_id

INSPECTION = "مدیریت بازرسی"
NAME = "مریم کاظمی"
MOBILE = "09351234567"
COMPLAINANT = Identity(NAME, MOBILE)


def a_complaint(
    engine: Engine, settings: Settings, *, target: str, identity: Identity | None = COMPLAINANT,
) -> Complaint:
    """A complaint about ``target`` on the desk the access rules give it; named unless ``identity`` is None."""
    target_id = unit_id(engine, target)
    with unit_of_work(engine) as session:
        complaint = Complaint(
            tracking_code=new_complaint_code(), desk=desk_for_target(session, target_id), target_unit_id=target_id,
            ground=ComplaintGround.NON_RESPONSIVENESS,
            description="پیمانکار پسماند سه هفته است کوچه را جارو نکرده و کسی پاسخ نمی‌دهد.",
            anonymous=identity is None, identity_sealed=seal(settings, identity) if identity else None,
        )
        session.add(complaint)
        session.commit()
        session.refresh(complaint)
        session.expunge(complaint)
        return complaint
