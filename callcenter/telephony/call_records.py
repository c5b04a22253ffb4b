"""Durable call records: the database side of what the AMI bridge learns about each citizen call."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from callcenter.platform.persian import normalize_phone_number
from callcenter.tickets.store import tickets_for_caller
from db.engine import unit_of_work
from db.models import Call, CallOutcome, CallPublic, TicketPublic, User


class CallRecords:
    """Sync repository (the bridge runs it in a worker thread, one event at a time, so order is kept)."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def start(self, *, linkedid: str, line: str, caller_number: str, channel: str, at: datetime) -> CallPublic:
        """Record a new call; a repeated start (e.g. after an AMI reconnect) returns the existing record."""
        with unit_of_work(self._engine) as session:
            existing = session.exec(select(Call).where(Call.linkedid == linkedid)).first()
            if existing is not None:
                return CallPublic.of(existing)
            call = Call(linkedid=linkedid, line=line, caller_number=normalize_phone_number(caller_number),
                        channel=channel, started_at=at)
            try:
                with session.begin_nested():  # a savepoint: the twin's row stands, this insert is undone
                    session.add(call)
            except IntegrityError:
                call = session.exec(select(Call).where(Call.linkedid == linkedid)).one()
            session.refresh(call)
            return CallPublic.of(call)

    def get(self, linkedid: str) -> CallPublic | None:
        with unit_of_work(self._engine) as session:
            call = session.exec(select(Call).where(Call.linkedid == linkedid)).first()
            return CallPublic.of(call) if call else None

    def update(self, linkedid: str, *, first_only: Collection[str] = (), **changes: object) -> CallPublic | None:
        """Apply ``changes`` to the call; None if we never saw it start (e.g. it began before we connected).

        Fields named in ``first_only`` keep a value they already have (a transferred call joins a second queue
        and is answered again; its first wait and first answer are what the KPIs measure)."""
        with unit_of_work(self._engine) as session:
            call = session.exec(select(Call).where(Call.linkedid == linkedid)).first()
            if call is None:
                return None
            for name, value in changes.items():
                if not (name in first_only and getattr(call, name) is not None):
                    setattr(call, name, value)
            session.add(call)
            session.flush()
            session.refresh(call)
            return CallPublic.of(call)

    def finish(self, linkedid: str, *, at: datetime) -> CallPublic | None:
        """Close the record and settle its outcome from what happened."""
        with unit_of_work(self._engine) as session:
            call = session.exec(select(Call).where(Call.linkedid == linkedid)).first()
            if call is None:
                return None
            if call.ended_at is None:
                call.ended_at = at
            if call.outcome == CallOutcome.IN_PROGRESS:
                call.outcome = settled_outcome(call)
            session.add(call)
            session.flush()
            session.refresh(call)
            return CallPublic.of(call)

    def close_missing(self, live_linkedids: set[str], *, at: datetime,
                      asterisk_booted_at: datetime | None = None) -> tuple[list[CallPublic], list[CallPublic]]:
        """After a reconnect: calls still open in the database but gone from Asterisk are closed. Returns those
        closed, and the open calls Asterisk still has (the tracker's state for those it had not seen).

        A call that began before Asterisk's current boot cannot have outlived it: Asterisk went down under it (a
        crash, a restart), so it is lost to a fault, ended at the boot, whatever stage it had reached (ADR 0086).
        One that began after the boot ended on its own while we were away: settled from what we know of it."""
        with unit_of_work(self._engine) as session:
            open_calls = session.exec(select(Call).where(col(Call.ended_at).is_(None))).all()
            closed = []
            still_open = []
            for call in open_calls:
                if call.linkedid in live_linkedids:
                    still_open.append(CallPublic.of(call))
                    continue
                cut_by_asterisk = asterisk_booted_at is not None and call.started_at < asterisk_booted_at
                call.ended_at = min(at, asterisk_booted_at) if cut_by_asterisk and asterisk_booted_at else at
                if call.outcome == CallOutcome.IN_PROGRESS:
                    call.outcome = CallOutcome.LOST_TO_FAULT if cut_by_asterisk else settled_outcome(call)
                session.add(call)
                session.flush()
                closed.append(CallPublic.of(call))
            return closed, still_open

    def operator_id(self, extension: str) -> int | None:
        with unit_of_work(self._engine) as session:
            user = session.exec(select(User).where(User.extension == extension)).first()
            return user.id if user else None

    def history(self, caller_number: str) -> list[TicketPublic]:
        with unit_of_work(self._engine) as session:
            return tickets_for_caller(session, caller_number)


def settled_outcome(call: Call) -> CallOutcome:
    if call.answered_at is not None:
        return CallOutcome.ANSWERED
    if call.queued_at is not None:
        return CallOutcome.ABANDONED
    return CallOutcome.IVR_ONLY
