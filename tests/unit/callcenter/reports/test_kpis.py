"""Wallboard KPIs on SQLite and PostgreSQL against a morning of calls and operator states worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import Session

from callcenter.platform.calendar import TEHRAN, today_window
from callcenter.reports.kpis import HourlyCalls, KpiReport, compute_kpis
from callcenter.tickets.channels import ChannelCounts
from db.models import AgentState, AgentStateChange, Call, CallOutcome, Role, Ticket, TicketSource, User

DAY = date(2026, 11, 23)  # Iran has kept UTC+03:30 all year since 2022
START, END = datetime(2026, 11, 22, 20, 30, tzinfo=UTC), datetime(2026, 11, 23, 20, 30, tzinfo=UTC)


def tehran(hour: int, minute: int, second: int = 0, *, day: date = DAY) -> datetime:
    """A Tehran wall-clock time on ``day``, as the aware UTC the database stores."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=TEHRAN).astimezone(UTC)


def yesterday(hour: int, minute: int, second: int = 0) -> datetime:
    return tehran(hour, minute, second, day=DAY - timedelta(days=1))


NOW = tehran(10, 30)


def a_call(session: Session, linkedid: str, outcome: CallOutcome, *, queued: datetime | None,
           answered: datetime | None = None, ended: datetime | None = None, operator: str | None = None,
           line: str = "137") -> None:
    session.add(Call(linkedid=linkedid, line=line, caller_number="09121111111", started_at=queued or ended or NOW,
                     queued_at=queued, answered_at=answered, ended_at=ended, operator_extension=operator,
                     outcome=outcome))


def states(session: Session, extension: str, queue: str, *changes: tuple[datetime, AgentState]) -> None:
    for at, state in changes:
        reason = "break" if state == AgentState.PAUSED else None
        session.add(AgentStateChange(extension=extension, queue_name=queue, state=state, reason=reason, at=at))


def an_operator(session: Session, extension: str, full_name: str) -> None:
    session.add(User(username=f"operator{extension}", full_name=full_name, role=Role.OPERATOR, extension=extension,
                     password_hash="not-a-real-hash"))


def a_busy_morning(session: Session) -> None:
    """Calls and states of 23 November 2026 up to 10:30 Tehran time (NOW); times below are Tehran wall clock."""
    an_operator(session, "1001", "زهرا احمدی")
    an_operator(session, "1003", "مریم کریمی")
    # Counted: waits of 5, 20 and 21 s, 40 s and still talking; talk 180, 100, 300 and 10:30:00 − 10:00:40 = 1760.
    a_call(session, "c1", CallOutcome.ANSWERED, queued=tehran(9, 0), answered=tehran(9, 0, 5),
           ended=tehran(9, 3, 5), operator="1001")
    a_call(session, "c2", CallOutcome.ANSWERED, queued=tehran(9, 10), answered=tehran(9, 10, 20),
           ended=tehran(9, 12), operator="1002", line="1888")
    a_call(session, "c3", CallOutcome.ANSWERED, queued=tehran(9, 20), answered=tehran(9, 20, 21),
           ended=tehran(9, 25, 21), operator="1001")
    a_call(session, "c4", CallOutcome.IN_PROGRESS, queued=tehran(10, 0), answered=tehran(10, 0, 40),
           operator="1002")
    a_call(session, "c5", CallOutcome.ABANDONED, queued=tehran(9, 30), ended=tehran(9, 31))
    a_call(session, "c6", CallOutcome.ABANDONED, queued=tehran(10, 5), ended=tehran(10, 5, 30))
    # Not counted: never queued; queued before midnight (abandoned after it); still waiting; chose a callback.
    a_call(session, "c7", CallOutcome.IVR_ONLY, queued=None, ended=tehran(9, 41))
    a_call(session, "c8", CallOutcome.ABANDONED, queued=yesterday(23, 59, 30), ended=tehran(0, 0, 30))
    a_call(session, "c9", CallOutcome.IN_PROGRESS, queued=tehran(10, 29))
    a_call(session, "c10", CallOutcome.CALLBACK, queued=tehran(10, 10), ended=tehran(10, 11))

    # 1001, line 137 only. Ready since 23:30 yesterday (the 22:00 log-out before it is superseded).
    states(session, "1001", "line137",
           (yesterday(22, 0), AgentState.LOGGED_OUT), (yesterday(23, 30), AgentState.READY),
           (tehran(0, 20), AgentState.LOGGED_OUT), (tehran(8, 50), AgentState.READY),
           (tehran(9, 0), AgentState.RINGING), (tehran(9, 0, 5), AgentState.TALKING),
           (tehran(9, 3, 5), AgentState.WRAP_UP), (tehran(9, 4, 5), AgentState.READY),
           (tehran(9, 20, 1), AgentState.RINGING), (tehran(9, 20, 21), AgentState.TALKING),
           (tehran(9, 25, 21), AgentState.WRAP_UP), (tehran(9, 26), AgentState.PAUSED),
           (tehran(9, 56), AgentState.READY))
    # 1002 in both queues at once; logged here queue by queue, so the rows are not in time order by id.
    states(session, "1002", "line1888",
           (tehran(8, 0), AgentState.READY), (tehran(9, 10), AgentState.RINGING),
           (tehran(9, 10, 20), AgentState.TALKING), (tehran(9, 12), AgentState.WRAP_UP),
           (tehran(9, 13), AgentState.READY))
    states(session, "1002", "line137",
           (tehran(8, 30), AgentState.READY), (tehran(9, 40), AgentState.PAUSED),
           (tehran(9, 50), AgentState.READY), (tehran(10, 0, 30), AgentState.RINGING),
           (tehran(10, 0, 40), AgentState.TALKING))
    # 1003 was ready yesterday but logged out before midnight: not on today's board.
    states(session, "1003", "line137", (yesterday(17, 0), AgentState.READY), (yesterday(18, 0), AgentState.LOGGED_OUT))
    session.commit()


