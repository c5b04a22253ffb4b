"""The evaluation scorecard (کارنامه ارزیابی): how each unit handled the tickets referred to it in a period.

Everything is read from the append-only ``ticket_transition`` history, so the figures can be recomputed for any
past period. Definitions (also in docs/spec/scorecard.md); rates are fractions 0..1 (the page
shows them as percentages), times are hours, and a ratio whose denominator is 0 is None ("no data"):

- A receipt is one referral (refer or re_refer) to a unit whose time is in [start, end); tickets referred before
  the period are not counted, not even their later steps. A receipt lasts until the ticket leaves the unit
  (re-referred to another unit, declined back to the call centre, cancelled) or until ``now``; steps after
  ``now`` are ignored. A re-referral is a receipt of the new unit; the old unit keeps its own receipt, which
  counts in ``left_before_done`` if it had not reported the work done. A ticket referred to the same unit twice
  (declined, then referred back) is two receipts: the unit had two deadlines.
- Deadline = referral time + the ticket's category ``sla_hours``. On time = the first report_done of the receipt
  at or before the deadline; late = reported after it, or not reported while the deadline passed with the ticket
  still at the unit (open at ``now``, or left the unit after its deadline). A receipt neither reported nor past
  its deadline is not judged yet; nor is one that left the unit before its deadline.
  on_time_rate = on time ÷ (on time + late).
- Time to done: hours from the referral to the first report_done of the receipt; median and p90 by linear
  interpolation between the closest ranks (the "inclusive" method: rank p·(n−1) of the sorted values).
- verification_pass_rate = verify_resolved ÷ (verify_resolved + verify_not_resolved), every verification call
  during the unit's receipts. reopen_rate = receipts reopened at least once (verify_not_resolved) ÷ receipts
  reported done.
- Field-supervisor verdicts during the unit's receipts: against the unit = citizen_right + partly; for it =
  unit_right.
- citizen_satisfaction = receipts whose last verification answer was "resolved" ÷ receipts with at least one
  verification answer. It differs from the pass rate on purpose: a ticket reopened and then fixed lowers the pass
  rate (the first report was premature) but ends with a satisfied citizen; a ticket closed on a unit_right
  verdict ends with a citizen who said it was not resolved.
- received by channel: the receipts split by the channel the ticket came in by (callcenter/tickets/channels.py);
  the scorecard's own ``received_by_channel`` is the sum over its units.
- score = mean of the available ones of on_time_rate, verification_pass_rate and 1 − reopen_rate, rounded to
  4 decimals so that equal performances tie exactly; rank 1 is the highest score, units without a score come
  last, and ties (of score, or of having none) are broken by unit name, then id.

Where the figures are read from (ADR 0082): ``compute_scorecard`` reads the unit receipts, one summary row per
referral kept by the lifecycle (callcenter/tickets/unit_receipts.py), as one indexed range of the period: counts
summed in SQL, the two ranks each quantile needs fetched by a window query, and the "now"-dependent punctuality of
receipts still open compared with ``now`` in the same query. ``compute_scorecard_from_history`` walks the steps
themselves and is the reference the summaries are proven against; it also answers a scorecard asked as of a
moment before some step of the period's receipts (the summaries hold the present, not the past).

The trend (``compute_trend``) is the same scorecard for the chosen Jalali month and the months before it, each
computed by ``compute_scorecard`` on its own month window with the same ``now``, so a month's point on the trend
is exactly that month's scorecard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from callcenter.platform.calendar import jalali_month_window, previous_jalali_months, require_aware
from callcenter.tickets.channels import ChannelCounts
from callcenter.tickets.unit_receipts import LEAVING as _LEAVING
from callcenter.tickets.unit_receipts import REFERRALS as _REFERRALS
from callcenter.tickets.unit_receipts import VERDICTS_AGAINST as _VERDICTS_AGAINST
from db.models import (
    Category,
    FieldVerdict,
    Ticket,
    TicketAction,
    TicketSource,
    TicketTransition,
    Unit,
    UnitReceipt,
    UTCDateTime,
)

SCORE_DECIMALS = 4


class UnitScore(BaseModel):
    """One unit's line of the scorecard; counts are receipts (referrals to the unit) in the period."""

    unit_id: int
    unit_name: str
    rank: int
    score: float | None
    received: int
    received_by_channel: ChannelCounts
    left_before_done: int
    reported_done: int
    on_time: int
    late: int
    on_time_rate: float | None
    median_hours_to_done: float | None
    p90_hours_to_done: float | None
    verified_resolved: int
    verified_not_resolved: int
    verification_pass_rate: float | None
    reopened: int
    reopen_rate: float | None
    verdicts_against: int
    verdicts_for: int
    citizens_asked: int
    citizens_satisfied: int
    citizen_satisfaction: float | None


