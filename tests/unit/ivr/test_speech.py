"""Persian numbers, tracking codes, Jalali dates and durations composed from prompt fragments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import jdatetime
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.prompt_catalog import PROMPTS
from ivr.speech import (
    MAX_NUMBER,
    say_day_of_month,
    say_digits,
    say_duration,
    say_jalali_date,
    say_number,
    say_tracking_code,
)

AND = "word_and"

NUMBERS = {
    0: ["num_0"],
    7: ["num_7"],
    10: ["num_10"],
    19: ["num_19"],
    20: ["num_20"],
    21: ["num_20", AND, "num_1"],
    100: ["num_100"],
    101: ["num_100", AND, "num_1"],
    105: ["num_100", AND, "num_5"],
    110: ["num_100", AND, "num_10"],
    999: ["num_900", AND, "num_90", AND, "num_9"],
    1000: ["num_thousand"],
    1001: ["num_thousand", AND, "num_1"],
    2000: ["num_2", "num_thousand"],
    12_345: ["num_12", "num_thousand", AND, "num_300", AND, "num_40", AND, "num_5"],
    100_000: ["num_100", "num_thousand"],
    101_000: ["num_100", AND, "num_1", "num_thousand"],
    1_000_000: ["num_1", "num_million"],
    1_001_000: ["num_1", "num_million", AND, "num_thousand"],
    1_234_567: ["num_1", "num_million", AND, "num_200", AND, "num_30", AND, "num_4", "num_thousand", AND,
                "num_500", AND, "num_60", AND, "num_7"],
    999_999_999: ["num_900", AND, "num_90", AND, "num_9", "num_million", AND,
                  "num_900", AND, "num_90", AND, "num_9", "num_thousand", AND,
                  "num_900", AND, "num_90", AND, "num_9"],
}


def spoken(keys: list[str]) -> str:
    return " ".join(PROMPTS[key] for key in keys)


# An independent reader: from fragment keys back to the number, refusing any misplaced "و".
VALUES = {f"num_{v}": v for v in [*range(20), *range(20, 100, 10), *range(100, 1000, 100)]}
SCALES = {"num_thousand": 1000, "num_million": 1_000_000}


def add_word(group: int, value: int) -> int:
    """Hundreds first, then tens or one of 10 … 19, then units: nothing repeats a place or comes out of order."""
    if value >= 100:
        assert group == 0, f"hundreds after {group}"
    elif value >= 10:
        assert group % 100 == 0, f"{value} after {group}"
    else:
        assert group % 100 == 0 or (group % 100 >= 20 and group % 10 == 0), f"{value} after {group}"
    return group + value


def read_back(keys: list[str]) -> int:
    assert keys, "nothing said"
    if keys == ["num_0"]:
        return 0
    segments: list[list[str]] = [[]]
    for key in keys:
        if key == AND:
            segments.append([])
        else:
            segments[-1].append(key)
    total, group, last_scale = 0, 0, 10**9
    for segment in segments:
        # between two "و" comes one word, a word and its scale, or "هزار" alone
        assert segment and len(segment) <= 2, f"misplaced و in {keys}"
        *words, last = segment
        if last in SCALES:
            assert SCALES[last] < last_scale, f"scales out of order in {keys}"
            if words:
                group = add_word(group, VALUES[words[0]])
            else:
                assert last == "num_thousand" and group == 0, f"bare scale after a number in {keys}"
            assert (last, group) != ("num_thousand", 1), f"یک هزار instead of هزار in {keys}"
            total += (group or 1) * SCALES[last]
            last_scale, group = SCALES[last], 0
        else:
            assert not words and last != "num_0", f"two numbers without و in {keys}"
            group = add_word(group, VALUES[last])
    return total + group


@pytest.mark.parametrize(("n", "keys"), NUMBERS.items(), ids=[str(n) for n in NUMBERS])
def test_given_a_representative_number_when_said_then_exactly_these_fragments_play(n: int, keys: list[str]) -> None:
    assert say_number(n) == keys


def test_given_1_234_567_when_said_then_the_fragments_read_as_the_persian_number_words() -> None:
    assert spoken(say_number(1_234_567)) == "یک میلیون و دویست و سی و چهار هزار و پانصد و شصت و هفت"
    assert spoken(say_number(1405)) == "هزار و چهارصد و پنج"


@pytest.mark.parametrize("n", [-1, MAX_NUMBER + 1, 10**12])
def test_given_a_negative_or_too_large_number_when_said_then_value_error_is_raised(n: int) -> None:
    with pytest.raises(ValueError):
        say_number(n)


@given(st.integers(min_value=0, max_value=MAX_NUMBER))
def test_for_any_number_in_range_every_fragment_is_in_the_catalog_and_reading_it_back_gives_the_number(
    n: int,
) -> None:
    keys = say_number(n)
    assert set(keys) <= PROMPTS.keys()
    assert read_back(keys) == n


@given(st.integers(min_value=0, max_value=9999))
def test_for_every_small_number_the_reader_agrees_too(n: int) -> None:
    assert read_back(say_number(n)) == n


def test_given_the_reader_when_joins_are_misplaced_then_it_refuses() -> None:
    for wrong in (["num_20", "num_1"], ["num_1", AND, "num_20"], [AND, "num_1"], ["num_20", AND],
                  ["num_2", AND, "num_thousand"], ["num_1", "num_thousand", AND, "num_1", "num_million"],
                  ["num_1", "num_thousand"], ["num_million"], ["num_3", AND, "num_20"], ["num_10", AND, "num_5"]):
        with pytest.raises(AssertionError):
            read_back(wrong)


def test_given_digits_when_said_then_each_digit_is_one_fragment_in_order() -> None:
    assert say_digits("0903") == ["num_0", "num_9", "num_0", "num_3"]


@pytest.mark.parametrize("digits", ["", "12a", "۱۲", "1 2", "-1"])
def test_given_anything_but_ascii_digits_when_said_digit_by_digit_then_value_error_is_raised(digits: str) -> None:
    with pytest.raises(ValueError):
        say_digits(digits)


def test_given_a_tracking_code_when_said_then_three_groups_of_three_digits_are_separated_by_a_short_pause() -> None:
    assert say_tracking_code("123456780") == [
        "num_1", "num_2", "num_3", "pause_short",
        "num_4", "num_5", "num_6", "pause_short",
        "num_7", "num_8", "num_0",
    ]


@pytest.mark.parametrize("code", ["12345678", "1234567890", "123-45678", "۱۲۳۴۵۶۷۸۹", "12345678x"])
def test_given_anything_but_nine_ascii_digits_when_said_as_a_tracking_code_then_value_error_is_raised(
    code: str,
) -> None:
    with pytest.raises(ValueError):
        say_tracking_code(code)


def test_given_16_november_2026_when_said_as_a_date_then_it_is_the_twenty_fifth_of_aban_1405() -> None:
    when = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    assert jdatetime.date.fromgregorian(date=when.date()) == jdatetime.date(1405, 8, 25)
    assert say_jalali_date(when) == ["num_20", AND, "ordinal_5", "month_8", *say_number(1405)]
    assert spoken(say_jalali_date(when)) == "بیست و پنجم آبان هزار و چهارصد و پنج"


def test_given_an_evening_in_utc_that_is_already_tomorrow_in_tehran_when_said_then_the_tehran_date_is_used() -> None:
    assert say_jalali_date(datetime(2026, 11, 16, 20, 31, tzinfo=UTC)) == [
        "num_20", AND, "ordinal_6", "month_8", *say_number(1405)]


def test_given_the_minutes_around_nowruz_1405_when_said_then_the_year_changes_at_tehran_midnight() -> None:
    # Nowruz 1405 is 21 March 2026 (the equinox, 14:46 UTC on the 20th, falls after Tehran noon); Tehran is UTC+3:30.
    assert say_jalali_date(datetime(2026, 3, 20, 20, 29, tzinfo=UTC)) == [
        "num_20", AND, "ordinal_9", "month_12", *say_number(1404)]
    assert say_jalali_date(datetime(2026, 3, 20, 20, 31, tzinfo=UTC)) == [
        "ordinal_1", "month_1", *say_number(1405)]


def test_given_a_non_utc_aware_datetime_when_said_then_it_is_the_same_instant_in_tehran() -> None:
    instant = datetime(2026, 3, 20, 20, 31, tzinfo=UTC)
    assert say_jalali_date(instant.astimezone(timezone(timedelta(hours=-5)))) == say_jalali_date(instant)


def test_given_a_naive_datetime_when_said_as_a_date_then_value_error_is_raised() -> None:
    with pytest.raises(ValueError):
        say_jalali_date(datetime(2026, 11, 16, 12, 0))


def test_every_month_of_the_year_has_its_name_in_the_catalog() -> None:
    for month in range(1, 13):
        gregorian = jdatetime.date(1405, month, 1).togregorian()
        keys = say_jalali_date(datetime(gregorian.year, gregorian.month, gregorian.day, 12, tzinfo=UTC))
        assert keys == ["ordinal_1", f"month_{month}", *say_number(1405)]
        assert f"month_{month}" in PROMPTS
    assert [PROMPTS[f"month_{m}"] for m in (1, 8, 12)] == ["فروردین", "آبان", "اسفند"]


ORDINAL_DAYS = {
    1: (["ordinal_1"], "یکم"),
    2: (["ordinal_2"], "دوم"),
    3: (["ordinal_3"], "سوم"),
    9: (["ordinal_9"], "نهم"),
    10: (["ordinal_10"], "دهم"),
    19: (["ordinal_19"], "نوزدهم"),
    20: (["ordinal_20"], "بیستم"),
    21: (["num_20", AND, "ordinal_1"], "بیست و یکم"),
    29: (["num_20", AND, "ordinal_9"], "بیست و نهم"),
    30: (["ordinal_30"], "سی‌اُم"),
    31: (["num_30", AND, "ordinal_1"], "سی و یکم"),
}


@pytest.mark.parametrize(("day", "expected"), ORDINAL_DAYS.items())
def test_given_a_day_of_the_month_when_said_then_it_is_the_persian_ordinal(
    day: int, expected: tuple[list[str], str]
) -> None:
    keys, text = expected
    assert say_day_of_month(day) == keys
    assert spoken(say_day_of_month(day)) == text


def test_every_day_of_the_longest_month_is_said_with_fragments_of_the_catalog() -> None:
    for day in range(1, 32):
        assert all(key in PROMPTS for key in say_day_of_month(day)), day
        assert say_day_of_month(day)[-1].startswith("ordinal_"), day


@pytest.mark.parametrize("day", [0, 32, -1])
def test_given_a_day_outside_a_month_when_said_then_value_error_is_raised(day: int) -> None:
    with pytest.raises(ValueError):
        say_day_of_month(day)


def test_given_the_last_day_of_esfand_when_said_then_it_is_the_twenty_ninth() -> None:
    # 29 Esfand 1404 is 20 March 2026 in Tehran.
    assert spoken(say_jalali_date(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))) == "بیست و نهم اسفند هزار و چهارصد و چهار"


def test_given_the_first_of_azar_when_said_then_it_is_yekom_azar() -> None:
    # 1 Azar 1405 is 22 November 2026.
    assert spoken(say_jalali_date(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))) == "یکم آذر هزار و چهارصد و پنج"


DAY, HOUR, MINUTE = 86_400, 3_600, 60


@pytest.mark.parametrize(("seconds", "count", "unit"), [
    (3 * DAY, 3, "word_day"),
    (3 * DAY + 11 * HOUR, 3, "word_day"),
    (3 * DAY + 12 * HOUR, 4, "word_day"),
    (DAY, 1, "word_day"),
    (DAY - 1, 24, "word_hour"),
    (5 * HOUR + 29 * MINUTE, 5, "word_hour"),
    (HOUR, 1, "word_hour"),
    (HOUR - 1, 60, "word_minute"),
    (21 * MINUTE + 29, 21, "word_minute"),
    (29, 1, "word_minute"),
    (0, 1, "word_minute"),
    (400 * DAY, 400, "word_day"),
])
def test_given_a_duration_when_said_then_it_is_about_that_many_of_the_largest_whole_unit(
    seconds: int, count: int, unit: str
) -> None:
    assert say_duration(seconds) == ["word_about", *say_number(count), unit]


def test_given_three_days_when_said_then_it_reads_about_three_days() -> None:
    assert spoken(say_duration(3 * DAY)) == "حدود سه روز"


def test_given_a_negative_duration_when_said_then_value_error_is_raised() -> None:
    with pytest.raises(ValueError):
        say_duration(-1)
