"""When the citizen lines are staffed: weekly opening windows in Tehran time, closed on official Jalali holidays."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jdatetime

from callcenter.platform.calendar import TEHRAN, in_tehran, jalali_date, jalali_day
from callcenter.platform.persian import ascii_digits

HOLIDAYS_FILE = Path(__file__).resolve().parent / "data" / "holidays.toml"
ALWAYS_OPEN = "24/7"
# The Iranian week, Saturday first; a day's index here is also jdatetime's weekday().
DAY_NAMES: tuple[str, ...] = ("sat", "sun", "mon", "tue", "wed", "thu", "fri")
SEARCH_DAYS = 30
# The official weekly rest day: never a working day, whatever the hours say.
FRIDAY = DAY_NAMES.index("fri")
MINUTES_PER_DAY = 24 * 60

_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_HOLIDAY_KEY = re.compile(r"(\d{2})-(\d{2})")
_YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True, order=True)
class Window:
    """One opening window of a day in local wall-clock minutes: ``start`` inclusive, ``end`` exclusive."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"window {self} must satisfy 00:00 <= start < end <= 24:00")

    def __str__(self) -> str:
        return f"{_format_minutes(self.start)}-{_format_minutes(self.end)}"


@dataclass(frozen=True)
class ServiceHours:
    """Parsed service hours; build it with :func:`parse_service_hours`.

    ``week`` holds seven tuples of sorted, non-overlapping windows, Saturday first. ``always_open`` (the
    "24/7" setting) ignores both the week and the holidays.
    """

    always_open: bool
    week: tuple[tuple[Window, ...], ...] = field(default=((),) * len(DAY_NAMES))
    holidays: frozenset[jdatetime.date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.week) != len(DAY_NAMES):
            raise ValueError(f"service hours need {len(DAY_NAMES)} days of windows, got {len(self.week)}")

    def is_holiday(self, at: datetime) -> bool:
        """Whether ``at`` falls on a listed holiday (the whole Jalali day in Tehran)."""
        return jalali_date(at) in self.holidays

    def is_working_day(self, day: date) -> bool:
        """Whether the municipality works on this Gregorian calendar day (Tehran): never on a Friday or a listed
        holiday, and not on a weekday the hours leave without windows (a Thursday with "sat-wed ..."). "24/7"
        keeps the lines open every day, but not the offices: it says nothing about a weekday, so Saturday to
        Thursday work."""
        index = _day_index(datetime(day.year, day.month, day.day))
        if index == FRIDAY or jalali_day(day) in self.holidays:
            return False
        return self.always_open or bool(self.week[index])

    def is_open(self, at: datetime) -> bool:
        """Whether the lines are staffed at the aware moment ``at``."""
        local = in_tehran(at)
        if self.always_open:
            return True
        if jalali_day(local.date()) in self.holidays:
            return False
        minute = _minutes_since_midnight(local)
        return any(window.start <= minute < window.end for window in self.week[_day_index(local)])

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment from ``at`` on when the lines are staffed, in UTC.

        ``at`` itself when open now; None for "24/7" (never closed) or when nothing opens within
        ``SEARCH_DAYS`` days (a week with no windows, or a long run of holidays).
        """
        local = in_tehran(at)
        if self.always_open:
            return None
        if self.is_open(at):
            return at.astimezone(UTC)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(SEARCH_DAYS + 1):
            day = (midnight + timedelta(days=offset)).date()
            if jalali_day(day) in self.holidays:
                continue
            # Wall-clock arithmetic: a fresh local midnight per day, then the window's minutes.
            day_start = datetime(day.year, day.month, day.day, tzinfo=TEHRAN)
            for window in self.week[_day_index(day_start)]:
                opening = day_start + timedelta(minutes=window.start)
                if opening > local:
                    return opening.astimezone(UTC)
        return None


def parse_service_hours(spec: str, holidays: Iterable[jdatetime.date] = ()) -> ServiceHours:
    """Parse a setting like ``"24/7"`` or ``"sat-wed 07:30-19:00; thu 07:30-13:00"``.

    Clauses are separated by ``;``, each ``DAYS WINDOWS``. DAYS is a day (``sat`` ... ``fri``), a range in
    Iranian week order that may wrap (``thu-sat``), or a comma list of those (``sat,mon-tue``). WINDOWS is
    ``HH:MM-HH:MM`` or a comma list of them; ``24:00`` is allowed as an end. Windows of the same day are
    merged. Anything else raises ValueError naming the bad part.
    """
    holiday_set = frozenset(holidays)
    text = " ".join(ascii_digits(spec).lower().split())
    if text == ALWAYS_OPEN:
        return ServiceHours(always_open=True, holidays=holiday_set)
    if not text:
        raise ValueError(f"service hours are empty; use {ALWAYS_OPEN!r} or e.g. 'sat-wed 07:30-19:00'")
    days: list[list[Window]] = [[] for _ in DAY_NAMES]
    for clause in (part.strip() for part in text.split(";")):
        if not clause:
            raise ValueError(f"service hours {spec!r} have an empty part between ';'")
        day_part, _, windows_part = clause.partition(" ")
        if not windows_part:
            raise ValueError(f"service hours part {clause!r} needs days and times, e.g. 'sat-wed 07:30-19:00'")
        windows = _parse_windows(windows_part.replace(" ", ""), clause)
        for index in _parse_days(day_part, clause):
            days[index].extend(windows)
    return ServiceHours(always_open=False, week=tuple(_merge(windows) for windows in days), holidays=holiday_set)


def load_holidays(path: Path | None = None) -> frozenset[jdatetime.date]:
    """The holiday dates of a holidays TOML file (default: the shipped ``data/holidays.toml``)."""
    return frozenset(load_holiday_names(path))


def load_holiday_names(path: Path | None = None) -> dict[jdatetime.date, str]:
    """Each holiday of a holidays TOML file with its Persian name; ValueError for a malformed entry."""
    source = HOLIDAYS_FILE if path is None else path
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"holidays file {source} is not valid TOML: {error}") from error
    names: dict[jdatetime.date, str] = {}
    for year_key, table in data.items():
        if not _YEAR.fullmatch(year_key):
            raise ValueError(f"holidays file {source}: table [{year_key}] is not a four-digit Jalali year")
        if not isinstance(table, Mapping):
            raise ValueError(f'holidays file {source}: [{year_key}] must be a table of "MM-DD" = "name"')
        for day_key, name in table.items():
            names[_holiday_date(source, int(year_key), day_key, name)] = name
    return names


def _holiday_date(source: Path, year: int, key: str, name: object) -> jdatetime.date:
    where = f"holidays file {source}: [{year}] {key!r}"
    match = _HOLIDAY_KEY.fullmatch(key)
    if match is None:
        raise ValueError(f'{where} is not a "MM-DD" date')
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} needs a holiday name as a non-empty string")
    try:
        return jdatetime.date(year, int(match[1]), int(match[2]))
    except ValueError as error:
        raise ValueError(f"{where} is not a Jalali date: {error}") from error


def _parse_days(text: str, clause: str) -> list[int]:
    indexes: list[int] = []
    for item in text.split(","):
        first_name, dash, last_name = item.partition("-")
        first = _day_index_of(first_name, clause)
        if not dash:
            indexes.append(first)
            continue
        last = _day_index_of(last_name, clause)
        if last == first:
            raise ValueError(f"day range {item!r} in {clause!r} starts and ends on the same day")
        length = (last - first) % len(DAY_NAMES) + 1
        indexes.extend((first + step) % len(DAY_NAMES) for step in range(length))
    return indexes


def _day_index_of(name: str, clause: str) -> int:
    if name not in DAY_NAMES:
        raise ValueError(f"unknown day {name!r} in {clause!r}; days are {' '.join(DAY_NAMES)}")
    return DAY_NAMES.index(name)


def _parse_windows(text: str, clause: str) -> list[Window]:
    windows: list[Window] = []
    for item in text.split(","):
        start_text, dash, end_text = item.partition("-")
        if not dash:
            raise ValueError(f"window {item!r} in {clause!r} is not HH:MM-HH:MM")
        start = _parse_time(start_text, item, clause)
        end = _parse_time(end_text, item, clause)
        if start == MINUTES_PER_DAY:
            raise ValueError(f"window {item!r} in {clause!r} starts at 24:00; 24:00 is only an end")
        if end <= start:
            raise ValueError(
                f"window {item!r} in {clause!r} does not end after it starts; split a night at midnight,"
                " e.g. 'fri 19:00-24:00; sat 00:00-07:00'"
            )
        windows.append(Window(start, end))
    return windows


def _parse_time(text: str, item: str, clause: str) -> int:
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"time {text!r} of window {item!r} in {clause!r} is not HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if (hours, minutes) != (24, 0) and (hours > 23 or minutes > 59):
        raise ValueError(f"time {text!r} of window {item!r} in {clause!r} is not a time of day")
    return hours * 60 + minutes


def _merge(windows: list[Window]) -> tuple[Window, ...]:
    """Sorted windows with overlapping or touching ones joined, so each start is a real opening."""
    merged: list[Window] = []
    for window in sorted(windows):
        if merged and window.start <= merged[-1].end:
            merged[-1] = Window(merged[-1].start, max(merged[-1].end, window.end))
        else:
            merged.append(window)
    return tuple(merged)


def _day_index(local: datetime) -> int:
    """Saturday 0 ... Friday 6 (Python's weekday() has Monday 0)."""
    return (local.weekday() + 2) % len(DAY_NAMES)


def _minutes_since_midnight(local: datetime) -> float:
    return local.hour * 60 + local.minute + (local.second + local.microsecond / 1_000_000) / 60


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