class Scorecard(BaseModel):
    """Every unit that received a referral in [start, end), best first, with outcomes as of ``generated_at``."""

    start: datetime
    end: datetime
    generated_at: datetime
    units: list[UnitScore]
    received_by_channel: ChannelCounts


@dataclass
class _Receipt:
    """One referral of a ticket to a unit and what happened while the ticket was there."""

    unit_id: int
    referred_at: datetime
    source: TicketSource
    deadline: datetime | None  # None only if the ticket has no category, which the lifecycle does not allow
    done_at: datetime | None = None
    left_at: datetime | None = None
    resolved: int = 0
    not_resolved: int = 0
    last_answer_resolved: bool | None = None
    verdicts: list[FieldVerdict] = field(default_factory=list)

    def punctuality(self, now: datetime) -> bool | None:
        """True on time, False late, None not judged (still within its deadline, or left the unit in time)."""
        if self.deadline is None:
            return None
        if self.done_at is not None:
            return self.done_at <= self.deadline
        held_until = self.left_at or now
        return False if held_until > self.deadline else None

    def hours_to_done(self) -> float | None:
        return None if self.done_at is None else (self.done_at - self.referred_at).total_seconds() / 3600


def compute_scorecard(session: Session, *, start: datetime, end: datetime, now: datetime) -> Scorecard:
    """The scorecard of every unit that received a referral in [start, end), as of ``now``, from the receipts."""
    return _card_from_receipts(session, start=start, end=end, now=now, quantiles=True)


def compute_scorecard_from_history(session: Session, *, start: datetime, end: datetime,
                                   now: datetime) -> Scorecard:
    """The same scorecard walked from the steps themselves: the reference the receipts are proven against."""
    for moment in (start, end, now):
        require_aware(moment)
    receipts = [receipt for receipt in _receipts(session, start=start, end=end, now=now)
                if start <= receipt.referred_at < end]
    by_unit: defaultdict[int, list[_Receipt]] = defaultdict(list)
    for receipt in receipts:
        by_unit[receipt.unit_id].append(receipt)
    tallies = {unit_id: _tally_of(unit_receipts, now) for unit_id, unit_receipts in by_unit.items()}
    hours = {unit_id: sorted(value for receipt in unit_receipts if (value := receipt.hours_to_done()) is not None)
             for unit_id, unit_receipts in by_unit.items()}
    quantiles = {unit_id: (_quantile(values, 0.5), _quantile(values, 0.9)) for unit_id, values in hours.items()}
    return _card(session, start=start, end=end, now=now, tallies=tallies, quantiles=quantiles)


@dataclass
class _Tally:
    """What a unit's line is made of: counts over its receipts of the period."""

    received: int = 0
    by_channel: list[tuple[TicketSource, int]] = field(default_factory=list)
    left_before_done: int = 0
    reported_done: int = 0
    on_time: int = 0
    late: int = 0
    resolved: int = 0
    not_resolved: int = 0
    reopened: int = 0
    verdicts_against: int = 0
    verdicts_for: int = 0
    citizens_asked: int = 0
    citizens_satisfied: int = 0


