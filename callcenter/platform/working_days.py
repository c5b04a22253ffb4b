"""Working days of the municipality's offices: every day but Friday and the official Jalali holidays, counted in
Tehran (ADR 0064). A deadline of N working days ends at Tehran midnight after the Nth working day."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime, timedelta

import jdatetime

from callcenter.platform.calendar import in_tehran, jalali_day, tehran_midnight

FRIDAY = 6  # jdatetime's weekday(): Saturday is 0


def is_working_day(day: jdatetime.date, holidays: Set[jdatetime.date]) -> bool:
    return day.weekday() != FRIDAY and day not in holidays


def working_days_after(start: datetime, days: int, holidays: Set[jdatetime.date]) -> datetime:
    """The end of the ``days``-th working day after the day of ``start`` (that day itself not counted), as aware
    UTC: a complaint filed on Saturday with two working days is due at the end of Monday."""
    if days < 1:
        raise ValueError(f"a deadline needs at least one working day, not {days}")
    day = in_tehran(start).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(jalali_day(day), holidays):
            counted += 1
    return tehran_midnight(day + timedelta(days=1))
