"""The complaint analytics equal the figures counted by hand from tests/support/complaint_analytics.py, on SQLite and
PostgreSQL, for an inspector (their desk) and for the mayor's office (every desk, ADR 0074)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import select

from callcenter.complaints.analytics import ComplaintAnalytics, compute_analytics, period_months
from callcenter.platform.errors import ValidationFailed
from db.engine import unit_of_work
from db.models import ComplaintGround, Role, User
from tests.support import complaint_analytics as fixture
from tests.support.complaint_analytics import DELAY, DUTY, LAW, MISC, NONRESP, OTHER, PPW, WEAK
from tests.support.ticket_flow import GREENERY, LIGHTING, WASTE, add_staff

APPROX = {"abs": 1e-6}


def analytics_for(engine: sa.Engine, user: User) -> ComplaintAnalytics:
    with unit_of_work(engine) as session:
        reader = session.exec(select(User).where(User.id == user.id)).one()
        return compute_analytics(session, reader, months=fixture.period(), now=datetime.now(UTC))


@pytest.fixture
def figures(engine: sa.Engine) -> ComplaintAnalytics:
    fixture.build(engine)
    return analytics_for(engine, add_staff(engine, "an-inspector", Role.INSPECTOR, unit=fixture.INSPECTION))


def test_given_the_fixture_when_an_inspector_counts_then_units_by_ground_and_month_match_the_hand_count(
    figures: ComplaintAnalytics,
) -> None:
    assert [(m.year, m.month) for m in figures.months] == [(1405, 6), (1405, 7), (1405, 8)]
    assert figures.total == 26
    assert [(u.unit_name, u.total, u.by_month) for u in figures.units] == [
        (WASTE, 11, [3, 4, 4]), (GREENERY, 8, [3, 2, 3]), (LIGHTING, 7, [2, 3, 2])]
    waste = figures.units[0].by_ground
    assert waste == {DELAY: 5, WEAK: 3, DUTY: 1, NONRESP: 1, MISC: 1}
    assert figures.units[1].by_ground == {DELAY: 2, LAW: 3, NONRESP: 1, WEAK: 1, DUTY: 1}
    assert figures.units[2].by_ground == {LAW: 2, OTHER: 1, PPW: 1, DUTY: 1, WEAK: 1, DELAY: 1}
    assert figures.grounds == list(ComplaintGround)
    assert figures.ground_trend == {LAW: [3, 1, 1], DUTY: [1, 0, 2], DELAY: [3, 3, 2], NONRESP: [1, 1, 0],
                                    WEAK: [0, 2, 3], PPW: [0, 0, 1], MISC: [0, 1, 0], OTHER: [0, 1, 0]}
    assert figures.month_totals == [8, 9, 9]
    assert sum(cell.complaints for cell in figures.cells) == 26


def test_given_complaints_filed_half_an_hour_either_side_of_tehran_midnight_then_they_fall_in_tehran_months(
    figures: ComplaintAnalytics,
) -> None:
    # Complaint 8 is 00:30 of 1 Mehr in Tehran (still 31 Shahrivar in UTC): Mehr. Complaint 9 is 23:30 of
    # 31 Shahrivar: Shahrivar.
    waste_delay = {cell.month: cell.complaints for cell in figures.cells
                   if cell.unit_id == figures.units[0].unit_id and cell.ground == DELAY}
    greenery_delay = {cell.month: cell.complaints for cell in figures.cells
                      if cell.unit_id == figures.units[1].unit_id and cell.ground == DELAY}
    assert waste_delay == {0: 2, 1: 2, 2: 1}
    assert greenery_delay == {0: 1, 2: 1}


def test_given_the_fixture_when_counting_repeats_then_units_and_persons_with_two_or_more(
    figures: ComplaintAnalytics,
) -> None:
    assert [(u.unit_name, u.complaints) for u in figures.repeat_units] == [(WASTE, 11), (GREENERY, 8), (LIGHTING, 7)]
    assert [(p.unit_name, p.personnel_code, p.person_name, p.complaints) for p in figures.repeat_persons] == [
        (GREENERY, "2002", "حسن نوری", 3),   # by personnel code; the uncoded «حسن نوری» is someone else
        (WASTE, "1001", "رضا کاظمی", 3),     # the fourth, before the period, is not counted
        (WASTE, None, "مینا رحیمی", 2),      # by name (an empty code is no code); the one at lighting is apart
    ]


def test_given_the_fixture_when_timing_results_then_median_p90_and_open_per_ground(
    figures: ComplaintAnalytics,
) -> None:
    timing = {t.ground: (t.finished, t.still_open, t.median_days, t.p90_days) for t in figures.time_to_result}
    assert set(timing) == set(ComplaintGround)
    assert timing[LAW] == (3, 2, pytest.approx(20, **APPROX), pytest.approx(28, **APPROX))
    assert timing[DUTY] == (2, 1, pytest.approx(7.5, **APPROX), pytest.approx(8.7, **APPROX))
    assert timing[DELAY] == (5, 3, pytest.approx(4, **APPROX), pytest.approx(8.8, **APPROX))
    assert timing[NONRESP] == (2, 0, pytest.approx(2.5, **APPROX), pytest.approx(2.9, **APPROX))
    assert timing[WEAK] == (5, 0, pytest.approx(4, **APPROX), pytest.approx(5.6, **APPROX))
    assert timing[PPW] == (1, 0, pytest.approx(12, **APPROX), pytest.approx(12, **APPROX))
    assert timing[MISC] == (0, 1, None, None)
    assert timing[OTHER] == (1, 0, pytest.approx(1, **APPROX), pytest.approx(1, **APPROX))


def test_given_the_fixture_when_setting_delays_beside_137_then_the_scorecards_on_time_rates(
    figures: ComplaintAnalytics,
) -> None:
    rows = [(d.unit_name, d.delay_complaints, d.on_time, d.late, d.on_time_rate,
             [(m.delay_complaints, m.on_time_rate) for m in d.months]) for d in figures.delays]
    assert rows == [
        (WASTE, 5, 2, 1, pytest.approx(2 / 3), [(2, 0.5), (2, 1.0), (1, None)]),
        (GREENERY, 2, 1, 1, 0.5, [(1, 0.0), (0, None), (1, 1.0)]),
        (LIGHTING, 1, 0, 0, None, [(0, None), (1, None), (0, None)]),
    ]


def test_given_the_fixture_when_counting_root_causes_then_per_tag_and_per_unit(
    figures: ComplaintAnalytics,
) -> None:
    t1, t2, t3 = fixture.TAGS["T1"], fixture.TAGS["T2"], fixture.TAGS["T3"]
    assert [(t.tag_name, t.complaints) for t in figures.root_causes] == [(t1, 4), (t2, 3), (t3, 3)]
    assert [(r.unit_name, r.tag_name, r.complaints) for r in figures.root_causes_by_unit] == [
        (LIGHTING, t2, 1), (LIGHTING, t3, 1), (GREENERY, t3, 2), (GREENERY, t1, 1), (WASTE, t1, 3), (WASTE, t2, 2)]


def test_given_the_fixture_when_the_mayors_office_counts_then_the_inspection_offices_own_complaint_too(
    engine: sa.Engine,
) -> None:
    fixture.build(engine)
    mayor = analytics_for(engine, add_staff(engine, "an-mayor", Role.VIEWER))
    inspector = analytics_for(engine, add_staff(engine, "an-inspector", Role.INSPECTOR, unit=fixture.INSPECTION))
    assert mayor.total == 27 and inspector.total == 26
    assert fixture.INSPECTION in [u.unit_name for u in mayor.units]
    assert fixture.INSPECTION not in [u.unit_name for u in inspector.units]
    assert [(t.tag_name, t.complaints) for t in mayor.root_causes][:2] == [
        (fixture.TAGS["T2"], 4), (fixture.TAGS["T1"], 4)]  # a tie: by name


def test_given_an_operator_or_a_liaison_when_counting_then_nothing(engine: sa.Engine) -> None:
    fixture.build(engine)
    for username, role, unit in (("an-op", Role.OPERATOR, None), ("an-li", Role.UNIT_LIAISON, WASTE)):
        assert analytics_for(engine, add_staff(engine, username, role, unit=unit)).total == 0


def test_given_a_period_ending_before_it_starts_or_too_long_then_a_persian_error() -> None:
    with pytest.raises(ValidationFailed, match="ماه آغاز"):
        period_months((1405, 8), (1405, 6))
    with pytest.raises(ValidationFailed, match="۲۴"):
        period_months((1402, 1), (1405, 1))
    assert len(period_months((1404, 2), (1406, 1))) == 24
