"""Whether a caller should wait for an operator or be offered a callback or a recorded message instead."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

# Until a queue has answered calls, Asterisk's average hold time is 0; assume this per caller ahead.
DEFAULT_HOLD_SECONDS = 60


class Availability(enum.StrEnum):
    WAIT = "wait"                # an operator will answer soon enough: queue
    CLOSED = "closed"            # outside service hours or a holiday
    NO_OPERATOR = "no_operator"  # nobody logged in (or everyone logged in is paused)
    LONG_WAIT = "long_wait"      # the estimated wait exceeds the setting


@dataclass(frozen=True)
class QueueState:
    """What Asterisk says about a queue at this moment (``QUEUE_MEMBER`` and ``QUEUE_VARIABLES``)."""

    logged_in: int  # members whose phones are reachable
    ready: int      # logged in, not paused, not busy and not wrapping up
    paused: int
    waiting: int    # callers already in the queue
    average_hold_seconds: int  # Asterisk's running average wait of answered callers


def estimated_wait_seconds(state: QueueState) -> float:
    """Rough but monotone: nothing when a ready operator is left over, else one average hold for each caller
    ahead (and this one) shared among the operators able to answer. Infinite when nobody is able to answer."""
    answering = state.logged_in - state.paused
    if answering <= 0:
        return math.inf
    ahead = state.waiting - state.ready
    if ahead < 0:
        return 0.0
    hold = state.average_hold_seconds or DEFAULT_HOLD_SECONDS
    return (ahead + 1) * hold / answering


def availability(state: QueueState, *, open_now: bool, max_wait_seconds: int) -> Availability:
    if not open_now:
        return Availability.CLOSED
    if state.logged_in - state.paused <= 0:
        return Availability.NO_OPERATOR
    if estimated_wait_seconds(state) > max_wait_seconds:
        return Availability.LONG_WAIT
    return Availability.WAIT


class OpeningHours(Protocol):
    def is_open(self, at: datetime) -> bool: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RoutingPolicy:
    """The settings that decide between the queue and the alternatives, with a clock tests can set."""

    hours: OpeningHours
    max_wait_seconds: int
    clock: Callable[[], datetime] = _utcnow

    def is_open(self) -> bool:
        return self.hours.is_open(self.clock())

    def decide(self, state: QueueState) -> Availability:
        """For a line that is open now (ask :meth:`is_open` first: closed lines need no queue state)."""
        return availability(state, open_now=True, max_wait_seconds=self.max_wait_seconds)