@pytest.fixture
def morning(session: Session) -> KpiReport:
    a_busy_morning(session)
    return compute_kpis(session, start=START, end=END, now=NOW)


# Operator time, [00:00, 10:30) Tehran, worked out by hand:
# 1001: ready 00:00–00:20 (1200) + 08:50–09:00 (600) + 09:04:05–09:20:01 (956) + 09:56–10:30 (2040) = 4796;
#       ringing 5 + 20 = 25; talking 180 + 300 = 480; wrap-up 60 + 39 = 99; paused 09:26–09:56 left out.
#       staffed 4796 + 25 + 480 + 99 = 5400; busy 480 + 99 = 579.
# 1002 (strongest state of its two queues): ready 08:00–09:10 (4200) + 09:13:00–10:00:30 (2850; its line 137
#       pause 09:40–09:50 is covered by ready on 1888) = 7050; ringing 20 + 10 = 30; talking 100 + 1760 = 1860;
#       wrap-up 60. staffed 7050 + 30 + 1860 + 60 = 9000; busy 1860 + 60 = 1920.
OCCUPANCY_1001 = 579 / 5400
OCCUPANCY_1002 = 1920 / 9000


def test_given_a_busy_morning_when_computing_kpis_then_only_queued_calls_of_the_day_are_offered(
        morning: KpiReport) -> None:
    # answered c1..c4, abandoned c5 and c6; c7 (IVR), c8 (yesterday), c9 (waiting), c10 (callback) are not offered
    assert (morning.answered, morning.abandoned, morning.offered) == (4, 2, 6)


def test_given_answers_at_20_and_21_seconds_when_computing_service_level_then_only_20_counts_as_within(
        morning: KpiReport) -> None:
    # within 20 s: c1 (5 s) and c2 (exactly 20 s); c3 (21 s) and c4 (40 s) are late. SL = 2 / 6
    assert morning.answered_within_service_level == 2
    assert morning.service_level == pytest.approx(2 / 6)


def test_given_a_busy_morning_when_computing_kpis_then_abandon_rate_and_speed_of_answer_are_right(
        morning: KpiReport) -> None:
    assert morning.abandon_rate == pytest.approx(2 / 6)
    # ASA = (5 + 20 + 21 + 40) / 4 = 21.5
    assert morning.average_speed_of_answer_seconds == pytest.approx(21.5)


