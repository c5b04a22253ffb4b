"""A hand-counted set of complaints and 137 tickets for the analytics tests (unit, HTTP and browser).

Three Jalali months, Shahrivar to Aban 1405, about three units (A = waste, B = greenery, C = lighting); complaints
before and after the period, and one about the inspection office itself (the mayor's office's desk), are outside
what an inspector counts. The expected figures in the tests are counted by hand from the table below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from callcenter.complaints.analytics import period_months
from callcenter.platform.calendar import jalali_month_window
from callcenter.reports.scorecard import TrendMonth
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import (
    Complaint,
    ComplaintDesk,
    ComplaintGround,
    ComplaintRootCause,
    ComplaintStatus,
    Role,
    RootCauseTag,
    TicketAction,
    Unit,
)
from tests.support.ticket_flow import GREENERY, LIGHTING, WASTE, add_staff, referred_long_ago, referred_ticket

INSPECTION = "مدیریت بازرسی"
FIRST, LAST = (1405, 6), (1405, 8)
UNITS = {"A": WASTE, "B": GREENERY, "C": LIGHTING, "I": INSPECTION}
TAGS = {"T1": "کمبود نیرو", "T2": "روال نامشخص", "T3": "نظارت ضعیف"}

G = ComplaintGround
LAW, DUTY, DELAY, NONRESP, WEAK, PPW, MISC, OTHER = (
    G.LAW_VIOLATION, G.DUTY_FAILURE, G.DELAY, G.NON_RESPONSIVENESS, G.WEAK_SERVICE, G.PUBLIC_PROPERTY_WASTE,
    G.OTHER_MISCONDUCT, G.OTHER)


@dataclass(frozen=True)
class Row:
    """One complaint: month -1/3 are the months before/after the period; ``at`` overrides the day (a boundary)."""

    unit: str
    ground: ComplaintGround
    month: int
    day: int
    days_to_result: int | None  # None: still open
    code: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()
    status: ComplaintStatus = ComplaintStatus.CLOSED
    desk: ComplaintDesk = ComplaintDesk.INSPECTION
    at: str | None = None  # "start+30m": 00:30 Tehran of the month's first day; "end-30m": 23:30 of its last


ROWS: tuple[Row, ...] = (
    Row("A", DELAY, 0, 2, 4, code="1001", name="رضا کاظمی", tags=("T1",)),                   # 1
    Row("A", DELAY, 0, 10, 10, code="1001", tags=("T1", "T2")),                               # 2
    Row("A", DELAY, 1, 3, None, code="1001"),                                                 # 3
    Row("A", WEAK, 1, 5, 2, code="", name="مینا رحیمی"),                                      # 4
    Row("A", WEAK, 2, 1, 6, name="مینا رحیمی", tags=("T2",)),                                 # 5
    Row("A", DUTY, 2, 8, None),                                                               # 6
    Row("A", DELAY, 2, 12, 7, tags=("T1",), status=ComplaintStatus.REJECTED),                # 7
    Row("A", DELAY, 1, 0, None, at="start+30m"),                                              # 8
    Row("B", DELAY, 0, 0, 1, at="end-30m"),                                                   # 9
    Row("B", LAW, 0, 4, 20, code="2002", tags=("T3",)),                                       # 10
    Row("B", LAW, 1, 6, 30, code="2002", name="حسن نوری", tags=("T3",)),                      # 11
    Row("B", LAW, 2, 2, None, code="2002"),                                                   # 12
    Row("B", NONRESP, 1, 9, 3, name="حسن نوری"),                                              # 13
    Row("B", WEAK, 2, 15, 5),                                                                 # 14
    Row("B", DELAY, 2, 20, None),                                                             # 15
    Row("C", LAW, 0, 7, 8),                                                                   # 16
    Row("C", LAW, 0, 8, None),                                                                # 17
    Row("C", OTHER, 1, 11, 1),                                                                # 18
    Row("C", PPW, 2, 3, 12, tags=("T2", "T3")),                                               # 19
    Row("C", DUTY, 2, 9, 9, status=ComplaintStatus.REFERRED),                                 # 20
    Row("C", WEAK, 1, 2, 4, name="مینا رحیمی"),                                               # 21
    Row("A", NONRESP, 0, 15, 2),                                                              # 22
    Row("B", DUTY, 0, 20, 6, tags=("T1",)),                                                   # 23
    Row("C", DELAY, 1, 25, 3),                                                                # 24
    Row("A", MISC, 1, 14, None),                                                              # 25
    Row("A", DELAY, -1, 10, 1, code="1001", tags=("T1",)),                                    # 26 before the period
    Row("B", DELAY, 3, 2, None),                                                              # 27 after the period
    Row("I", MISC, 1, 4, 5, tags=("T2",), desk=ComplaintDesk.MAYOR_OFFICE),                   # 28 the mayor's desk
    Row("A", WEAK, 2, 25, 3),                                                                 # 29
)


def month_start(index: int) -> datetime:
    """The first instant (UTC) of the index-th month from Shahrivar 1405 (-1 = Mordad, 3 = Azar)."""
    serial = FIRST[0] * 12 + FIRST[1] - 1 + index
    return jalali_month_window(serial // 12, serial % 12 + 1)[0]


def month_end(index: int) -> datetime:
    serial = FIRST[0] * 12 + FIRST[1] - 1 + index
    return jalali_month_window(serial // 12, serial % 12 + 1)[1]


def filed_at(row: Row) -> datetime:
    if row.at == "start+30m":
        return month_start(row.month) + timedelta(minutes=30)
    if row.at == "end-30m":
        return month_end(row.month) - timedelta(minutes=30)
    return month_start(row.month) + timedelta(days=row.day, hours=10)


def unit_ids(engine: sa.Engine) -> dict[str, int]:
    with unit_of_work(engine) as session:
        units = {unit.name: unit.id for unit in session.exec(select(Unit)).all()}
    return {key: units[name] for key, name in UNITS.items() if units[name] is not None}  # type: ignore[misc]


def file_complaints(engine: sa.Engine) -> dict[str, int]:
    """Every row as a complaint, with its tags; returns the tags' ids by key."""
    units = unit_ids(engine)
    with unit_of_work(engine) as session:
        tags = {key: RootCauseTag(name=name) for key, name in TAGS.items()}
        session.add_all(tags.values())
        session.flush()
        for number, row in enumerate(ROWS, start=1):
            created = filed_at(row)
            closed = None if row.days_to_result is None else created + timedelta(days=row.days_to_result)
            complaint = Complaint(
                tracking_code=f"8{number:09d}", desk=row.desk, target_unit_id=units[row.unit], ground=row.ground,
                target_personnel_code=row.code, target_person_name=row.name, description=f"شرح شکایت {number}",
                anonymous=True, status=row.status if closed else ComplaintStatus.UNDER_REVIEW,
                created_at=created, closed_at=closed, result="نتیجه" if closed else None)
            session.add(complaint)
            session.flush()
            assert complaint.id is not None
            for tag in row.tags:
                tag_id = tags[tag].id
                assert tag_id is not None
                session.add(ComplaintRootCause(complaint_id=complaint.id, tag_id=tag_id))
        return {key: tag.id for key, tag in tags.items() if tag.id is not None}