def _tally_of(receipts: Sequence[_Receipt], now: datetime) -> _Tally:
    punctuality = [receipt.punctuality(now) for receipt in receipts]
    answers = [receipt.last_answer_resolved for receipt in receipts if receipt.last_answer_resolved is not None]
    verdicts = [verdict for receipt in receipts for verdict in receipt.verdicts]
    sources: defaultdict[TicketSource, int] = defaultdict(int)
    for receipt in receipts:
        sources[receipt.source] += 1
    return _Tally(
        received=len(receipts), by_channel=list(sources.items()),
        left_before_done=sum(1 for receipt in receipts if receipt.done_at is None and receipt.left_at is not None),
        reported_done=sum(1 for receipt in receipts if receipt.done_at is not None),
        on_time=punctuality.count(True), late=punctuality.count(False),
        resolved=sum(receipt.resolved for receipt in receipts),
        not_resolved=sum(receipt.not_resolved for receipt in receipts),
        reopened=sum(1 for receipt in receipts if receipt.not_resolved > 0),
        verdicts_against=sum(1 for verdict in verdicts if verdict in _VERDICTS_AGAINST),
        verdicts_for=verdicts.count(FieldVerdict.UNIT_RIGHT),
        citizens_asked=len(answers), citizens_satisfied=answers.count(True),
    )


Quantiles = tuple[float | None, float | None]  # median and p90 of the hours to done


def _card(session: Session, *, start: datetime, end: datetime, now: datetime, tallies: dict[int, _Tally],
          quantiles: dict[int, Quantiles]) -> Scorecard:
    names = _unit_names(session, tallies)
    scores = [_unit_score(unit_id, names.get(unit_id, ""), tally, quantiles.get(unit_id, (None, None)))
              for unit_id, tally in tallies.items()]
    return Scorecard(start=start, end=end, generated_at=now, units=_ranked(scores),
                     received_by_channel=ChannelCounts.summed(unit.received_by_channel for unit in scores))


def _card_from_receipts(session: Session, *, start: datetime, end: datetime, now: datetime,
                        quantiles: bool) -> Scorecard:
    """The scorecard from the period's range of unit receipts; ``quantiles=False`` leaves median and p90 out (the
    trend shows neither). Falls back to the history when a step of the period's receipts is later than ``now``."""
    for moment in (start, end, now):
        require_aware(moment)
    tallies, latest_step = _tallies_from_receipts(session, start=start, end=end, now=now)
    if latest_step is not None and latest_step > now:
        return compute_scorecard_from_history(session, start=start, end=end, now=now)
    ranks = _quantiles_from_receipts(session, start=start, end=end, tallies=tallies) if quantiles else {}
    return _card(session, start=start, end=end, now=now, tallies=tallies, quantiles=ranks)


