"""The evaluation scorecard on SQLite and PostgreSQL against ticket histories of Azar 1405 worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from callcenter.platform.calendar import jalali_month_window, previous_jalali_months
from callcenter.reports.scorecard import (
    TREND_MONTHS,
    Scorecard,
    ScorecardTrend,
    TrendPoint,
    UnitScore,
    compute_scorecard,
    compute_trend,
)
from callcenter.tickets.channels import ChannelCounts
from callcenter.tickets.lifecycle import next_status
from callcenter.tickets.unit_receipts import rebuild_summaries
from db.models import (
    Category,
    FieldVerdict,
    Role,
    Ticket,
    TicketAction,
    TicketSource,
    TicketStatus,
    TicketTransition,
    Unit,
    UnitKind,
    User,
)

A, V = TicketAction, FieldVerdict

# Azar 1405 in Tehran (UTC+03:30 all year since 2022): 1 Azar = 22 Nov 2026, 1 Dey = 22 Dec 2026.
START = datetime(2026, 11, 21, 20, 30, tzinfo=UTC)
END = datetime(2026, 12, 21, 20, 30, tzinfo=UTC)


def t(hours: float) -> datetime:
    """``hours`` after the period began; the fixture's arithmetic is in these hours."""
    return START + timedelta(hours=hours)


NOW = t(200)

ROLE_OF: dict[TicketAction, Role] = {
    A.REFER: Role.OPERATOR, A.RE_REFER: Role.OPERATOR, A.REQUEST_VERIFICATION: Role.OPERATOR,
    A.VERIFY_RESOLVED: Role.OPERATOR, A.VERIFY_NOT_RESOLVED: Role.OPERATOR,
    A.ACCEPT: Role.UNIT_LIAISON, A.DECLINE: Role.UNIT_LIAISON, A.REPORT_DONE: Role.UNIT_LIAISON,
    A.DISPUTE: Role.UNIT_LIAISON, A.FIELD_VERDICT: Role.FIELD_SUPERVISOR, A.CANCEL: Role.SUPERVISOR,
}

# One step of a history: (hours after START, action, unit referred to or None, verdict or None).
Step = tuple[float, TicketAction, Unit | None, FieldVerdict | None]


def step(hours: float, action: TicketAction, unit: Unit | None = None, verdict: FieldVerdict | None = None) -> Step:
    return hours, action, unit, verdict


def a_unit(session: Session, name: str) -> Unit:
    unit = Unit(name=name, kind=UnitKind.DEPARTMENT)
    session.add(unit)
    session.commit()
    session.refresh(unit)
    return unit


def a_category(session: Session, name: str, sla_hours: int) -> Category:
    category = Category(name=name, sla_hours=sla_hours)
    session.add(category)
    session.commit()
    session.refresh(category)
    return category


def an_actor(session: Session) -> User:
    user = User(username="actor", full_name="کاربر آزمون", role=Role.SUPERVISOR, password_hash="-")
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def a_ticket(session: Session, code: str, category: Category, actor: User, *steps: Step,
             source: TicketSource = TicketSource.OPERATOR) -> None:
    """A ticket walked through the lifecycle graph (next_status keeps the rows true to it), stored row by row, and
    the unit receipts rebuilt from the history."""
    first_unit = steps[0][2]
    assert first_unit is not None and category.id is not None and actor.id is not None
    ticket = Ticket(tracking_code=code, description="شرح آزمون", category_id=category.id, unit_id=first_unit.id,
                    created_at=t(steps[0][0]), source=source)
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    status, unit_id = TicketStatus.REGISTERED, ticket.unit_id
    for hours, action, to_unit, verdict in steps:
        after = next_status(status, action, verdict)
        to_unit_id = to_unit.id if to_unit is not None else unit_id
        session.add(TicketTransition(
            ticket_id=ticket.id, from_status=status, to_status=after, action=action, actor_id=actor.id,
            actor_role=ROLE_OF[action], from_unit_id=unit_id, to_unit_id=to_unit_id, verdict=verdict, at=t(hours)))
        status, unit_id = after, to_unit_id
    ticket.status, ticket.unit_id = status, unit_id
    rebuild_summaries(session)  # the steps were written around the lifecycle, as a restore writes them
    session.commit()


VERIFIED: tuple[tuple[float, TicketAction], ...] = ((1, A.REQUEST_VERIFICATION), (2, A.VERIFY_RESOLVED))


