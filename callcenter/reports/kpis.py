"""Today's supervisor-wallboard KPIs, computed from the call records and the agent state log in the database.

Everything is read from durable rows (``call``, ``agent_state_change``), so a backend restart resets nothing.
Definitions (also in docs/spec/kpis.md); rates are fractions 0..1, times are seconds:

- A call counts only if it reached a queue within the window (``queued_at`` in [start, end)): a call that ended
  in the voice menu is not offered, nor is one queued before the day began even if answered after midnight.
- answered = ``answered_at`` is set; abandoned = outcome ABANDONED (and never answered); offered = answered +
  abandoned. Calls still waiting, or that left the queue for a callback or a voice message, are not offered.
- service level = answered within ``service_level_seconds`` of ``queued_at`` (exactly at the limit counts) ÷
  offered; abandon rate = abandoned ÷ offered; ASA = mean(answered_at − queued_at) over answered calls.
- AHT = (talk time of the answered calls, (ended_at or now) − answered_at, plus the wrap-up time in the state log
  within the window) ÷ answered.
- occupancy = (talking + wrap_up) ÷ (ready + ringing + talking + wrap_up), from the state log clipped to
  [start, min(end, now)]; paused and logged-out time count in neither. A state entered before ``start`` counts
  from ``start``. An operator in several queues is, at each instant, in the strongest of their states
  (talking > wrap_up > ringing > ready > paused > logged_out), so no second is counted twice.
- tickets by channel: tickets filed (``created_at``) in [start, end), per channel (callcenter/tickets/channels.py:
  an operator's and a voice message's are the phone's), whichever line they are for.
- lost to a fault = calls started in [start, end) that Asterisk going down cut (outcome LOST_TO_FAULT, ADR 0086),
  at whatever stage: never abandoned, so never in the abandon rate; one an operator had answered still counts as
  answered (and its talk time until the crash).
- Any ratio whose denominator is 0 is None: "no data", which the wallboard shows differently from 0 %.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from callcenter.platform.calendar import TEHRAN, require_aware
from callcenter.tickets.channels import ChannelCounts
from db.models import AgentState, AgentStateChange, Call, CallOutcome, Ticket, TicketSource, User, UTCDateTime

# Which state wins when an operator is in several queues at once: they can only do one thing at a time.
STATE_STRENGTH: Mapping[AgentState, int] = {
    AgentState.LOGGED_OUT: 0,
    AgentState.PAUSED: 1,
    AgentState.READY: 2,
    AgentState.RINGING: 3,
    AgentState.WRAP_UP: 4,
    AgentState.TALKING: 5,
}
BUSY_STATES = frozenset({AgentState.TALKING, AgentState.WRAP_UP})
# Time the operator was available for calls or handling one: the denominator of occupancy.
STAFFED_STATES = frozenset({AgentState.READY, AgentState.RINGING, AgentState.TALKING, AgentState.WRAP_UP})

StateSeconds = Mapping[AgentState, float]


class HourlyCalls(BaseModel):
    """Calls that joined a queue during one Tehran local hour, by how they ended (for the wallboard's chart)."""

    hour: int  # 0..23, Tehran local time
    answered: int = 0
    abandoned: int = 0


class OperatorKpis(BaseModel):
    extension: str
    name: str  # the staff member's full name, else the extension
    answered: int
    talk_seconds: float
    occupancy: float | None


class KpiReport(BaseModel):
    """The wallboard's figures for [start, end), as of ``generated_at``; the API returns it as-is."""

    start: datetime
    end: datetime
    generated_at: datetime
    service_level_seconds: int
    offered: int
    answered: int
    abandoned: int
    lost_to_fault: int  # cut by Asterisk going down, not by the caller
    answered_within_service_level: int
    service_level: float | None
    abandon_rate: float | None
    average_speed_of_answer_seconds: float | None
    average_handle_time_seconds: float | None
    occupancy: float | None
    operators: list[OperatorKpis]
    hourly: list[HourlyCalls]
    tickets_by_channel: ChannelCounts


@dataclass(frozen=True)
class _QueuedCall:
    """The parts of a call record the KPIs read; ``queued_at`` is known to be set."""

    queued_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    abandoned: bool
    operator_extension: str | None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    def seconds_to_answer(self) -> float | None:
        return None if self.answered_at is None else (self.answered_at - self.queued_at).total_seconds()

    def talk_seconds(self, now: datetime) -> float:
        """From answer to hang-up; a conversation still going counts until ``now``."""
        if self.answered_at is None:
            return 0.0
        return max(0.0, ((self.ended_at or now) - self.answered_at).total_seconds())


def compute_kpis(session: Session, *, start: datetime, end: datetime, now: datetime,
                 service_level_seconds: int = 20) -> KpiReport:
    """The wallboard's KPIs for calls queued in [start, end) and operator time in [start, min(end, now))."""
    for moment in (start, end, now):
        require_aware(moment)
    calls = _calls_queued_in(session, start=start, end=end)
    answered = [call for call in calls if call.answered]
    abandoned = sum(1 for call in calls if call.abandoned)
    offered = len(answered) + abandoned
    waits = [wait for call in answered if (wait := call.seconds_to_answer()) is not None]
    within = sum(1 for wait in waits if wait <= service_level_seconds)
    state_seconds = _state_seconds_by_extension(session, start=start, until=min(end, now))
    talk = sum(call.talk_seconds(now) for call in answered)
    wrap_up = sum(seconds.get(AgentState.WRAP_UP, 0.0) for seconds in state_seconds.values())
    return KpiReport(
        start=start, end=end, generated_at=now, service_level_seconds=service_level_seconds,
        offered=offered, answered=len(answered), abandoned=abandoned,
        lost_to_fault=calls_lost_to_fault(session, start=start, end=end), answered_within_service_level=within,
        service_level=_ratio(within, offered),
        abandon_rate=_ratio(abandoned, offered),
        average_speed_of_answer_seconds=_ratio(sum(waits), len(waits)),
        average_handle_time_seconds=_ratio(talk + wrap_up, len(answered)),
        occupancy=_occupancy(_summed(state_seconds.values())),
        operators=_operator_kpis(session, answered, state_seconds, now=now),
        hourly=_hourly(calls),
        tickets_by_channel=tickets_by_channel(session, start=start, end=end),
    )


def tickets_by_channel(session: Session, *, start: datetime, end: datetime) -> ChannelCounts:
    """Tickets filed in [start, end), per channel."""
    rows = session.exec(
        select(Ticket.source, func.count()).where(col(Ticket.created_at) >= start, col(Ticket.created_at) < end)
        .group_by(col(Ticket.source))
    ).all()
    return ChannelCounts.tallied((TicketSource(source), count) for source, count in rows)


def calls_lost_to_fault(session: Session, *, start: datetime, end: datetime) -> int:
    """Calls started in [start, end) that Asterisk going down cut (ADR 0086)."""
    return int(session.exec(
        select(func.count()).select_from(Call).where(col(Call.started_at) >= start, col(Call.started_at) < end,
                                                     col(Call.outcome) == CallOutcome.LOST_TO_FAULT)
    ).one())


def _ratio(part: float, whole: float) -> float | None:
    return None if whole == 0 else part / whole


def _calls_queued_in(session: Session, *, start: datetime, end: datetime) -> list[_QueuedCall]:
    rows = session.exec(
        select(Call).where(col(Call.queued_at) >= start, col(Call.queued_at) < end)
    ).all()
    return [
        _QueuedCall(
            queued_at=row.queued_at, answered_at=row.answered_at, ended_at=row.ended_at,
            # A call is one or the other: an answered call is never also counted as abandoned.
            abandoned=row.outcome == CallOutcome.ABANDONED and row.answered_at is None,
            operator_extension=row.operator_extension,
        )
        for row in rows
        if row.queued_at is not None  # always, by the query; narrows the type
    ]


def _state_seconds_by_extension(session: Session, *, start: datetime,
                                until: datetime) -> dict[str, StateSeconds]:
    """Seconds each operator spent in each state within [start, until), queues merged."""
    if until <= start:
        return {}
    rows_by_extension: defaultdict[str, list[_StateRow]] = defaultdict(list)
    for row in _states_in_force_at(session, start) + _state_changes_in(session, start=start, until=until):
        rows_by_extension[row.extension].append(row)
    return {
        extension: _seconds_per_state(sorted(rows, key=lambda row: (row.at, row.id or 0)), start=start, until=until)
        for extension, rows in rows_by_extension.items()
    }


class _StateRow(NamedTuple):
    """What the sweep reads of a state-log row (plain columns: the day's thousands of rows need no ORM objects)."""

    id: int
    extension: str
    queue_name: str
    state: AgentState
    at: datetime


_STATE_COLUMNS = (col(AgentStateChange.id), col(AgentStateChange.extension), col(AgentStateChange.queue_name),
                  col(AgentStateChange.state), col(AgentStateChange.at))


def _state_rows(session: Session, where: sa.ColumnElement[bool]) -> list[_StateRow]:
    return [_StateRow(*row) for row in session.execute(sa.select(*_STATE_COLUMNS).where(where))]


# The latest row before :moment of each (extension, queue) in the state log, in one statement on both databases. The
# pairs are found by a skip scan of the (extension, queue_name, at) index (each step: the next queue of the same
# extension, else the first queue of the next extension, every one a min() the index answers at once); then each
# pair's latest row before the moment is one more probe. SQLite allows the recursive name once, outside subqueries.
_IN_FORCE = sa.text("""
WITH RECURSIVE pairs(extension, queue_name) AS (
    SELECT first.extension, (SELECT MIN(queue_name) FROM agent_state_change WHERE extension = first.extension)
    FROM (SELECT MIN(extension) AS extension FROM agent_state_change) first WHERE first.extension IS NOT NULL
    UNION ALL
    SELECT CASE WHEN (SELECT MIN(queue_name) FROM agent_state_change
                      WHERE extension = p.extension AND queue_name > p.queue_name) IS NOT NULL
                THEN p.extension
                ELSE (SELECT MIN(extension) FROM agent_state_change WHERE extension > p.extension) END,
           COALESCE((SELECT MIN(queue_name) FROM agent_state_change
                     WHERE extension = p.extension AND queue_name > p.queue_name),
                    (SELECT MIN(queue_name) FROM agent_state_change
                     WHERE extension = (SELECT MIN(extension) FROM agent_state_change WHERE extension > p.extension)))
    FROM pairs p WHERE p.extension IS NOT NULL
)
SELECT (SELECT latest.id FROM agent_state_change latest
        WHERE latest.extension = pairs.extension AND latest.queue_name = pairs.queue_name AND latest.at < :moment
        ORDER BY latest.at DESC, latest.id DESC LIMIT 1)
FROM pairs WHERE pairs.extension IS NOT NULL
""").bindparams(sa.bindparam("moment", type_=UTCDateTime()))


def _states_in_force_at(session: Session, moment: datetime) -> list[_StateRow]:
    """The latest row before ``moment`` of each extension and queue: the state everyone was in then.

    Read through the (extension, queue_name, at) index, pair by pair (``_IN_FORCE``): the cost follows the number
    of operators and queues, not the months of history behind ``moment``."""
    ids = [row_id for (row_id,) in session.execute(_IN_FORCE, {"moment": moment}) if row_id is not None]
    return _state_rows(session, col(AgentStateChange.id).in_(ids)) if ids else []


def _state_changes_in(session: Session, *, start: datetime, until: datetime) -> list[_StateRow]:
    return _state_rows(session, sa.and_(col(AgentStateChange.at) >= start, col(AgentStateChange.at) < until))


def _seconds_per_state(rows: Iterable[_StateRow], *, start: datetime, until: datetime) -> StateSeconds:
    """One operator's rows (all queues, in time order) swept into seconds per state, strongest state winning."""
    seconds: defaultdict[AgentState, float] = defaultdict(float)
    state_by_queue: dict[str, AgentState] = {}
    since = start
    for row in rows:
        at = min(max(row.at, start), until)
        if state_by_queue:
            seconds[_strongest(state_by_queue.values())] += (at - since).total_seconds()
        state_by_queue[row.queue_name] = row.state
        since = at
    if state_by_queue:
        seconds[_strongest(state_by_queue.values())] += (until - since).total_seconds()
    return seconds


def _strongest(states: Iterable[AgentState]) -> AgentState:
    return max(states, key=STATE_STRENGTH.__getitem__)


def _summed(all_seconds: Iterable[StateSeconds]) -> StateSeconds:
    total: defaultdict[AgentState, float] = defaultdict(float)
    for seconds in all_seconds:
        for state, value in seconds.items():
            total[state] += value
    return total


def _occupancy(seconds: StateSeconds) -> float | None:
    busy = sum(seconds.get(state, 0.0) for state in BUSY_STATES)
    staffed = sum(seconds.get(state, 0.0) for state in STAFFED_STATES)
    return _ratio(busy, staffed)


def _logged_in(seconds: StateSeconds) -> bool:
    return any(value > 0 for state, value in seconds.items() if state != AgentState.LOGGED_OUT)


def _operator_kpis(session: Session, answered: list[_QueuedCall], state_seconds: Mapping[str, StateSeconds],
                   *, now: datetime) -> list[OperatorKpis]:
    """Every extension that answered a counted call or was logged in during the window, by extension."""
    calls_by_extension: defaultdict[str, list[_QueuedCall]] = defaultdict(list)
    for call in answered:
        if call.operator_extension:
            calls_by_extension[call.operator_extension].append(call)
    extensions = set(calls_by_extension) | {ext for ext, seconds in state_seconds.items() if _logged_in(seconds)}
    names = _names(session, extensions)
    return [
        OperatorKpis(
            extension=extension,
            name=names.get(extension, extension),
            answered=len(calls_by_extension[extension]),
            talk_seconds=sum(call.talk_seconds(now) for call in calls_by_extension[extension]),
            occupancy=_occupancy(state_seconds.get(extension, {})),
        )
        for extension in sorted(extensions)
    ]


def _names(session: Session, extensions: set[str]) -> dict[str, str]:
    if not extensions:
        return {}
    rows = session.exec(
        select(User.extension, User.full_name).where(col(User.extension).in_(extensions))
    ).all()
    return {extension: full_name for extension, full_name in rows if extension}


def _hourly(calls: Iterable[_QueuedCall]) -> list[HourlyCalls]:
    """24 buckets by the Tehran local hour in which each call joined the queue."""
    buckets = [HourlyCalls(hour=hour) for hour in range(24)]
    for call in calls:
        bucket = buckets[call.queued_at.astimezone(TEHRAN).hour]
        if call.answered:
            bucket.answered += 1
        elif call.abandoned:
            bucket.abandoned += 1
    return buckets
