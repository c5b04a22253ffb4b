"""Working days: Fridays and the official holidays are skipped, the deadline ends at Tehran midnight."""

from __future__ import annotations

from datetime import UTC, datetime

import jdatetime
import pytest

from callcenter.platform.service_hours import load_holidays
from callcenter.platform.working_days import is_working_day, working_days_after


def test_given_a_monday_before_a_holiday_and_a_friday_when_three_working_days_are_counted_then_saturday_ends_it(
) -> None:
    # 1405-01-24 is a Monday (2026-04-13); 01-25 is a holiday, 01-28 a Friday: the third working day is 01-29.
    start = datetime(2026, 4, 13, 8, 0, tzinfo=UTC)
    due = working_days_after(start, 3, load_holidays())
    assert due == datetime(2026, 4, 18, 20, 30, tzinfo=UTC)  # Tehran midnight after 1405-01-29 (+03:30)


def test_given_a_friday_and_a_holiday_when_asked_then_neither_is_a_working_day() -> None:
    holidays = load_holidays()
    assert not is_working_day(jdatetime.date(1405, 1, 28), holidays)  # Friday
    assert not is_working_day(jdatetime.date(1405, 1, 25), holidays)  # a holiday
    assert is_working_day(jdatetime.date(1405, 1, 27), holidays)  # a Thursday


def test_given_no_working_days_when_a_deadline_is_asked_then_it_is_refused() -> None:
    with pytest.raises(ValueError):
        working_days_after(datetime(2026, 4, 13, tzinfo=UTC), 0, frozenset())