def azar_histories(session: Session) -> dict[str, Unit]:
    """Ten tickets over four units. Units are made in reverse name order, so ids never decide a tie."""
    units = {key: a_unit(session, name) for key, name in
             (("D", "واحد ت"), ("C", "واحد پ"), ("B", "واحد ب"), ("A", "واحد الف"))}
    day, three_days = a_category(session, "آزمون ۲۴ ساعته", 24), a_category(session, "آزمون ۷۲ ساعته", 72)
    actor = an_actor(session)
    ua, ub, uc, ud = units["A"], units["B"], units["C"], units["D"]
    # T1 A (24 h): done after 10 h, on time; verified at once.
    a_ticket(session, "T1", day, actor, step(0, A.REFER, ua), step(1, A.ACCEPT), step(10, A.REPORT_DONE),
             step(11, A.REQUEST_VERIFICATION), step(12, A.VERIFY_RESOLVED))
    # T2 A (24 h): first done after 30 h, late; reopened by the citizen, done again and verified.
    a_ticket(session, "T2", day, actor, step(2, A.REFER, ua), step(3, A.ACCEPT), step(32, A.REPORT_DONE),
             step(33, A.REQUEST_VERIFICATION), step(34, A.VERIFY_NOT_RESOLVED), step(35, A.ACCEPT),
             step(40, A.REPORT_DONE), step(41, A.REQUEST_VERIFICATION), step(42, A.VERIFY_RESOLVED))
    # T3 (72 h): A holds it 15 h (its deadline was t77) and it is re-referred to B, which is done 30 h later.
    a_ticket(session, "T3", three_days, actor, step(5, A.REFER, ua), step(6, A.ACCEPT), step(20, A.RE_REFER, ub),
             step(21, A.ACCEPT), step(50, A.REPORT_DONE), step(51, A.REQUEST_VERIFICATION),
             step(52, A.VERIFY_RESOLVED))
    # T4 B (24 h): accepted and still open at t200, deadline t124: late.
    a_ticket(session, "T4", day, actor, step(100, A.REFER, ub), step(101, A.ACCEPT))
    # T5 D (72 h): deadline t222, still open at t200; its report at t210 is after NOW.
    a_ticket(session, "T5", three_days, actor, step(150, A.REFER, ud), step(151, A.ACCEPT), step(210, A.REPORT_DONE))
    # T6 B (24 h): done exactly at its deadline (24 h); the citizen says no, B disputes, the verdict is unit_right.
    a_ticket(session, "T6", day, actor, step(60, A.REFER, ub), step(61, A.ACCEPT), step(84, A.REPORT_DONE),
             step(85, A.REQUEST_VERIFICATION), step(86, A.VERIFY_NOT_RESOLVED), step(87, A.DISPUTE),
             step(90, A.FIELD_VERDICT, verdict=V.UNIT_RIGHT))
    # T7 C (72 h): done after 10 h; reopened, disputed, citizen_right; done again and verified.
    a_ticket(session, "T7", three_days, actor, step(30, A.REFER, uc), step(31, A.ACCEPT), step(40, A.REPORT_DONE),
             step(41, A.REQUEST_VERIFICATION), step(42, A.VERIFY_NOT_RESOLVED), step(43, A.DISPUTE),
             step(50, A.FIELD_VERDICT, verdict=V.CITIZEN_RIGHT), step(51, A.ACCEPT), step(60, A.REPORT_DONE),
             step(61, A.REQUEST_VERIFICATION), step(62, A.VERIFY_RESOLVED))
    # T8 C (24 h): done after 36 h, late; reopened, disputed, partly; still reopened at NOW.
    a_ticket(session, "T8", day, actor, step(80, A.REFER, uc), step(81, A.ACCEPT), step(116, A.REPORT_DONE),
             step(117, A.REQUEST_VERIFICATION), step(118, A.VERIFY_NOT_RESOLVED), step(119, A.DISPUTE),
             step(120, A.FIELD_VERDICT, verdict=V.PARTLY))
    # T9 A (24 h): referred at 23:30 on 30 Aban, half an hour before the period: none of it counts.
    a_ticket(session, "T9", day, actor, step(-0.5, A.REFER, ua), step(1, A.ACCEPT), step(5, A.REPORT_DONE),
             step(6, A.REQUEST_VERIFICATION), step(7, A.VERIFY_NOT_RESOLVED))
    # T10 (24 h): C declines it at t130, after its deadline t124 (late for C); referred to A at t190, done at t195.
    a_ticket(session, "T10", day, actor, step(100, A.REFER, uc), step(130, A.DECLINE), step(190, A.REFER, ua),
             step(191, A.ACCEPT), step(195, A.REPORT_DONE))
    return units


