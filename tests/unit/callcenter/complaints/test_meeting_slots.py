"""Which slots a series publishes: working days only (no Friday, no holiday, no Thursday when the hours close it),
Tehran wall-clock times stored in UTC, and the plan's limits refused in Persian."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import jdatetime
import pytest

from callcenter.complaints.meetings import SeriesPlan, slot_starts, when_text
from callcenter.platform.calendar import jalali_date
from callcenter.platform.errors import ValidationFailed
from callcenter.platform.service_hours import load_holidays, parse_service_hours
from db.models import MeetingSlot

# 1405/10/02 (ولادت امام علی) is an official holiday in the shipped file; find the Saturday of its week.
HOLIDAY = jdatetime.date(1405, 10, 2).togregorian()
SATURDAY = HOLIDAY - timedelta(days=(HOLIDAY.weekday() + 2) % 7)


def plan(first: date, last: date, *, start: time = time(9, 0), end: time = time(12, 0), every: int = 30,
         minutes: int = 30, capacity: int = 2, place: str = "ساختمان مرکزی") -> SeriesPlan:
    return SeriesPlan(first_day=first, last_day=last, day_start=start, day_end=end, every_minutes=every,
                      minutes=minutes, capacity=capacity, place=place)


def test_given_a_week_with_a_holiday_when_the_series_is_planned_then_friday_and_the_holiday_are_skipped() -> None:
    hours = parse_service_hours("24/7", load_holidays())
    starts = slot_starts(plan(SATURDAY, SATURDAY + timedelta(days=6)), hours)
    tehran_days = {jalali_date(start) for start in starts}
    weekdays = {day.weekday() for day in tehran_days}
    assert 6 not in weekdays  # Friday
    assert jdatetime.date(1405, 10, 2) not in tehran_days
    assert len(starts) == 5 * 6  # Sat..Thu without the holiday (5 days) × 09:00..11:30 every 30 minutes


def test_given_hours_closed_on_thursday_when_the_series_is_planned_then_thursday_is_skipped_too() -> None:
    hours = parse_service_hours("sat-wed 07:30-15:00", load_holidays())
    thursday = SATURDAY + timedelta(days=5)
    assert slot_starts(plan(thursday, thursday), hours) == []
    open_hours = parse_service_hours("sat-wed 07:30-15:00; thu 07:30-13:00", load_holidays())
    assert len(slot_starts(plan(thursday, thursday), open_hours)) == 6


def test_given_a_tehran_morning_when_slots_are_planned_then_they_are_stored_in_utc_and_read_in_tehran() -> None:
    hours = parse_service_hours("24/7")
    starts = slot_starts(plan(SATURDAY, SATURDAY, end=time(10, 0), minutes=20), hours)
    assert starts == [datetime.combine(SATURDAY, time(5, 30), tzinfo=UTC),
                      datetime.combine(SATURDAY, time(6, 0), tzinfo=UTC)]  # 09:00 and 09:30 (+03:30)
    text = when_text(MeetingSlot(starts_at=starts[1], place="x"))
    assert text.startswith("شنبه ") and text.endswith("ساعت ۰۹:۳۰")
    assert not any(ch.isascii() and ch.isdigit() for ch in text)


def test_given_a_window_shorter_than_a_meeting_when_planned_then_no_slot_overruns_the_window() -> None:
    hours = parse_service_hours("24/7")
    starts = slot_starts(plan(SATURDAY, SATURDAY, start=time(9, 0), end=time(10, 0), every=25, minutes=30), hours)
    assert [s.astimezone(UTC).time() for s in starts] == [time(5, 30), time(5, 55)]  # 09:00, 09:25; 09:50 overruns


@pytest.mark.parametrize(("bad", "field"), [
    ({"last": SATURDAY - timedelta(days=1)}, "last_day"),
    ({"last": SATURDAY + timedelta(days=70)}, "last_day"),
    ({"end": time(8, 0)}, "day_end"),
    ({"capacity": 0}, "capacity"),
    ({"place": "  "}, "place"),
    ({"minutes": 2}, "minutes"),
])
def test_given_a_wrong_plan_when_planned_then_a_persian_error_names_its_field(bad: dict[str, object],
                                                                              field: str) -> None:
    arguments: dict[str, object] = {"first": SATURDAY, "last": SATURDAY, **bad}
    with pytest.raises(ValidationFailed) as refused:
        slot_starts(plan(**arguments), parse_service_hours("24/7"))  # type: ignore[arg-type]
    assert refused.value.details["field"] == field
    assert any("\u0600" <= ch <= "\u06ff" for ch in refused.value.message)