def _counted(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _tallies_from_receipts(session: Session, *, start: datetime, end: datetime,
                           now: datetime) -> tuple[dict[int, _Tally], datetime | None]:
    """Each unit's counts over the receipts referred in [start, end), per channel, and the latest step among them.

    Punctuality is the receipt's: reported by the deadline; late if reported after it, or not reported while the
    deadline passed before the ticket left the unit or, still there, before ``now``."""
    receipt = UnitReceipt
    done, deadline, left = col(receipt.done_at), col(receipt.deadline), col(receipt.left_at)
    held_until = sa.func.coalesce(left, sa.literal(now, UTCDateTime()))
    counts: dict[str, sa.ColumnElement[int]] = {  # named as the tally's fields
        "received": sa.func.count(),
        "left_before_done": _counted(sa.and_(done.is_(None), left.is_not(None))),
        "reported_done": sa.func.count(done),
        "on_time": _counted(done <= deadline),
        "late": _counted(sa.or_(done > deadline, sa.and_(done.is_(None), held_until > deadline))),
        "resolved": sa.func.sum(col(receipt.resolved)),
        "not_resolved": sa.func.sum(col(receipt.not_resolved)),
        "reopened": _counted(col(receipt.not_resolved) > 0),
        "verdicts_against": sa.func.sum(col(receipt.verdicts_against)),
        "verdicts_for": sa.func.sum(col(receipt.verdicts_for)),
        "citizens_asked": sa.func.count(col(receipt.last_answer_resolved)),
        "citizens_satisfied": _counted(col(receipt.last_answer_resolved).is_(True)),
    }
    rows = session.execute(
        sa.select(col(receipt.unit_id), col(receipt.source), sa.func.max(col(receipt.last_step_at)),
                  *(expression.label(name) for name, expression in counts.items()))
        .where(col(receipt.referred_at) >= start, col(receipt.referred_at) < end)
        .group_by(col(receipt.unit_id), col(receipt.source))
    ).all()
    tallies: defaultdict[int, _Tally] = defaultdict(_Tally)
    latest: datetime | None = None
    for unit_id, source, last_step, *values in rows:
        tally = tallies[unit_id]
        for name, value in zip(counts, values, strict=True):
            setattr(tally, name, getattr(tally, name) + int(value))  # PostgreSQL's SUM of a bigint is a Decimal
        tally.by_channel.append((TicketSource(source), int(values[0])))
        latest = last_step if latest is None or last_step > latest else latest
    return dict(tallies), latest


def _quantiles_from_receipts(session: Session, *, start: datetime, end: datetime,
                             tallies: dict[int, _Tally]) -> dict[int, Quantiles]:
    """Median and p90 of each unit's hours to done, from only the (at most four) ranks they interpolate between."""
    wanted = {unit_id: {0.5: quantile_ranks(tally.reported_done, 0.5), 0.9: quantile_ranks(tally.reported_done, 0.9)}
              for unit_id, tally in tallies.items() if tally.reported_done > 0}
    if not wanted:
        return {}
    receipt = UnitReceipt
    ranked = (
        sa.select(col(receipt.unit_id).label("unit_id"), col(receipt.done_after_us).label("done_after_us"),
                  (sa.func.row_number().over(partition_by=col(receipt.unit_id),
                                             order_by=col(receipt.done_after_us)) - 1).label("rank"))
        .where(col(receipt.referred_at) >= start, col(receipt.referred_at) < end,
               col(receipt.done_after_us).is_not(None))
        .subquery()
    )
    conditions = [sa.and_(ranked.c.unit_id == unit_id,
                          ranked.c.rank.in_(sorted({rank for below, above, _ in ranks.values()
                                                    for rank in (below, above)})))
                  for unit_id, ranks in wanted.items()]
    values: dict[tuple[int, int], float] = {
        (unit_id, rank): done_after_us / 10**6 / 3600
        for unit_id, done_after_us, rank in session.execute(
            sa.select(ranked.c.unit_id, ranked.c.done_after_us, ranked.c.rank).where(sa.or_(*conditions)))
    }

    def interpolated(unit_id: int, fraction: float) -> float:
        below, above, weight = wanted[unit_id][fraction]
        low, high = values[(unit_id, below)], values[(unit_id, above)]
        return low + (high - low) * weight

    return {unit_id: (interpolated(unit_id, 0.5), interpolated(unit_id, 0.9)) for unit_id in wanted}


class _Step(NamedTuple):
    """What the scorecard reads of a step: not its note, which is most of a row."""

    ticket_id: int
    action: TicketAction
    at: datetime
    to_unit_id: int | None
    verdict: FieldVerdict | None


_STREAM_ROWS = 5000  # steps fetched at a time: the month's history is walked, never held


def _receipts(session: Session, *, start: datetime, end: datetime, now: datetime) -> list[_Receipt]:
    """Every receipt of the tickets referred in [start, end), from their history up to ``now``.

    The whole history of each such ticket is walked, because a receipt ends where the next one begins; the
    caller keeps only the receipts that began in the period. The steps stream from the database in ticket order
    (a subquery names the tickets, never a list of them), so only the receipts are kept in memory.
    """
    referred = select(TicketTransition.ticket_id).where(
        col(TicketTransition.action).in_(_REFERRALS), col(TicketTransition.at) >= start, col(TicketTransition.at) < end,
    )
    rows = session.execute(
        sa.select(col(TicketTransition.ticket_id), col(TicketTransition.action), col(TicketTransition.at),
                  col(TicketTransition.to_unit_id), col(TicketTransition.verdict), col(Category.sla_hours),
                  col(Ticket.source))
        .join(Ticket, col(Ticket.id) == col(TicketTransition.ticket_id))
        .outerjoin(Category, col(Category.id) == col(Ticket.category_id))
        .where(col(TicketTransition.ticket_id).in_(referred), col(TicketTransition.at) <= now)
        .order_by(col(TicketTransition.ticket_id), col(TicketTransition.at), col(TicketTransition.id))
        .execution_options(yield_per=_STREAM_ROWS)
    )
    receipts: list[_Receipt] = []
    current: _Receipt | None = None
    current_ticket: int | None = None
    for ticket_id, action, at, to_unit_id, verdict, sla_hours, source in rows:
        step = _Step(ticket_id=ticket_id, action=action, at=at, to_unit_id=to_unit_id, verdict=verdict)
        if step.ticket_id != current_ticket:
            current, current_ticket = None, step.ticket_id
        if step.action in _REFERRALS and step.to_unit_id is not None:
            if current is not None:
                current.left_at = step.at
            current = _Receipt(unit_id=step.to_unit_id, referred_at=step.at, source=TicketSource(source),
                               deadline=None if sla_hours is None else step.at + timedelta(hours=sla_hours))
            receipts.append(current)
        elif current is not None:
            _record(current, step)
            if step.action in _LEAVING:
                current = None
    return receipts


def _record(receipt: _Receipt, step: _Step) -> None:
    """What one step, taken while the ticket was at the unit, adds to the receipt."""
    if step.action == TicketAction.REPORT_DONE and receipt.done_at is None:
        receipt.done_at = step.at
    elif step.action == TicketAction.VERIFY_RESOLVED:
        receipt.resolved += 1
        receipt.last_answer_resolved = True
    elif step.action == TicketAction.VERIFY_NOT_RESOLVED:
        receipt.not_resolved += 1
        receipt.last_answer_resolved = False
    elif step.action == TicketAction.FIELD_VERDICT and step.verdict is not None:
        receipt.verdicts.append(step.verdict)
    elif step.action in _LEAVING:
        receipt.left_at = step.at


def _unit_names(session: Session, unit_ids: Iterable[int]) -> dict[int, str]:
    ids = list(unit_ids)
    if not ids:
        return {}
    rows = session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(ids))).all()
    return {unit_id: name for unit_id, name in rows if unit_id is not None}


