"""Masking a citizen's number for onlookers."""

from __future__ import annotations

import pytest

from callcenter.privacy import masked_number


@pytest.mark.parametrize(("number", "shown"), [
    ("09121234567", "***4567"), ("+989121234567", "***4567"), ("4567", "***"), ("12", "***"), ("", ""),
    (None, None),
])
def test_given_a_number_when_masked_then_only_its_last_four_digits_remain(number: str | None,
                                                                          shown: str | None) -> None:
    assert masked_number(number) == shown