# 137 tickets referred to A and B: (unit, month, on time?). Late = never reported, its 24-hour deadline long past.
TICKETS: tuple[tuple[str, int, bool], ...] = (
    ("A", 0, True), ("A", 0, False), ("A", 1, True), ("A", -1, False),
    ("B", 0, False), ("B", 2, True),
)


def refer_tickets(engine: sa.Engine) -> None:
    operator = add_staff(engine, "an-operator", Role.OPERATOR)
    liaisons = {"A": add_staff(engine, "an-waste", Role.UNIT_LIAISON, unit=WASTE),
                "B": add_staff(engine, "an-greenery", Role.UNIT_LIAISON, unit=GREENERY)}
    for number, (unit, month, on_time) in enumerate(TICKETS):
        ticket = referred_ticket(engine, by=operator, unit=UNITS[unit], description=f"سطل زباله پر است {number}")
        if on_time:
            with unit_of_work(engine) as session:
                apply_action(session, ticket_id=ticket.id, action=TicketAction.ACCEPT, actor=liaisons[unit])
                apply_action(session, ticket_id=ticket.id, action=TicketAction.REPORT_DONE, actor=liaisons[unit],
                             note="انجام شد")
        referred_long_ago(engine, ticket, by=datetime.now(UTC) - (month_start(month) + timedelta(days=5)))


def build(engine: sa.Engine) -> dict[str, int]:
    tags = file_complaints(engine)
    refer_tickets(engine)
    return tags


def period() -> list[TrendMonth]:
    return period_months(FIRST, LAST)