def _unit_score(unit_id: int, unit_name: str, tally: _Tally, quantiles: Quantiles) -> UnitScore:
    on_time_rate = _ratio(tally.on_time, tally.on_time + tally.late)
    pass_rate = _ratio(tally.resolved, tally.resolved + tally.not_resolved)
    reopen_rate = _ratio(tally.reopened, tally.reported_done)
    return UnitScore(
        unit_id=unit_id, unit_name=unit_name, rank=0,
        score=_score(on_time_rate, pass_rate, reopen_rate),
        received=tally.received,
        received_by_channel=ChannelCounts.tallied(tally.by_channel),
        left_before_done=tally.left_before_done,
        reported_done=tally.reported_done, on_time=tally.on_time, late=tally.late, on_time_rate=on_time_rate,
        median_hours_to_done=quantiles[0], p90_hours_to_done=quantiles[1],
        verified_resolved=tally.resolved, verified_not_resolved=tally.not_resolved, verification_pass_rate=pass_rate,
        reopened=tally.reopened, reopen_rate=reopen_rate,
        verdicts_against=tally.verdicts_against, verdicts_for=tally.verdicts_for,
        citizens_asked=tally.citizens_asked, citizens_satisfied=tally.citizens_satisfied,
        citizen_satisfaction=_ratio(tally.citizens_satisfied, tally.citizens_asked),
    )


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def quantile_ranks(count: int, fraction: float) -> tuple[int, int, float]:
    """Where the ``fraction`` quantile of ``count`` sorted values lies: the ranks (from 0) of the two closest values
    and the weight of the upper one ("inclusive" method: rank fraction·(n−1)). Shared with the complaints'
    analytics, which fetches only those two values from the database."""
    position = fraction * (count - 1)
    below = int(position)
    return below, min(below + 1, count - 1), position - below