@pytest.fixture
def azar(session: Session) -> dict[str, UnitScore]:
    units = azar_histories(session)
    card = compute_scorecard(session, start=START, end=END, now=NOW)
    by_id = {unit.unit_id: unit for unit in card.units}
    assert set(by_id) == {unit.id for unit in units.values()}
    return {key: by_id[unit.id] for key, unit in units.items() if unit.id is not None}


def test_given_an_earlier_and_a_re_referral_when_counting_receipts_then_each_unit_counts_its_referrals_in_the_period(
        azar: dict[str, UnitScore]) -> None:
    # A: T1, T2, T3 (before it left), T10 (second unit) = 4; T9 was referred before the period. B: T3, T4, T6 = 3.
    # C: T7, T8, T10 (declined) = 3. D: T5 = 1.
    assert [azar[key].received for key in "ABCD"] == [4, 3, 3, 1]
    # Left before reporting done: T3 re-referred away from A; T10 declined by C.
    assert [azar[key].left_before_done for key in "ABCD"] == [1, 0, 1, 0]
    assert [azar[key].reported_done for key in "ABCD"] == [3, 2, 2, 0]


def test_given_late_overdue_and_pending_tickets_when_judging_deadlines_then_open_ones_count_only_once_overdue(
        azar: dict[str, UnitScore]) -> None:
    # A: on time T1 (10 h ≤ 24), T10 (5 h ≤ 24); late T2 (30 h > 24); T3 left at t20 before its deadline t77.
    # B: on time T3 (30 h ≤ 72), T6 (exactly 24 h); late T4 (open at t200, deadline t124).
    # C: on time T7 (10 h ≤ 72); late T8 (36 h > 24) and T10 (declined at t130, after its deadline t124).
    # D: T5 is within its deadline at NOW (t222 > t200) and its report at t210 is later than NOW: not judged.
    assert [(azar[key].on_time, azar[key].late) for key in "ABCD"] == [(2, 1), (2, 1), (1, 2), (0, 0)]
    assert azar["A"].on_time_rate == pytest.approx(2 / 3)
    assert azar["B"].on_time_rate == pytest.approx(2 / 3)
    assert azar["C"].on_time_rate == pytest.approx(1 / 3)
    assert azar["D"].on_time_rate is None


def test_given_first_reports_when_computing_times_to_done_then_median_and_p90_interpolate_between_ranks(
        azar: dict[str, UnitScore]) -> None:
    # A: [5, 10, 30] (T2's second report is not its time to done). median = 10; p90 at rank 0.9·2 = 1.8:
    #    10 + 0.8·(30 − 10) = 26.
    assert (azar["A"].median_hours_to_done, azar["A"].p90_hours_to_done) == pytest.approx((10, 26))
    # B: [24, 30] from B's own referral at t20 for T3. median = 27; p90 at rank 0.9: 24 + 0.9·6 = 29.4.
    assert (azar["B"].median_hours_to_done, azar["B"].p90_hours_to_done) == pytest.approx((27, 29.4))
    # C: [10, 36]. median = 23; p90: 10 + 0.9·26 = 33.4.
    assert (azar["C"].median_hours_to_done, azar["C"].p90_hours_to_done) == pytest.approx((23, 33.4))
    assert (azar["D"].median_hours_to_done, azar["D"].p90_hours_to_done) == (None, None)


