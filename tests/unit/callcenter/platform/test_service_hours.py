"""Service hours: parsing the setting, opening windows in Tehran time, Jalali holidays, the shipped holiday data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jdatetime
import pytest

from callcenter.platform.calendar import TEHRAN
from callcenter.platform.service_hours import (
    HOLIDAYS_FILE,
    Window,
    load_holiday_names,
    load_holidays,
    parse_service_hours,
)

OFFICE = "sat-wed 07:30-19:00; thu 07:30-13:00"
# Ordibehesht 1405 has no official holiday: Saturday 1405-02-05 is 2026-04-25.
SATURDAY = datetime(2026, 4, 25, tzinfo=TEHRAN)


def tehran(day_offset: int, hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    """A moment in the holiday-free week starting Saturday 2026-04-25, Tehran wall clock."""
    day = SATURDAY + timedelta(days=day_offset)
    return day.replace(hour=hour, minute=minute, second=second, microsecond=microsecond)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def jalali(year: int, month: int, day: int) -> jdatetime.date:
    return jdatetime.date(year, month, day)


# Parsing


def test_given_24_7_when_parsing_then_always_open_with_no_windows() -> None:
    hours = parse_service_hours("24/7")
    assert hours.always_open
    assert hours.week == ((),) * 7


def test_given_office_hours_when_parsing_then_each_day_gets_its_windows_saturday_first() -> None:
    hours = parse_service_hours(OFFICE)
    office = (Window(7 * 60 + 30, 19 * 60),)
    assert not hours.always_open
    assert hours.week == (office, office, office, office, office, (Window(7 * 60 + 30, 13 * 60),), ())


def test_given_two_windows_separated_by_a_comma_when_parsing_then_the_day_has_both() -> None:
    hours = parse_service_hours("sat-wed 08:00-12:00,16:00-20:00")
    assert hours.week[0] == (Window(8 * 60, 12 * 60), Window(16 * 60, 20 * 60))
    assert hours.week[5] == ()


def test_given_a_wrapping_range_thu_sat_when_parsing_then_thursday_friday_and_saturday_are_open() -> None:
    hours = parse_service_hours("thu-sat 09:00-17:00")
    assert [bool(windows) for windows in hours.week] == [True, False, False, False, False, True, True]


def test_given_sat_fri_when_parsing_then_the_whole_week_is_covered() -> None:
    hours = parse_service_hours("sat-fri 00:00-24:00")
    assert hours.week == ((Window(0, 24 * 60),),) * 7


def test_given_a_day_list_when_parsing_then_only_the_listed_days_are_open() -> None:
    hours = parse_service_hours("sat,mon-tue 08:00-12:00")
    assert [bool(windows) for windows in hours.week] == [True, False, True, True, False, False, False]


def test_given_overlapping_and_touching_windows_when_parsing_then_they_merge_into_one() -> None:
    hours = parse_service_hours("sat 08:00-12:00,12:00-14:00; sat 13:00-15:00, 07:00-08:30")
    assert hours.week[0] == (Window(7 * 60, 15 * 60),)


def test_given_capitals_extra_spaces_and_persian_digits_when_parsing_then_they_are_accepted() -> None:
    hours = parse_service_hours("  Sat-Wed   ۰۷:۳۰-۱۹:۰۰ ;THU 7:30 - 13:00 ")
    assert hours == parse_service_hours(OFFICE)


def test_given_persian_digits_24_7_when_parsing_then_always_open() -> None:
    assert parse_service_hours("۲۴/۷").always_open


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("sat-wed", "'sat-wed'"),
        ("xyz 08:00-12:00", "'xyz'"),
        ("sat-xyz 08:00-12:00", "'xyz'"),
        ("saturday 08:00-12:00", "'saturday'"),
        ("sat-sat 08:00-12:00", "'sat-sat'"),
        ("sat 08:00", "'08:00'"),
        ("sat 8-12", "'8'"),
        ("sat 08:00-25:00", "'25:00'"),
        ("sat 08:60-09:00", "'08:60'"),
        ("sat 24:00-24:00", "'24:00-24:00'"),
        ("sat 19:00-07:30", "'19:00-07:30'"),
        ("sat 08:00-08:00", "'08:00-08:00'"),
        ("sat 08:00-12:00,", "''"),
        ("sat-wed 07:30-19:00;; thu 07:30-13:00", "empty part"),
        ("24/7; sat 08:00-12:00", "'24/7'"),
    ],
)
def test_given_a_bad_spec_when_parsing_then_value_error_names_the_bad_part(spec: str, named: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_service_hours(spec)
    assert named in str(caught.value)


def test_given_a_window_ending_before_it_starts_when_parsing_then_the_error_says_to_split_at_midnight() -> None:
    with pytest.raises(ValueError, match="midnight"):
        parse_service_hours("fri 19:00-07:00")


def test_given_the_parsed_hours_when_changing_them_then_they_are_immutable() -> None:
    hours = parse_service_hours(OFFICE)
    with pytest.raises(AttributeError):
        hours.always_open = True  # type: ignore[misc]


# Opening windows


def test_given_office_hours_when_a_weekday_morning_then_open() -> None:
    assert parse_service_hours(OFFICE).is_open(tehran(1, 10))


def test_given_office_hours_when_friday_then_closed_all_day() -> None:
    hours = parse_service_hours(OFFICE)
    assert not any(hours.is_open(tehran(6, hour)) for hour in range(24))


def test_given_office_hours_when_thursday_afternoon_then_closed_after_thirteen() -> None:
    hours = parse_service_hours(OFFICE)
    assert hours.is_open(tehran(5, 12, 59, 59))
    assert not hours.is_open(tehran(5, 13))


def test_given_a_window_when_exactly_at_its_start_then_open() -> None:
    assert parse_service_hours(OFFICE).is_open(tehran(0, 7, 30))


def test_given_a_window_when_a_microsecond_before_its_start_then_closed() -> None:
    assert not parse_service_hours(OFFICE).is_open(tehran(0, 7, 29, 59, 999_999))


def test_given_a_window_when_exactly_at_its_end_then_closed() -> None:
    assert not parse_service_hours(OFFICE).is_open(tehran(0, 19))


def test_given_a_window_when_a_microsecond_before_its_end_then_open() -> None:
    assert parse_service_hours(OFFICE).is_open(tehran(0, 18, 59, 59, 999_999))


def test_given_a_window_ending_at_24_00_when_the_last_second_of_the_day_then_open_and_at_midnight_closed() -> None:
    hours = parse_service_hours("sat 20:00-24:00")
    assert hours.is_open(tehran(0, 23, 59, 59, 999_999))
    assert not hours.is_open(tehran(1, 0))


def test_given_a_wrapping_range_thu_sat_when_checking_each_day_at_noon_then_only_thu_fri_sat_are_open() -> None:
    hours = parse_service_hours("thu-sat 09:00-17:00")
    assert [hours.is_open(tehran(day, 12)) for day in range(7)] == [True, False, False, False, False, True, True]


def test_given_two_windows_when_in_the_gap_between_them_then_closed() -> None:
    hours = parse_service_hours("sat-wed 08:00-12:00,16:00-20:00")
    assert hours.is_open(tehran(0, 11, 59))
    assert not hours.is_open(tehran(0, 12))
    assert not hours.is_open(tehran(0, 15, 59))
    assert hours.is_open(tehran(0, 16))


# Tehran time (UTC+03:30, no daylight saving since 2022)


def test_given_utc_when_tehran_is_three_and_a_half_hours_ahead_then_opening_follows_tehran_time() -> None:
    hours = parse_service_hours(OFFICE)
    assert not hours.is_open(utc(2026, 4, 25, 3, 59))  # 07:29 in Tehran
    assert hours.is_open(utc(2026, 4, 25, 4, 0))  # 07:30 in Tehran
    assert hours.is_open(utc(2026, 4, 25, 15, 29))  # 18:59 in Tehran
    assert not hours.is_open(utc(2026, 4, 25, 15, 30))  # 19:00 in Tehran


def test_given_summer_utc_when_checking_then_still_three_and_a_half_hours_without_daylight_saving() -> None:
    hours = parse_service_hours(OFFICE)
    # Saturday 2026-07-11 (1405-04-20), no holiday: 07:30 Tehran is 04:00 UTC in summer too.
    assert not hours.is_open(utc(2026, 7, 11, 3, 59))
    assert hours.is_open(utc(2026, 7, 11, 4, 0))


def test_given_late_friday_utc_when_it_is_already_saturday_in_tehran_then_saturday_windows_apply() -> None:
    hours = parse_service_hours("sat 00:00-01:00")
    assert not hours.is_open(utc(2026, 5, 1, 20, 29))  # Friday 23:59 in Tehran
    assert hours.is_open(utc(2026, 5, 1, 20, 30))  # Saturday 00:00 in Tehran


def test_given_another_time_zone_when_checking_then_it_is_converted_to_tehran() -> None:
    hours = parse_service_hours(OFFICE)
    assert hours.is_open(datetime.fromisoformat("2026-04-25T06:00:00+02:00"))  # 07:30 in Tehran
    assert not hours.is_open(datetime.fromisoformat("2026-04-25T05:59:00+02:00"))


def test_given_a_naive_datetime_when_checking_then_value_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_service_hours(OFFICE).is_open(datetime(2026, 4, 25, 10, 0))


# Holidays


def test_given_a_holiday_when_inside_the_usual_window_then_closed() -> None:
    hours = parse_service_hours(OFFICE, holidays=[jalali(1405, 2, 6)])  # Sunday 2026-04-26
    assert not hours.is_open(tehran(1, 10))
    assert hours.is_holiday(tehran(1, 10))
    assert hours.is_open(tehran(2, 10))


def test_given_a_holiday_when_round_the_clock_hours_then_closed_for_the_whole_tehran_day() -> None:
    hours = parse_service_hours("sat-fri 00:00-24:00", holidays=[jalali(1405, 2, 10)])  # Thursday 2026-04-30
    assert hours.is_open(utc(2026, 4, 29, 20, 29))  # Wednesday 23:59 in Tehran
    assert not hours.is_open(utc(2026, 4, 29, 20, 30))  # Thursday 00:00 in Tehran, still Wednesday in UTC
    assert not hours.is_open(utc(2026, 4, 30, 20, 29))  # Thursday 23:59 in Tehran
    assert hours.is_open(utc(2026, 4, 30, 20, 30))  # Friday 00:00 in Tehran


def test_given_24_7_when_nowruz_then_open() -> None:
    hours = parse_service_hours("24/7", holidays=load_holidays())
    assert hours.is_open(datetime(2026, 3, 21, 10, 0, tzinfo=TEHRAN))  # 1405-01-01
    assert hours.next_opening(datetime(2026, 3, 21, 10, 0, tzinfo=TEHRAN)) is None


def test_given_office_hours_and_shipped_holidays_when_nowruz_then_closed() -> None:
    hours = parse_service_hours(OFFICE, holidays=load_holidays())
    assert not hours.is_open(datetime(2026, 3, 21, 10, 0, tzinfo=TEHRAN))  # Saturday 1405-01-01


def test_given_office_hours_and_shipped_holidays_when_22_bahman_then_closed() -> None:
    hours = parse_service_hours(OFFICE, holidays=load_holidays())
    assert not hours.is_open(datetime(2026, 2, 11, 10, 0, tzinfo=TEHRAN))  # Wednesday 1404-11-22
    assert hours.is_open(datetime(2026, 2, 10, 10, 0, tzinfo=TEHRAN))


# Next opening


def test_given_24_7_when_asking_for_the_next_opening_then_none() -> None:
    assert parse_service_hours("24/7").next_opening(tehran(6, 12)) is None


def test_given_open_now_when_asking_for_the_next_opening_then_now_in_utc() -> None:
    at = tehran(0, 10, 15)
    opening = parse_service_hours(OFFICE).next_opening(at)
    assert opening == at
    assert opening is not None and opening.tzinfo is UTC


def test_given_before_the_morning_window_when_asking_then_the_same_day_at_opening_time() -> None:
    assert parse_service_hours(OFFICE).next_opening(tehran(0, 6)) == utc(2026, 4, 25, 4, 0)


def test_given_the_gap_between_two_windows_when_asking_then_the_afternoon_window() -> None:
    hours = parse_service_hours("sat-wed 08:00-12:00,16:00-20:00")
    assert hours.next_opening(tehran(0, 13)) == tehran(0, 16).astimezone(UTC)


def test_given_thursday_afternoon_when_asking_then_next_opening_is_saturday_morning_over_the_weekend() -> None:
    opening = parse_service_hours(OFFICE).next_opening(tehran(5, 14))
    assert opening == utc(2026, 5, 2, 4, 0)  # Saturday 07:30 in Tehran
    assert opening is not None and opening.tzinfo is UTC


def test_given_exactly_at_closing_time_when_asking_then_the_next_day_at_opening_time() -> None:
    assert parse_service_hours(OFFICE).next_opening(tehran(0, 19)) == tehran(1, 7, 30).astimezone(UTC)


def test_given_a_monday_holiday_when_asking_on_sunday_evening_then_next_opening_is_tuesday() -> None:
    hours = parse_service_hours(OFFICE, holidays=[jalali(1405, 2, 7)])  # Monday 2026-04-27
    assert hours.next_opening(tehran(1, 20)) == tehran(3, 7, 30).astimezone(UTC)


def test_given_shipped_khordad_holidays_when_closing_wednesday_then_next_opening_is_saturday() -> None:
    hours = parse_service_hours(OFFICE, holidays=load_holidays())
    # Wednesday 1405-03-13, then 14 and 15 Khordad (Thursday, Friday) are holidays.
    wednesday_evening = datetime(2026, 6, 3, 20, 0, tzinfo=TEHRAN)
    assert hours.next_opening(wednesday_evening) == datetime(2026, 6, 6, 7, 30, tzinfo=TEHRAN).astimezone(UTC)


def test_given_nowruz_when_asking_at_new_year_then_next_opening_skips_the_first_four_days() -> None:
    hours = parse_service_hours(OFFICE, holidays=load_holidays())
    # 1405-01-01..04 are holidays (Saturday to Tuesday): the lines open on Wednesday 1405-01-05.
    assert hours.next_opening(datetime(2026, 3, 21, 9, 0, tzinfo=TEHRAN)) == utc(2026, 3, 25, 4, 0)


def test_given_a_holiday_today_when_a_window_later_today_then_it_is_skipped() -> None:
    hours = parse_service_hours("sat-fri 16:00-20:00", holidays=[jalali(1405, 2, 5)])  # Saturday
    assert hours.next_opening(tehran(0, 10)) == tehran(1, 16).astimezone(UTC)


def test_given_nothing_opens_within_thirty_days_when_asking_then_none() -> None:
    start = jdatetime.date.fromgregorian(date=SATURDAY.date())
    holidays = [start + timedelta(days=offset) for offset in range(40)]
    assert parse_service_hours(OFFICE, holidays=holidays).next_opening(tehran(0, 6)) is None


def test_given_an_opening_thirty_days_ahead_when_asking_then_it_is_found() -> None:
    start = jdatetime.date.fromgregorian(date=SATURDAY.date())
    holidays = [start + timedelta(days=offset) for offset in range(30)]
    opening = parse_service_hours("sat-fri 08:00-09:00", holidays=holidays).next_opening(tehran(0, 6))
    assert opening == (SATURDAY + timedelta(days=30)).replace(hour=8).astimezone(UTC)


# The shipped holidays file


def test_given_the_shipped_file_when_loading_then_it_has_nowruz_1405_and_22_bahman_1404() -> None:
    holidays = load_holidays()
    assert jalali(1405, 1, 1) in holidays
    assert jalali(1404, 11, 22) in holidays
    assert load_holidays(HOLIDAYS_FILE) == holidays


@pytest.mark.parametrize("year", [1404, 1405])
def test_given_the_shipped_file_when_loading_then_every_fixed_solar_holiday_is_there(year: int) -> None:
    holidays = load_holidays()
    fixed = [(1, 1), (1, 2), (1, 3), (1, 4), (1, 12), (1, 13), (3, 14), (3, 15), (11, 22), (12, 29)]
    assert {jalali(year, month, day) for month, day in fixed} <= holidays


def test_given_the_shipped_file_when_reading_names_then_each_is_persian_text() -> None:
    names = load_holiday_names()
    assert names[jalali(1405, 1, 1)].startswith("عید نوروز")
    assert all(name.strip() for name in names.values())
    assert set(names) == load_holidays()


def test_given_the_shipped_file_when_scanning_the_text_then_no_arabic_yeh_or_kaf() -> None:
    text = HOLIDAYS_FILE.read_text(encoding="utf-8")
    assert "\u064a" not in text  # ARABIC LETTER YEH
    assert "\u0643" not in text  # ARABIC LETTER KAF
    assert "\u0649" not in text  # ARABIC LETTER ALEF MAKSURA


def test_given_the_shipped_file_when_comparing_years_then_each_has_about_two_dozen_holidays() -> None:
    holidays = load_holidays()
    for year in (1404, 1405):
        assert 20 <= sum(1 for day in holidays if day.year == year) <= 30


# Malformed holiday files


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "holidays.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_given_a_custom_file_when_loading_then_its_dates_are_returned(tmp_path: Path) -> None:
    path = write(tmp_path, '[1405]\n"02-10" = "تعطیل"\n"12-29" = "روز ملی شدن صنعت نفت ایران"\n')
    assert load_holidays(path) == {jalali(1405, 2, 10), jalali(1405, 12, 29)}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[1405]\n"1-1" = "x"\n', "'1-1'"),
        ('[1405]\n"01/01" = "x"\n', "'01/01'"),
        ('[1404]\n"12-30" = "x"\n', "'12-30'"),
        ('[1405]\n"13-01" = "x"\n', "'13-01'"),
        ('[1405]\n"01-01" = 1\n', "'01-01'"),
        ('[1405]\n"01-01" = " "\n', "'01-01'"),
        ('[405]\n"01-01" = "x"\n', "[405]"),
        ('year = "1405"\n', "[year]"),
        ('1405 = "01-01"\n', "[1405] must be a table"),
        ('[1405\n"01-01" = "x"\n', "not valid TOML"),
    ],
)
def test_given_a_malformed_holidays_file_when_loading_then_value_error_names_the_entry(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ValueError, match="holidays file") as caught:
        load_holidays(write(tmp_path, text))
    assert named in str(caught.value)
