"""Persian text normalisation and phone numbers."""

from __future__ import annotations

import pytest

from callcenter.platform.persian import ascii_digits, normalize_phone_number, normalize_text, persian_digits


def test_given_arabic_yeh_and_kaf_when_normalizing_text_then_persian_letters_are_stored() -> None:
    assert normalize_text("علي كريمي") == "علی کریمی"
    assert normalize_text("مصطفى") == "مصطفی"


def test_given_persian_and_arabic_digits_when_normalizing_text_then_they_become_ascii() -> None:
    assert normalize_text("پلاک ۱۲۳ واحد ٤٥") == "پلاک 123 واحد 45"


def test_given_runs_of_whitespace_when_normalizing_text_then_they_fold_to_one_space_and_ends_are_trimmed() -> None:
    assert normalize_text("  خیابان \t\n  امام   ") == "خیابان امام"


def test_given_direction_marks_when_normalizing_text_then_they_are_removed() -> None:
    assert normalize_text("\u200fسلام\u200e") == "سلام"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\ud800"])
def test_given_a_control_character_or_lone_surrogate_when_normalizing_text_then_it_is_dropped(control: str) -> None:
    assert normalize_text(f"چراغ{control} خاموش{control}[31m") == "چراغ خاموش[31m"


def test_given_a_zero_width_non_joiner_when_normalizing_text_then_it_is_kept() -> None:
    assert normalize_text("می\u200cخواهم") == "می\u200cخواهم"  # part of Persian spelling, not a control


def test_given_only_whitespace_when_normalizing_text_then_the_result_is_empty() -> None:
    assert normalize_text(" \n\t ") == ""


def test_given_ascii_digits_when_formatting_for_display_then_persian_digits_are_shown() -> None:
    assert persian_digits(1403) == "۱۴۰۳"
    assert persian_digits("کد 12-34") == "کد ۱۲-۳۴"


def test_given_persian_digits_when_converting_to_ascii_then_other_characters_are_kept() -> None:
    assert ascii_digits("ساعت ۱۰:۳۰") == "ساعت 10:30"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+989121234567", "09121234567"),
        ("+98 912 123 4567", "09121234567"),
        ("00989121234567", "09121234567"),
        ("۰۹۱۲۱۲۳۴۵۶۷", "09121234567"),
        ("+۹۸۹۱۲۱۲۳۴۵۶۷", "09121234567"),
        ("0912-123-4567", "09121234567"),
        ("02833334444", "02833334444"),
        ("1001", "1001"),
        ("", ""),
    ],
)
def test_given_a_caller_number_in_any_written_form_when_normalizing_then_the_national_form_is_returned(
    raw: str, expected: str
) -> None:
    assert normalize_phone_number(raw) == expected