def test_given_verification_calls_when_scoring_then_pass_rate_reopen_rate_and_satisfaction_differ_as_defined(
        azar: dict[str, UnitScore]) -> None:
    # A: resolved T1, T2 (second call); not resolved T2 (first call); T9's "no" is before the period.
    #    pass 2/3; reopened T2 of 3 reported = 1/3; last answers T1 yes, T2 yes: satisfied 2 of 2.
    a = azar["A"]
    assert (a.verified_resolved, a.verified_not_resolved, a.reopened) == (2, 1, 1)
    assert (a.verification_pass_rate, a.reopen_rate, a.citizen_satisfaction) == pytest.approx((2 / 3, 1 / 3, 1.0))
    # B: resolved T3; not resolved T6 (then closed on verdict). pass 1/2; reopened 1 of 2; last answers yes, no.
    b = azar["B"]
    assert (b.verified_resolved, b.verified_not_resolved, b.reopened) == (1, 1, 1)
    assert (b.verification_pass_rate, b.reopen_rate, b.citizen_satisfaction) == pytest.approx((0.5, 0.5, 0.5))
    # C: resolved T7 (second call); not resolved T7, T8. pass 1/3; reopened 2 of 2; last answers yes (T7), no (T8).
    c = azar["C"]
    assert (c.verified_resolved, c.verified_not_resolved, c.reopened) == (1, 2, 2)
    assert (c.verification_pass_rate, c.reopen_rate, c.citizen_satisfaction) == pytest.approx((1 / 3, 1.0, 0.5))
    assert (c.citizens_asked, c.citizens_satisfied) == (2, 1)
    d = azar["D"]
    assert (d.verification_pass_rate, d.reopen_rate, d.citizen_satisfaction, d.citizens_asked) == (None, None, None, 0)


def test_given_a_dispute_with_each_verdict_when_scoring_then_citizen_right_and_partly_count_against_the_unit(
        azar: dict[str, UnitScore]) -> None:
    # B: T6 unit_right. C: T7 citizen_right, T8 partly.
    assert [(azar[key].verdicts_against, azar[key].verdicts_for) for key in "ABCD"] == [(0, 0), (0, 1), (2, 0),
                                                                                         (0, 0)]


def test_given_four_units_when_ranking_then_the_composite_orders_them_and_a_unit_without_data_comes_last(
        azar: dict[str, UnitScore]) -> None:
    # score = mean(on time, pass rate, 1 − reopen rate):
    # A (2/3 + 2/3 + 2/3) / 3 = 0.6667; B (2/3 + 1/2 + 1/2) / 3 = 5/9 = 0.5556; C (1/3 + 1/3 + 0) / 3 = 2/9 = 0.2222;
    # D has none of the three: no score, last.
    assert [azar[key].score for key in "ABCD"] == [0.6667, 0.5556, 0.2222, None]
    assert [azar[key].rank for key in "ABCD"] == [1, 2, 3, 4]


def test_given_a_later_now_when_computing_then_outcomes_are_as_of_that_moment(session: Session) -> None:
    units = azar_histories(session)
    card = compute_scorecard(session, start=START, end=END, now=t(230))
    d = next(unit for unit in card.units if unit.unit_id == units["D"].id)
    # T5's report at t210 now counts: 60 h after its referral, within 72 h.
    assert (d.reported_done, d.on_time, d.late, d.median_hours_to_done, d.score) == (1, 1, 0, pytest.approx(60), 1.0)


def test_given_the_next_month_when_computing_then_azar_referrals_are_not_counted(session: Session) -> None:
    azar_histories(session)
    start, end = jalali_month_window(1405, 10)
    card = compute_scorecard(session, start=start, end=end, now=end)
    assert card.units == []


def test_given_two_units_with_equal_scores_when_ranking_then_the_name_breaks_the_tie(session: Session) -> None:
    second, first = a_unit(session, "واحد ب"), a_unit(session, "واحد الف")  # ids in the opposite order of names
    category, actor = a_category(session, "آزمون", 24), an_actor(session)
    for code, unit in (("E1", second), ("E2", first)):
        a_ticket(session, code, category, actor, step(0, A.REFER, unit), step(1, A.ACCEPT), step(5, A.REPORT_DONE))
    card = compute_scorecard(session, start=START, end=END, now=NOW)
    # Both: on time 1/1, no verification, reopen 0/1: score (1 + 1) / 2 = 1.0.
    assert [(unit.unit_name, unit.rank, unit.score) for unit in card.units] == [("واحد الف", 1, 1.0),
                                                                               ("واحد ب", 2, 1.0)]