def test_given_a_call_still_talking_when_computing_handle_time_then_it_counts_until_now_plus_wrap_up(
        morning: KpiReport) -> None:
    # talk 180 + 100 + 300 + 1760 = 2340; wrap-up from the log 99 (1001) + 60 (1002) = 159; AHT = 2499 / 4
    assert morning.average_handle_time_seconds == pytest.approx(624.75)


def test_given_an_operator_in_two_queues_and_a_pause_when_computing_occupancy_then_no_time_counts_twice(
        morning: KpiReport) -> None:
    # overall = (579 + 1920) / (5400 + 9000) = 2499 / 14400
    assert morning.occupancy == pytest.approx(2499 / 14400)
    by_extension = {operator.extension: operator for operator in morning.operators}
    assert by_extension["1001"].occupancy == pytest.approx(OCCUPANCY_1001)
    assert by_extension["1002"].occupancy == pytest.approx(OCCUPANCY_1002)


def test_given_a_busy_morning_when_listing_operators_then_each_has_name_answered_calls_and_talk_time(
        morning: KpiReport) -> None:
    summary = [(op.extension, op.name, op.answered, op.talk_seconds) for op in morning.operators]
    # 1001: c1 + c3 = 180 + 300; 1002 has no staff account, so its extension stands for the name: c2 + c4 = 100 + 1760
    # 1003 was logged out all day and answered nothing: not listed.
    assert summary == [("1001", "زهرا احمدی", 2, pytest.approx(480)), ("1002", "1002", 2, pytest.approx(1860))]


def test_given_a_busy_morning_when_computing_kpis_then_calls_are_bucketed_by_tehran_hour_of_queueing(
        morning: KpiReport) -> None:
    expected = [HourlyCalls(hour=hour) for hour in range(24)]
    expected[9] = HourlyCalls(hour=9, answered=3, abandoned=1)   # c1, c2, c3; c5
    expected[10] = HourlyCalls(hour=10, answered=1, abandoned=1)  # c4; c6 (c9 waiting, c10 callback: neither)
    assert morning.hourly == expected  # hour 0 stays empty: c8 joined the queue yesterday


def test_given_a_longer_service_level_threshold_when_computing_kpis_then_the_21_second_answer_counts(
        session: Session) -> None:
    a_busy_morning(session)
    report = compute_kpis(session, start=START, end=END, now=NOW, service_level_seconds=21)
    assert report.service_level == pytest.approx(3 / 6)


def test_given_yesterday_when_computing_kpis_now_then_operator_time_stops_at_the_end_of_the_day(
        session: Session) -> None:
    states(session, "1001", "line137", (yesterday(23, 0), AgentState.READY), (yesterday(23, 30), AgentState.TALKING))
    session.commit()
    start, end = today_window(yesterday(12, 0))
    report = compute_kpis(session, start=start, end=end, now=NOW)
    # ready 23:00–23:30 = 1800, talking 23:30–24:00 = 1800 (not until 10:30 today): 1800 / 3600
    assert report.occupancy == pytest.approx(0.5)


def test_given_two_states_logged_at_the_same_instant_before_the_day_when_computing_kpis_then_the_later_written_holds(
        session: Session) -> None:
    states(session, "1001", "line137", (yesterday(23, 0), AgentState.READY), (yesterday(23, 0), AgentState.LOGGED_OUT))
    session.commit()
    report = compute_kpis(session, start=START, end=END, now=NOW)
    assert (report.operators, report.occupancy) == ([], None)


def test_given_an_empty_day_when_computing_kpis_then_ratios_are_none_and_counts_zero(session: Session) -> None:
    report = compute_kpis(session, start=START, end=END, now=NOW)
    assert (report.offered, report.answered, report.abandoned, report.operators) == (0, 0, 0, [])
    assert report.service_level is None
    assert report.abandon_rate is None
    assert report.average_speed_of_answer_seconds is None
    assert report.average_handle_time_seconds is None
    assert report.occupancy is None
    assert report.hourly == [HourlyCalls(hour=hour) for hour in range(24)]