def _quantile(ordered: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks of sorted values (rank fraction·(n−1), counted from 0)."""
    if not ordered:
        return None
    below, above, weight = quantile_ranks(len(ordered), fraction)
    return ordered[below] + (ordered[above] - ordered[below]) * weight


def _score(on_time_rate: float | None, pass_rate: float | None, reopen_rate: float | None) -> float | None:
    """Equal weights for keeping deadlines, reports the citizen confirms, and work that stays done."""
    parts = [part for part in (on_time_rate, pass_rate, None if reopen_rate is None else 1 - reopen_rate)
             if part is not None]
    return None if not parts else round(sum(parts) / len(parts), SCORE_DECIMALS)


def _ranked(scores: Iterable[UnitScore]) -> list[UnitScore]:
    ordered = sorted(scores, key=lambda unit: (unit.score is None, -(unit.score or 0.0), unit.unit_name, unit.unit_id))
    return [unit.model_copy(update={"rank": position}) for position, unit in enumerate(ordered, start=1)]


TREND_MONTHS = 6


class TrendMonth(BaseModel):
    """One Jalali month of the trend and its window, aware UTC [start, end)."""

    year: int
    month: int
    start: datetime
    end: datetime


class TrendPoint(BaseModel):
    """A unit's figures in one month of the trend, as that month's scorecard has them."""

    rank: int
    score: float | None
    received: int
    on_time_rate: float | None
    verification_pass_rate: float | None
    reopen_rate: float | None


class UnitTrend(BaseModel):
    """One unit across the trend's months; ``points`` follow ``ScorecardTrend.months``, None where the unit received
    nothing that month."""

    unit_id: int
    unit_name: str
    points: list[TrendPoint | None]


class ScorecardTrend(BaseModel):
    """The scorecard month by month, oldest first, ending with the chosen month; outcomes as of ``generated_at``.

    Units: every unit with a receipt in any of the months, in the chosen month's rank order, then the others by
    name and id.
    """

    generated_at: datetime
    months: list[TrendMonth]
    units: list[UnitTrend]


def compute_trend(session: Session, *, year: int, month: int, months: int = TREND_MONTHS,
                  now: datetime) -> ScorecardTrend:
    """The scorecards of the ``months`` Jalali months ending with (year, month), unit by unit, as of ``now``."""
    return _trend(session, year=year, month=month, months=months, now=now, card_of=_card_without_quantiles)


def compute_trend_from_history(session: Session, *, year: int, month: int, months: int = TREND_MONTHS,
                               now: datetime) -> ScorecardTrend:
    """The same trend from the steps themselves: the reference."""
    return _trend(session, year=year, month=month, months=months, now=now, card_of=compute_scorecard_from_history)


def _card_without_quantiles(session: Session, *, start: datetime, end: datetime, now: datetime) -> Scorecard:
    return _card_from_receipts(session, start=start, end=end, now=now, quantiles=False)


class _CardOf(Protocol):
    def __call__(self, session: Session, *, start: datetime, end: datetime, now: datetime) -> Scorecard: ...


def _trend(session: Session, *, year: int, month: int, months: int, now: datetime,
           card_of: _CardOf) -> ScorecardTrend:
    periods = previous_jalali_months(year, month, months)
    cards: list[tuple[TrendMonth, Scorecard]] = []
    for period_year, period_month in periods:
        start, end = jalali_month_window(period_year, period_month)
        cards.append((TrendMonth(year=period_year, month=period_month, start=start, end=end),
                      card_of(session, start=start, end=end, now=now)))
    names: dict[int, str] = {}
    points: defaultdict[int, list[TrendPoint | None]] = defaultdict(lambda: [None] * len(cards))
    for index, (_period, card) in enumerate(cards):
        for unit in card.units:
            names[unit.unit_id] = unit.unit_name
            points[unit.unit_id][index] = TrendPoint(
                rank=unit.rank, score=unit.score, received=unit.received, on_time_rate=unit.on_time_rate,
                verification_pass_rate=unit.verification_pass_rate, reopen_rate=unit.reopen_rate)
    latest = {unit.unit_id: unit.rank for unit in cards[-1][1].units}
    order = sorted(points, key=lambda unit_id: (unit_id not in latest, latest.get(unit_id, 0), names[unit_id],
                                                unit_id))
    return ScorecardTrend(
        generated_at=now, months=[period for period, _card in cards],
        units=[UnitTrend(unit_id=unit_id, unit_name=names[unit_id], points=points[unit_id]) for unit_id in order])
