"""The inspection office's complaint analytics for a span of Jalali months, every figure grouped in the database.

Definitions (ADR 0074); a complaint belongs to the period when it was filed (``created_at``, stored in UTC) in one
of its Jalali months as Tehran's calendar has them, and counts only if ``access.counted_for`` lets the reader count
it. No figure carries a complaint's text, tracking code or complainant.

- counts: complaints per target unit × ground × month (the heatmap and the trends are sums of these cells).
- repeat complaints: a target unit with at least 2 complaints in the period; a person with at least 2, the same
  person being the same personnel code in the same unit or, without a code, the same (stored, normalised) name in
  the same unit.
- time to result: days from ``created_at`` to ``closed_at`` of the period's complaints that reached a final status
  (closed, referred, rejected); median and p90 as the scorecard computes them (``quantile_ranks``); the others are
  still open.
- delay complaints (ground ``delay``) per unit, next to the unit's 137 on-time rate: the scorecard's own, for the
  whole period and for each month (``compute_scorecard``, ``compute_trend``).
- root causes: complaints per tag, and per unit × tag.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from callcenter.complaints import access
from callcenter.platform.calendar import jalali_month_window, previous_jalali_months
from callcenter.platform.errors import ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.reports.scorecard import TrendMonth, compute_scorecard, compute_trend, quantile_ranks
from db.models import Complaint, ComplaintGround, ComplaintRootCause, RootCauseTag, Unit, User

MAX_MONTHS = 24  # two years side by side is as far as a heatmap stays readable
REPEAT_THRESHOLD = 2
SECONDS_PER_DAY = 86_400.0


class CubeCell(BaseModel):
    """Complaints about one unit on one ground filed in one month of the period (``month`` indexes ``months``)."""

    unit_id: int
    ground: ComplaintGround
    month: int
    complaints: int


class UnitCounts(BaseModel):
    """One row of the heatmap: a unit's complaints per ground and per month over the period."""

    unit_id: int
    unit_name: str
    total: int
    by_ground: dict[ComplaintGround, int]
    by_month: list[int]


class RepeatUnit(BaseModel):
    unit_id: int
    unit_name: str
    complaints: int


class RepeatPerson(BaseModel):
    """A person complained about at least twice; identified by personnel code when given, else by name."""

    unit_id: int
    unit_name: str
    personnel_code: str | None
    person_name: str | None
    complaints: int


class GroundTiming(BaseModel):
    ground: ComplaintGround
    finished: int
    still_open: int
    median_days: float | None
    p90_days: float | None


class DelayMonth(BaseModel):
    delay_complaints: int
    on_time_rate: float | None


class UnitDelay(BaseModel):
    """A unit's delay complaints beside its 137 on-time rate (the scorecard's), for the period and month by month."""

    unit_id: int
    unit_name: str
    delay_complaints: int
    on_time: int
    late: int
    on_time_rate: float | None
    months: list[DelayMonth]


class TagCount(BaseModel):
    tag_id: int
    tag_name: str
    complaints: int


class UnitTagCount(BaseModel):
    unit_id: int
    unit_name: str
    tag_id: int
    tag_name: str
    complaints: int


class ComplaintAnalytics(BaseModel):
    """Every figure of the analytics page for ``months`` (oldest first), as of ``generated_at``."""

    generated_at: datetime
    months: list[TrendMonth]
    total: int
    cells: list[CubeCell]
    units: list[UnitCounts]
    grounds: list[ComplaintGround]  # the grounds with a complaint in the period, in the form's order
    ground_trend: dict[ComplaintGround, list[int]]
    month_totals: list[int]
    repeat_units: list[RepeatUnit]
    repeat_persons: list[RepeatPerson]
    time_to_result: list[GroundTiming]
    delays: list[UnitDelay]
    root_causes: list[TagCount]
    root_causes_by_unit: list[UnitTagCount]


