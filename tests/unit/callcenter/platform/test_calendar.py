"""The calendar module: Tehran's day and Jalali month at a moment, month names and Persian labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import jdatetime
import pytest

from callcenter.platform.calendar import (
    JALALI_MONTHS,
    TEHRAN,
    in_tehran,
    jalali_date,
    jalali_month_label,
    jalali_timestamp,
    month_name,
    require_aware,
    this_jalali_month,
)


def test_the_months_are_the_twelve_jalali_months_farvardin_first() -> None:
    assert len(JALALI_MONTHS) == 12
    assert (JALALI_MONTHS[0], JALALI_MONTHS[8], JALALI_MONTHS[11]) == ("فروردین", "آذر", "اسفند")
    assert [month_name(m) for m in (1, 9, 12)] == ["فروردین", "آذر", "اسفند"]


@pytest.mark.parametrize("month", [0, 13])
def test_given_a_month_outside_1_to_12_when_named_then_value_error(month: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.12"):
        month_name(month)


def test_given_a_utc_evening_that_is_already_tomorrow_in_tehran_then_the_jalali_date_is_tehrans() -> None:
    # 20:29 UTC on 20 March 2026 is 23:59 in Tehran, the last minute of 1404; 20:31 is Nowruz 1405.
    assert jalali_date(datetime(2026, 3, 20, 20, 29, tzinfo=UTC)) == jdatetime.date(1404, 12, 29)
    assert jalali_date(datetime(2026, 3, 20, 20, 31, tzinfo=UTC)) == jdatetime.date(1405, 1, 1)
    assert this_jalali_month(datetime(2026, 3, 20, 20, 29, tzinfo=UTC)) == (1404, 12)
    assert this_jalali_month(datetime(2026, 3, 20, 20, 31, tzinfo=UTC)) == (1405, 1)


def test_given_any_zone_then_the_same_instant_is_the_same_tehran_wall_clock() -> None:
    instant = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    elsewhere = instant.astimezone(timezone(timedelta(hours=-5)))
    assert in_tehran(elsewhere) == in_tehran(instant)
    assert in_tehran(instant).utcoffset() == timedelta(hours=3, minutes=30)
    assert in_tehran(instant).tzinfo is TEHRAN


def test_given_a_naive_datetime_then_every_conversion_refuses_it() -> None:
    naive = datetime(2026, 11, 22, 9, 0)
    for convert in (require_aware, in_tehran, jalali_date, this_jalali_month, jalali_timestamp):
        with pytest.raises(ValueError, match="naive"):
            convert(naive)


def test_labels_and_timestamps_are_in_persian_digits() -> None:
    assert jalali_month_label(1405, 9) == "آذر ۱۴۰۵"
    # 09:05 UTC is 12:35 in Tehran on 1 Azar 1405.
    assert jalali_timestamp(datetime(2026, 11, 22, 9, 5, tzinfo=UTC)) == ("۱۴۰۵/۰۹/۰۱", "۱۲:۳۵")
