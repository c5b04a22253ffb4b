"""Tracking codes: Verhoeff check digit, parsing what people type, reading aloud."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.platform.errors import InvalidTrackingCode
from callcenter.platform.persian import persian_digits
from callcenter.tickets import tracking_code
from callcenter.tickets.tracking_code import (
    CODE_LENGTH,
    format_for_reading,
    is_valid,
    new_tracking_code,
    parse_tracking_code,
    verhoeff_check_digit,
)
from tests.support.hypothesis_profiles import examples

bodies = st.builds(
    lambda first, rest: str(first) + "".join(map(str, rest)),
    st.integers(1, 9),
    st.lists(st.integers(0, 9), min_size=CODE_LENGTH - 2, max_size=CODE_LENGTH - 2),
)
codes = bodies.map(lambda body: body + verhoeff_check_digit(body))


def test_given_the_textbook_verhoeff_example_when_computing_its_check_digit_then_it_is_three() -> None:
    assert verhoeff_check_digit("236") == "3"
    assert is_valid("2363")
    assert not is_valid("2364")


def test_given_many_new_codes_when_inspecting_them_then_each_is_nine_valid_digits_not_starting_with_zero() -> None:
    for _ in range(500):
        code = new_tracking_code()
        assert len(code) == CODE_LENGTH
        assert code.isdigit()
        assert code[0] != "0"
        assert is_valid(code)
        assert parse_tracking_code(code) == code


def test_given_the_random_source_always_draws_zero_when_making_a_code_then_the_first_digit_is_still_non_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracking_code.secrets, "randbelow", lambda _n: 0)
    code = new_tracking_code()
    assert code[0] != "0"
    assert is_valid(code)


@settings(max_examples=examples(200), deadline=None)
@given(codes)
def test_given_a_single_digit_typo_when_parsing_tracking_code_then_it_is_rejected(code: str) -> None:
    for position in range(len(code)):
        for digit in "0123456789":
            if digit == code[position]:
                continue
            typo = code[:position] + digit + code[position + 1 :]
            assert not is_valid(typo), typo
            with pytest.raises(InvalidTrackingCode):
                parse_tracking_code(typo)


@settings(max_examples=examples(200), deadline=None)
@given(codes)
def test_given_two_adjacent_digits_swapped_when_parsing_tracking_code_then_it_is_rejected(code: str) -> None:
    for position in range(len(code) - 1):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        swapped = code[:position] + b + a + code[position + 2 :]
        assert not is_valid(swapped), swapped
        with pytest.raises(InvalidTrackingCode):
            parse_tracking_code(swapped)


@settings(max_examples=examples(50), deadline=None)
@given(codes)
def test_given_persian_digits_with_spaces_and_dashes_when_parsing_then_the_ascii_code_comes_back(code: str) -> None:
    typed = f" {persian_digits(code[:3])}-{persian_digits(code[3:6])} {persian_digits(code[6:])} "
    assert parse_tracking_code(typed) == code


def test_given_arabic_indic_digits_when_parsing_then_they_are_accepted() -> None:
    code = new_tracking_code()
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert parse_tracking_code(arabic) == code


@pytest.mark.parametrize("raw", ["", "12345678", "1234567890", "۱۲۳۴۵۶۷۸", "12a456789", "123 456 78x"])
def test_given_a_wrong_length_or_non_digits_when_parsing_then_invalid_tracking_code_is_raised(raw: str) -> None:
    with pytest.raises(InvalidTrackingCode) as caught:
        parse_tracking_code(raw)
    assert caught.value.error_id == "invalid-tracking-code"
    assert caught.value.status_code == 422
    assert caught.value.as_dict()["error_id"] == "invalid-tracking-code"


def test_given_a_nine_digit_code_when_formatting_for_reading_then_it_is_grouped_three_three_three() -> None:
    assert format_for_reading("123456789") == "123-456-789"