def period_months(first: tuple[int, int], last: tuple[int, int]) -> list[TrendMonth]:
    """The Jalali months from ``first`` to ``last`` (year, month), both included, with their UTC windows."""
    count = (last[0] * 12 + last[1]) - (first[0] * 12 + first[1]) + 1
    if count < 1:
        raise ValidationFailed("ماه آغاز باید پیش از ماه پایان یا همان ماه باشد.", field="from")
    if count > MAX_MONTHS:
        raise ValidationFailed(f"بازه حداکثر {persian_digits(MAX_MONTHS)} ماه است.", field="from")
    months = []
    for year, month in previous_jalali_months(last[0], last[1], count):
        start, end = jalali_month_window(year, month)
        months.append(TrendMonth(year=year, month=month, start=start, end=end))
    return months


def compute_analytics(session: Session, user: User, *, months: list[TrendMonth], now: datetime) -> ComplaintAnalytics:
    """The figures of the complaints ``user`` may count that were filed in ``months``."""
    scope = sa.and_(access.counted_for(session, user), col(Complaint.created_at) >= months[0].start,
                    col(Complaint.created_at) < months[-1].end)
    cells = _cube(session, scope, months)
    names = _unit_names(session, {cell.unit_id for cell in cells})
    grounds = [ground for ground in ComplaintGround if any(cell.ground == ground for cell in cells)]
    ground_trend = {ground: [0] * len(months) for ground in grounds}
    for cell in cells:
        ground_trend[cell.ground][cell.month] += cell.complaints
    return ComplaintAnalytics(
        generated_at=now, months=months, total=sum(cell.complaints for cell in cells), cells=cells,
        units=_unit_rows(cells, names, len(months)), grounds=grounds, ground_trend=ground_trend,
        month_totals=[sum(trend[index] for trend in ground_trend.values()) for index in range(len(months))],
        repeat_units=_repeat_units(cells, names),
        repeat_persons=_repeat_persons(session, scope, names),
        time_to_result=_time_to_result(session, scope),
        delays=_delays(session, cells, names, months, now),
        root_causes=_root_causes(session, scope),
        root_causes_by_unit=_root_causes_by_unit(session, scope, names),
    )


def _month_index(months: list[TrendMonth]) -> sa.ColumnElement[int]:
    """Which month of the period a complaint was filed in, from the months' UTC windows (so the database needs no
    Jalali calendar of its own)."""
    return sa.case(*((sa.and_(col(Complaint.created_at) >= month.start, col(Complaint.created_at) < month.end), index)
                     for index, month in enumerate(months)), else_=None)


def _cube(session: Session, scope: sa.ColumnElement[bool], months: list[TrendMonth]) -> list[CubeCell]:
    # Grouped in an outer query over a labelled column: PostgreSQL would not match the CASE with its bound window
    # parameters in SELECT to the same CASE in GROUP BY.
    filed = (select(col(Complaint.target_unit_id).label("unit_id"), col(Complaint.ground).label("ground"),
                    _month_index(months).label("month"))
             .where(scope).subquery())
    rows = session.exec(
        select(filed.c.unit_id, filed.c.ground, filed.c.month, func.count())
        .where(filed.c.month.is_not(None))
        .group_by(filed.c.unit_id, filed.c.ground, filed.c.month)
    ).all()
    return sorted((CubeCell(unit_id=unit_id, ground=ComplaintGround(ground), month=month, complaints=count)
                   for unit_id, ground, month, count in rows),
                  key=lambda cell: (cell.unit_id, list(ComplaintGround).index(cell.ground), cell.month))


def _unit_names(session: Session, unit_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(unit_ids)
    if not ids:
        return {}
    return {unit_id: name for unit_id, name in session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(ids)))
            if unit_id is not None}


