"""The durable log of operator states: what each operator is doing in each queue, and since when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from db.engine import unit_of_work
from db.models import AgentState, AgentStateChange, PauseReason, User

# How the console and the wallboard name each state and each reason for a pause.
STATE_NAMES: dict[AgentState, str] = {
    AgentState.READY: "آماده در صف",
    AgentState.PAUSED: "در مکث",
    AgentState.RINGING: "در حال زنگ",
    AgentState.TALKING: "در مکالمه",
    AgentState.WRAP_UP: "جمع‌بندی تماس",
    AgentState.LOGGED_OUT: "خارج از صف",
}
PAUSE_REASON_NAMES: dict[PauseReason, str] = {
    PauseReason.BREAK: "استراحت",
    PauseReason.TRAINING: "آموزش",
    PauseReason.AFTER_CALL_WORK: "کار پس از تماس",
}


class AgentStatus(BaseModel):
    """One operator in one queue, as the wallboard and the console show it."""

    extension: str
    queue: str
    state: AgentState
    reason: str | None = None
    since: datetime
    name: str = ""


class AgentStateLog:
    """Sync repository; the tracker calls it from a worker thread, the web routes from theirs."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def record(self, *, extension: str, queue: str, state: AgentState, reason: str | None,
               at: datetime) -> datetime:
        """Log a state the operator entered; returns since when they are in it.

        The same state reported again (Asterisk lists every member after a reconnect) keeps its first
        time, so time in state survives a backend restart.
        """
        with unit_of_work(self._engine) as session:
            return self.record_in(session, extension=extension, queue=queue, state=state, reason=reason, at=at)

    @staticmethod
    def record_in(session: Session, *, extension: str, queue: str, state: AgentState, reason: str | None,
                  at: datetime) -> datetime:
        """:meth:`record` inside a caller's session (the tracker's record writer batches them)."""
        last = _latest(session, extension=extension, queue=queue)
        if last is not None and last.state == state and last.reason == reason:
            return last.at
        session.add(AgentStateChange(extension=extension, queue_name=queue, state=state, reason=reason, at=at))
        return at

    @staticmethod
    def append_in(session: Session, *, extension: str, queue: str, state: AgentState, reason: str | None,
                  at: datetime) -> None:
        """Log a state the caller knows is new (the tracker follows this operator): one INSERT, nothing read."""
        session.execute(sa.insert(AgentStateChange).values(extension=extension, queue_name=queue, state=state,
                                                            reason=reason, at=at))

    def current(self, *, extension: str | None = None) -> list[AgentStatus]:
        """Every operator still in a queue (their latest state is not logged out), by extension; only
        ``extension``'s queues when given."""
        with unit_of_work(self._engine) as session:
            users = select(User).where(col(User.extension).is_not(None))
            if extension is not None:
                users = users.where(User.extension == extension)
            names = {u.extension: u.full_name for u in session.exec(users).all() if u.extension}
            return [
                AgentStatus(extension=row.extension, queue=row.queue_name, state=row.state, reason=row.reason,
                            since=row.at, name=names.get(row.extension, row.extension))
                for row in _latest_rows(session, extension=extension)
                if row.state != AgentState.LOGGED_OUT
            ]


def _latest(session: Session, *, extension: str, queue: str) -> AgentStateChange | None:
    return session.exec(
        select(AgentStateChange)
        .where(AgentStateChange.extension == extension, AgentStateChange.queue_name == queue)
        .order_by(col(AgentStateChange.id).desc())  # the newest written, as _latest_rows reads it
        .limit(1)
    ).first()


def _latest_rows(session: Session, *, extension: str | None) -> list[AgentStateChange]:
    """The newest row of each (extension, queue): one query for the ids, one for the rows."""
    newest = select(func.max(AgentStateChange.id))
    if extension is not None:
        newest = newest.where(AgentStateChange.extension == extension)
    newest = newest.group_by(col(AgentStateChange.extension), col(AgentStateChange.queue_name))
    rows = session.exec(select(AgentStateChange).where(col(AgentStateChange.id).in_(newest))).all()
    return sorted(rows, key=lambda row: (row.extension, row.queue_name))
