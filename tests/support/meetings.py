"""Complaints and meeting slots for the meetings tests, made with the domain code (no form in between)."""

from __future__ import annotations

from datetime import date, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.responses import Response

from agent_console import complaint_pass
from callcenter.complaints import meetings
from callcenter.complaints.access import desk_for_target
from callcenter.complaints.identity import Identity, seal
from callcenter.complaints.tracking_code import new_complaint_code
from callcenter.platform.service_hours import ServiceHours
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround, MeetingSlot, Role, Unit, User
from tests.support.backend import TEST_SECRETS

MOBILE = "09121234567"
TARGET = "سازمان مدیریت پسماند"


def meeting_settings(database_url: str, **overrides: object) -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url, **overrides)


def filed_complaint(engine: sa.Engine, settings: Settings, *, anonymous: bool = False,
                    target: str = TARGET) -> Complaint:
    """A complaint on the inspection desk; named (with ``MOBILE``) unless ``anonymous``."""
    with unit_of_work(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == target)).one()
        assert unit.id is not None
        complaint = Complaint(
            tracking_code=new_complaint_code(), target_unit_id=unit.id, ground=ComplaintGround.DELAY,
            desk=desk_for_target(session, unit.id),
            description="پاسخ درخواست من ماه‌ها طول کشید", anonymous=anonymous,
            identity_sealed=None if anonymous else seal(settings, Identity(name="مینا کاظمی", mobile=MOBILE)))
        session.add(complaint)
        session.flush()
        session.refresh(complaint)
        session.expunge(complaint)
        return complaint


def inspector(session: Session) -> User:
    user = User(username=f"meetings.inspector.{new_complaint_code()}", full_name="بازرس آزمایشی",
                role=Role.INSPECTOR, password_hash="x")
    session.add(user)
    session.flush()
    return user


def one_day_plan(day: date, *, start: time = time(9, 0), end: time = time(12, 0), every: int = 30,
                 capacity: int = 2, place: str = "ساختمان مرکزی، طبقه دوم") -> meetings.SeriesPlan:
    return meetings.SeriesPlan(first_day=day, last_day=day, day_start=start, day_end=end, every_minutes=every,
                               minutes=every, capacity=capacity, place=place)


def next_working_day(hours: ServiceHours, after: date) -> date:
    day = after + timedelta(days=1)
    while not hours.is_working_day(day):
        day += timedelta(days=1)
    return day


def slot_row(engine: sa.Engine, slot_id: int) -> MeetingSlot:
    with unit_of_work(engine) as session:
        found = session.get(MeetingSlot, slot_id)
        assert found is not None
        session.expunge(found)
        return found


def pass_cookie(settings: Settings, complaint_id: int) -> str:
    """The value of the signed pass cookie a browser holds for ``complaint_id`` (as agent_console grants it)."""
    response = Response()
    complaint_pass.grant(response, settings, complaint_id)
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]