def _by_count(rows: Iterable[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """Most complaints first, then by unit name and id: the order every per-unit list of the page keeps."""
    return sorted(rows, key=lambda row: (-row[2], row[1], row[0]))


def _unit_rows(cells: list[CubeCell], names: dict[int, str], month_count: int) -> list[UnitCounts]:
    by_ground: defaultdict[int, dict[ComplaintGround, int]] = defaultdict(dict)
    by_month: defaultdict[int, list[int]] = defaultdict(lambda: [0] * month_count)
    for cell in cells:
        by_ground[cell.unit_id][cell.ground] = by_ground[cell.unit_id].get(cell.ground, 0) + cell.complaints
        by_month[cell.unit_id][cell.month] += cell.complaints
    totals = _by_count((unit_id, names.get(unit_id, ""), sum(counts)) for unit_id, counts in by_month.items())
    return [UnitCounts(unit_id=unit_id, unit_name=name, total=total, by_ground=by_ground[unit_id],
                       by_month=by_month[unit_id]) for unit_id, name, total in totals]


def _repeat_units(cells: list[CubeCell], names: dict[int, str]) -> list[RepeatUnit]:
    totals: defaultdict[int, int] = defaultdict(int)
    for cell in cells:
        totals[cell.unit_id] += cell.complaints
    return [RepeatUnit(unit_id=unit_id, unit_name=name, complaints=count)
            for unit_id, name, count in _by_count((u, names.get(u, ""), c) for u, c in totals.items())
            if count >= REPEAT_THRESHOLD]


def _repeat_persons(session: Session, scope: sa.ColumnElement[bool], names: dict[int, str]) -> list[RepeatPerson]:
    code = func.nullif(func.trim(col(Complaint.target_personnel_code)), "")
    name = func.nullif(func.trim(col(Complaint.target_person_name)), "")
    people = (select(col(Complaint.target_unit_id).label("unit_id"), code.label("code"),
                     sa.case((code.is_(None), name), else_=None).label("name_key"), name.label("name"))
              .where(scope).subquery())
    rows = session.execute(
        sa.select(people.c.unit_id, people.c.code, people.c.name_key, func.max(people.c.name), func.count())
        .where(sa.or_(people.c.code.is_not(None), people.c.name_key.is_not(None)))
        .group_by(people.c.unit_id, people.c.code, people.c.name_key)
        .having(func.count() >= REPEAT_THRESHOLD)
    ).all()
    found = [RepeatPerson(unit_id=unit_id, unit_name=names.get(unit_id, ""), personnel_code=person_code,
                          person_name=shown_name, complaints=count)
             for unit_id, person_code, _name_key, shown_name, count in rows]
    return sorted(found, key=lambda p: (-p.complaints, p.unit_name, p.unit_id, p.personnel_code or "",
                                        p.person_name or ""))


def _days_to_result(session: Session) -> sa.ColumnElement[Any]:
    """Days from filing to the final status, as a number the database computes (each dialect its own way)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(col(Complaint.closed_at)) - func.julianday(col(Complaint.created_at))
    return sa.extract("epoch", col(Complaint.closed_at) - col(Complaint.created_at)) / SECONDS_PER_DAY


QUANTILES = (0.5, 0.9)


def _time_to_result(session: Session, scope: sa.ColumnElement[bool]) -> list[GroundTiming]:
    counts = session.exec(
        select(Complaint.ground, func.count(), func.count(col(Complaint.closed_at)))
        .where(scope).group_by(col(Complaint.ground))
    ).all()
    quantiles = _quantile_days(session, scope)
    by_ground = {ComplaintGround(ground): (total, finished) for ground, total, finished in counts}
    return [GroundTiming(ground=ground, finished=finished, still_open=total - finished,
                         median_days=quantiles.get((ground, 0.5)), p90_days=quantiles.get((ground, 0.9)))
            for ground in ComplaintGround if ground in by_ground
            for total, finished in (by_ground[ground],)]


def _quantile_days(session: Session, scope: sa.ColumnElement[bool]) -> dict[tuple[ComplaintGround, float], float]:
    """Median and p90 of the days to result per ground; the database ranks the values and returns only those
    next to each quantile's rank, which ``quantile_ranks`` then interpolates as the scorecard does."""
    days = _days_to_result(session).label("days")
    ranked = (select(col(Complaint.ground).label("ground"), days,
                     (func.row_number().over(partition_by=col(Complaint.ground), order_by=days) - 1).label("rank"),
                     func.count().over(partition_by=col(Complaint.ground)).label("n"))
              .where(scope, col(Complaint.closed_at).is_not(None)).subquery())
    near_a_quantile = sa.or_(*(sa.and_(ranked.c.rank >= fraction * (ranked.c.n - 1) - 1,
                                       ranked.c.rank <= fraction * (ranked.c.n - 1) + 1) for fraction in QUANTILES))
    rows = session.exec(select(ranked.c.ground, ranked.c.rank, ranked.c.n, ranked.c.days).where(near_a_quantile)).all()
    values: defaultdict[ComplaintGround, dict[int, float]] = defaultdict(dict)
    sizes: dict[ComplaintGround, int] = {}
    for ground, rank, size, value in rows:
        values[ComplaintGround(ground)][int(rank)] = float(value)
        sizes[ComplaintGround(ground)] = int(size)
    result: dict[tuple[ComplaintGround, float], float] = {}
    for ground, size in sizes.items():
        for fraction in QUANTILES:
            below, above, weight = quantile_ranks(size, fraction)
            low, high = values[ground][below], values[ground][above]
            result[(ground, fraction)] = low + (high - low) * weight
    return result


def _delays(session: Session, cells: list[CubeCell], names: dict[int, str], months: list[TrendMonth],
            now: datetime) -> list[UnitDelay]:
    delay_months: defaultdict[int, list[int]] = defaultdict(lambda: [0] * len(months))
    for cell in cells:
        if cell.ground == ComplaintGround.DELAY:
            delay_months[cell.unit_id][cell.month] += cell.complaints
    if not delay_months:
        return []
    card = {unit.unit_id: unit for unit in
            compute_scorecard(session, start=months[0].start, end=months[-1].end, now=now).units}
    trend = {unit.unit_id: unit.points for unit in
             compute_trend(session, year=months[-1].year, month=months[-1].month, months=len(months), now=now).units}
    ordered = _by_count((unit_id, names.get(unit_id, ""), sum(counts)) for unit_id, counts in delay_months.items())
    delays = []
    for unit_id, name, count in ordered:
        score = card.get(unit_id)
        points = trend.get(unit_id, [None] * len(months))
        delays.append(UnitDelay(
            unit_id=unit_id, unit_name=name, delay_complaints=count,
            on_time=0 if score is None else score.on_time, late=0 if score is None else score.late,
            on_time_rate=None if score is None else score.on_time_rate,
            months=[DelayMonth(delay_complaints=delay_months[unit_id][index],
                               on_time_rate=None if point is None else point.on_time_rate)
                    for index, point in enumerate(points)]))
    return delays


def _root_causes(session: Session, scope: sa.ColumnElement[bool]) -> list[TagCount]:
    rows = session.exec(
        select(RootCauseTag.id, RootCauseTag.name, func.count())
        .join(ComplaintRootCause, col(ComplaintRootCause.tag_id) == col(RootCauseTag.id))
        .join(Complaint, col(Complaint.id) == col(ComplaintRootCause.complaint_id))
        .where(scope).group_by(col(RootCauseTag.id), col(RootCauseTag.name))
    ).all()
    return [TagCount(tag_id=tag_id, tag_name=name, complaints=count)
            for tag_id, name, count in _by_count((t, n, c) for t, n, c in rows if t is not None)]


def _root_causes_by_unit(session: Session, scope: sa.ColumnElement[bool],
                         names: dict[int, str]) -> list[UnitTagCount]:
    rows = session.exec(
        select(Complaint.target_unit_id, RootCauseTag.id, RootCauseTag.name, func.count())
        .join(ComplaintRootCause, col(ComplaintRootCause.complaint_id) == col(Complaint.id))
        .join(RootCauseTag, col(RootCauseTag.id) == col(ComplaintRootCause.tag_id))
        .where(scope).group_by(col(Complaint.target_unit_id), col(RootCauseTag.id), col(RootCauseTag.name))
    ).all()
    found = [UnitTagCount(unit_id=unit_id, unit_name=names.get(unit_id, ""), tag_id=tag_id, tag_name=tag_name,
                          complaints=count) for unit_id, tag_id, tag_name, count in rows if tag_id is not None]
    return sorted(found, key=lambda row: (row.unit_name, row.unit_id, -row.complaints, row.tag_name))