def test_given_a_report_when_serialised_to_json_then_it_reads_back_the_same(morning: KpiReport) -> None:
    assert KpiReport.model_validate_json(morning.model_dump_json()) == morning


def test_given_a_second_before_tehran_midnight_when_taking_today_then_it_is_the_day_ending_at_20_30_utc() -> None:
    assert today_window(datetime(2026, 11, 22, 20, 29, 59, tzinfo=UTC)) == (
        datetime(2026, 11, 21, 20, 30, tzinfo=UTC), datetime(2026, 11, 22, 20, 30, tzinfo=UTC))


def test_given_tehran_midnight_when_taking_today_then_the_new_day_starts_at_20_30_utc() -> None:
    assert today_window(datetime(2026, 11, 22, 20, 30, tzinfo=UTC)) == (START, END)


def test_given_a_tehran_wall_clock_time_when_taking_today_then_the_window_is_in_utc() -> None:
    start, end = today_window(datetime(2026, 11, 23, 0, 10, tzinfo=TEHRAN))
    assert (start, end) == (START, END)
    assert start.utcoffset() == timedelta(0)


def test_given_the_day_iran_left_summer_time_when_taking_today_then_it_is_25_hours_long() -> None:
    # 2021-09-21 began at 00:00 +04:30 (19:30 UTC the day before) and ended at 00:00 +03:30 (20:30 UTC)
    start, end = today_window(datetime(2021, 9, 21, 12, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2021, 9, 20, 19, 30, tzinfo=UTC), datetime(2021, 9, 21, 20, 30, tzinfo=UTC))


def test_given_a_naive_time_when_taking_today_then_value_error_is_raised() -> None:
    with pytest.raises(ValueError, match="naive"):
        today_window(datetime(2026, 11, 23, 10, 0))


def test_given_tickets_of_every_source_when_computing_kpis_then_today_s_are_counted_per_channel(
    session: Session,
) -> None:
    filed = [(TicketSource.OPERATOR, tehran(9, 0)), (TicketSource.VOICE_MESSAGE, tehran(9, 5)),
             (TicketSource.WEB, tehran(0, 0)), (TicketSource.WEB, tehran(10, 29)),
             (TicketSource.IN_PERSON, tehran(8, 0)), (TicketSource.OPEN311, tehran(10, 0)),
             (TicketSource.WEB, yesterday(23, 59)), (TicketSource.OPEN311, tehran(0, 0, day=DAY + timedelta(days=1)))]
    for number, (source, at) in enumerate(filed):
        session.add(Ticket(tracking_code=f"K{number}", description="شرح آزمون", source=source, created_at=at))
    session.commit()

    report = compute_kpis(session, start=START, end=END, now=NOW)

    # Yesterday's and tomorrow's are not today's; the operator's and the voice message are the phone's.
    assert report.tickets_by_channel == ChannelCounts(phone=2, web=2, in_person=1, open311=1)


def test_given_calls_cut_by_an_asterisk_crash_when_computing_kpis_then_they_are_lost_to_a_fault_not_abandoned(
        session: Session) -> None:
    crash = tehran(10, 0)
    a_call(session, "waited", CallOutcome.ABANDONED, queued=tehran(9, 50), ended=tehran(9, 51))
    a_call(session, "cut-waiting", CallOutcome.LOST_TO_FAULT, queued=tehran(9, 58), ended=crash)
    a_call(session, "cut-talking", CallOutcome.LOST_TO_FAULT, queued=tehran(9, 55), answered=tehran(9, 55, 10),
           ended=crash, operator="1001")
    a_call(session, "cut-in-menu", CallOutcome.LOST_TO_FAULT, queued=None, ended=crash)
    a_call(session, "yesterday", CallOutcome.LOST_TO_FAULT, queued=yesterday(23, 0), ended=yesterday(23, 1))
    session.commit()

    report = compute_kpis(session, start=START, end=END, now=NOW)

    assert report.lost_to_fault == 3  # wherever they were: waiting, talking, in the voice menu; today only
    assert (report.abandoned, report.answered, report.offered) == (1, 1, 2)  # the one cut while talking was answered
    assert report.abandon_rate == pytest.approx(1 / 2)