def test_given_tickets_of_every_source_when_scoring_then_each_unit_counts_its_receipts_per_channel(
    session: Session,
) -> None:
    ua, ub = a_unit(session, "واحد الف"), a_unit(session, "واحد ب")
    day, actor = a_category(session, "آزمون ۲۴ ساعته", 24), an_actor(session)
    for code, source in (("P1", TicketSource.OPERATOR), ("P2", TicketSource.VOICE_MESSAGE), ("W1", TicketSource.WEB),
                         ("W2", TicketSource.WEB), ("D1", TicketSource.IN_PERSON)):
        a_ticket(session, code, day, actor, step(1, A.REFER, ua), source=source)
    # Open311's ticket goes to A, then B: a receipt of each, both in its channel.
    a_ticket(session, "O1", day, actor, step(2, A.REFER, ua), step(3, A.RE_REFER, ub), source=TicketSource.OPEN311)
    a_ticket(session, "W3", day, actor, step(4, A.REFER, ub), source=TicketSource.WEB)

    card = compute_scorecard(session, start=START, end=END, now=NOW)

    by_unit = {unit.unit_name: unit for unit in card.units}
    assert by_unit["واحد الف"].received_by_channel == ChannelCounts(phone=2, web=2, in_person=1, open311=1)
    assert by_unit["واحد ب"].received_by_channel == ChannelCounts(web=1, open311=1)
    assert [unit.received_by_channel.total for unit in card.units] == [unit.received for unit in card.units]
    assert card.received_by_channel == ChannelCounts(phone=2, web=3, in_person=1, open311=2)


def test_given_a_scorecard_when_serialised_then_it_round_trips_through_json(azar: dict[str, UnitScore]) -> None:
    card = Scorecard(start=START, end=END, generated_at=NOW, units=list(azar.values()),
                     received_by_channel=ChannelCounts.summed(unit.received_by_channel for unit in azar.values()))
    assert Scorecard.model_validate_json(card.model_dump_json()) == card


def test_given_azar_1405_when_windowing_then_it_runs_from_tehran_midnight_of_1_azar_to_that_of_1_dey() -> None:
    # 1 Azar 1405 = 22 Nov 2026; 00:00 Tehran (UTC+03:30) = 21 Nov 20:30 UTC. 1 Dey = 22 Dec 2026.
    assert jalali_month_window(1405, 9) == (START, END)
    # Aban ends where Azar begins: 23:59 on 30 Aban is 20:29 UTC on 21 Nov, outside Azar.
    assert jalali_month_window(1405, 8)[1] == START


def test_given_esfand_of_a_leap_year_when_windowing_then_it_has_thirty_days_and_ends_at_nowruz() -> None:
    # 1403 is leap: 1 Esfand 1403 = 19 Feb 2025, 1 Farvardin 1404 = 21 Mar 2025 (the equinox fell after noon in
    # Tehran on 20 Mar). 1404 is not: 1 Esfand 1404 = 20 Feb 2026, 1 Farvardin 1405 = 21 Mar 2026, 29 days.
    leap_start, leap_end = jalali_month_window(1403, 12)
    assert leap_start == datetime(2025, 2, 18, 20, 30, tzinfo=UTC)
    assert leap_end == datetime(2025, 3, 20, 20, 30, tzinfo=UTC)
    assert leap_end - leap_start == timedelta(days=30)
    start, end = jalali_month_window(1404, 12)
    assert end - start == timedelta(days=29)
    assert jalali_month_window(1404, 1)[0] == leap_end


def test_given_a_month_outside_1_to_12_when_windowing_then_it_is_refused() -> None:
    with pytest.raises(ValueError):
        jalali_month_window(1405, 13)


# --- The trend: the same scorecard month by month -------------------------------------------------------------------

DEY = 10
TREND_NOW = t(900)  # 9 Dey 1405 (Azar has 30 days: Dey begins at t720)


def dey_histories(session: Session, units: dict[str, Unit]) -> None:
    """Two tickets in Dey 1405 on top of Azar's ten (and T9, which Aban received)."""
    actor = session.exec(select(User).where(User.username == "actor")).one()
    day, three_days = a_category(session, "آزمون دی ۲۴ ساعته", 24), a_category(session, "آزمون دی ۷۲ ساعته", 72)
    # T11 B (24 h): done after 10 h, verified: on time, passed, not reopened.
    a_ticket(session, "T11", day, actor, step(730, A.REFER, units["B"]), step(731, A.ACCEPT),
             step(740, A.REPORT_DONE), step(741, A.REQUEST_VERIFICATION), step(742, A.VERIFY_RESOLVED))
    # T12 D (72 h): done after 80 h, late; never verified.
    a_ticket(session, "T12", three_days, actor, step(750, A.REFER, units["D"]), step(751, A.ACCEPT),
             step(830, A.REPORT_DONE))


Point = tuple[int, float | None, int, float | None, float | None, float | None]


def as_tuple(point: TrendPoint | None) -> Point | None:
    if point is None:
        return None
    return (point.rank, point.score, point.received, point.on_time_rate, point.verification_pass_rate,
            point.reopen_rate)


def test_given_three_months_of_histories_when_computing_the_trend_then_each_month_is_its_own_scorecard(
        session: Session) -> None:
    units = azar_histories(session)
    dey_histories(session, units)

    trend = compute_trend(session, year=1405, month=DEY, months=3, now=TREND_NOW)

    assert [(m.year, m.month) for m in trend.months] == [(1405, 8), (1405, 9), (1405, 10)]
    assert (trend.months[1].start, trend.months[1].end) == (START, END)
    assert trend.generated_at == TREND_NOW
    # Units in Dey's rank order (B 1.0, D 0.5), then the others by name: A «واحد الف» before C «واحد پ».
    assert [unit.unit_id for unit in trend.units] == [units[key].id for key in "BDAC"]
    points = {unit.unit_id: [as_tuple(point) for point in unit.points] for unit in trend.units}
    # (rank, score, received, on time, pass rate, reopen rate) per month, Aban, Azar, Dey.
    # Aban: only T9, referred to A at 23:30 on 30 Aban: done 5.5 h later (on time), the citizen said no (pass 0/1,
    #   reopened 1/1): score (1 + 0 + 0) / 3 = 0.3333.
    # Azar as of t900 is the Azar fixture above, except that T5's report at t210 now counts: D on time 1/1, no
    #   verification, reopen 0/1: (1 + 1) / 2 = 1.0, first; A 0.6667, B 0.5556, C 0.2222 follow.
    # Dey: B's T11 on time, passed, not reopened: 1.0. D's T12 late (80 h > 72), reopen 0/1: (0 + 1) / 2 = 0.5.
    assert points[units["A"].id] == [(1, 0.3333, 1, 1.0, 0.0, 1.0),
                                     (2, 0.6667, 4, pytest.approx(2 / 3), pytest.approx(2 / 3), pytest.approx(1 / 3)),
                                     None]
    assert points[units["B"].id] == [None, (3, 0.5556, 3, pytest.approx(2 / 3), 0.5, 0.5), (1, 1.0, 1, 1.0, 1.0, 0.0)]
    assert points[units["C"].id] == [None, (4, 0.2222, 3, pytest.approx(1 / 3), pytest.approx(1 / 3), 1.0), None]
    assert points[units["D"].id] == [None, (1, 1.0, 1, 1.0, None, 0.0), (2, 0.5, 1, 0.0, None, 0.0)]
    assert {unit.unit_name for unit in trend.units} == {"واحد الف", "واحد ب", "واحد پ", "واحد ت"}


def test_given_a_trend_when_compared_with_the_months_scorecards_then_every_point_is_the_same_figure(
        session: Session) -> None:
    units = azar_histories(session)
    dey_histories(session, units)
    trend = compute_trend(session, year=1405, month=DEY, now=TREND_NOW)

    assert len(trend.months) == TREND_MONTHS
    for index, period in enumerate(trend.months):
        card = compute_scorecard(session, start=period.start, end=period.end, now=TREND_NOW)
        expected = {unit.unit_id: (unit.rank, unit.score, unit.received, unit.on_time_rate,
                                   unit.verification_pass_rate, unit.reopen_rate) for unit in card.units}
        plotted = {unit.unit_id: as_tuple(unit.points[index]) for unit in trend.units
                   if unit.points[index] is not None}
        assert plotted == expected


def test_given_a_month_early_in_the_year_when_listing_the_trend_months_then_they_reach_into_the_previous_year() -> None:
    assert previous_jalali_months(1405, 2, 6) == [(1404, 9), (1404, 10), (1404, 11), (1404, 12), (1405, 1), (1405, 2)]
    assert previous_jalali_months(1405, 12, 1) == [(1405, 12)]
    with pytest.raises(ValueError):
        previous_jalali_months(1405, 0, 6)
    with pytest.raises(ValueError):
        previous_jalali_months(1405, 5, 0)


def test_given_no_referrals_when_computing_the_trend_then_the_months_are_listed_and_no_unit(session: Session) -> None:
    trend = compute_trend(session, year=1405, month=DEY, now=TREND_NOW)
    assert [m.month for m in trend.months] == [5, 6, 7, 8, 9, 10]
    assert trend.units == []
    assert ScorecardTrend.model_validate_json(trend.model_dump_json()) == trend
