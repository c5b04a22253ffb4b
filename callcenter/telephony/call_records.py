"""Durable call records: the database side of what the AMI bridge learns about each citizen call."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.platform.persian import normalize_phone_number
from callcenter.tickets.store import tickets_for_caller
from db.engine import unit_of_work
from db.models import Call, CallOutcome, CallPublic, TicketPublic, User


class CallRecords:
    """Sync repository: the tracker's record writer runs the ``*_in`` writes in its batches (in order); the web
    routes and the tracker's reads use the methods with a transaction of their own, in a worker thread."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def start(self, *, linkedid: str, line: str, caller_number: str, channel: str, at: datetime) -> CallPublic:
        """Record a new call; a repeated start (e.g. after an AMI reconnect) returns the existing record."""
        with unit_of_work(self._engine) as session:
            return self.start_in(session, linkedid=linkedid, line=line, caller_number=caller_number,
                                 channel=channel, at=at)

    def get(self, linkedid: str) -> CallPublic | None:
        with unit_of_work(self._engine) as session:
            call = _by_linkedid(session, linkedid)
            return CallPublic.of(call) if call else None

    def update(self, linkedid: str, *, first_only: Collection[str] = (), **changes: object) -> CallPublic | None:
        """Apply ``changes`` to the call (see :meth:`update_in`), in a transaction of its own."""
        with unit_of_work(self._engine) as session:
            return self.update_in(session, linkedid, first_only=first_only, **changes)

    def finish(self, linkedid: str, *, at: datetime) -> CallPublic | None:
        with unit_of_work(self._engine) as session:
            return self.finish_in(session, linkedid, at=at)

    # The same writes inside a caller's session: the tracker's record writer runs many in one transaction.

    @staticmethod
    def start_in(session: Session, *, linkedid: str, line: str, caller_number: str, channel: str,
                 at: datetime) -> CallPublic:
        """One INSERT … ON CONFLICT DO NOTHING RETURNING (both databases have it): a twin's row (a repeated start)
        stands and is returned as it is."""
        table = Call.__table__  # type: ignore[attr-defined]
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        row = session.execute(
            insert(table).values(linkedid=linkedid, line=line, caller_number=normalize_phone_number(caller_number),
                                 channel=channel, started_at=at, outcome=CallOutcome.IN_PROGRESS, anonymous=False)
            .on_conflict_do_nothing(index_elements=["linkedid"]).returning(*table.c)
        ).first()
        if row is None:
            existing = session.exec(select(Call).where(Call.linkedid == linkedid)).one()
            return CallPublic.of(existing)
        return CallPublic.model_validate({**row._mapping, "has_recording": row.recording is not None})

    @staticmethod
    def update_in(session: Session, linkedid: str, *, first_only: Collection[str] = (),
                  **changes: object) -> CallPublic | None:
        """Apply ``changes`` to the call; None if we never saw it start (e.g. it began before we connected).

        Fields named in ``first_only`` keep a value they already have (a transferred call joins a second queue
        and is answered again; its first wait and first answer are what the KPIs measure)."""
        call = _by_linkedid(session, linkedid)
        if call is None:
            return None
        for name, value in changes.items():
            if not (name in first_only and getattr(call, name) is not None):
                setattr(call, name, value)
        session.add(call)
        return CallPublic.of(call)

    @staticmethod
    def change_in(session: Session, linkedid: str, changes: Mapping[str, object], *,
                  first_only: Collection[str] = (), operator_of: str | None = None) -> None:
        """:meth:`update_in` as one UPDATE statement, nothing read back (the record writer's batches): fields in
        ``first_only`` keep a value they have; with ``operator_of``, ``operator_id`` becomes that extension's user."""
        columns = Call.__table__.c  # type: ignore[attr-defined]
        values: dict[str, object] = {}
        for name, value in changes.items():
            bound = sa.bindparam(None, value, type_=columns[name].type)
            values[name] = sa.func.coalesce(columns[name], bound) if name in first_only else bound
        if operator_of is not None:
            operator = sa.select(col(User.id)).where(col(User.extension) == operator_of).limit(1).scalar_subquery()
            values["operator_id"] = sa.func.coalesce(columns["operator_id"], operator)
        if values:
            session.execute(sa.update(Call).where(col(Call.linkedid) == linkedid).values(values))

    @staticmethod
    def finish_in(session: Session, linkedid: str, *, at: datetime, **changes: object) -> CallPublic | None:
        """Close the record (with the caller's last choices, ``changes``) and settle its outcome; read afresh, since
        :meth:`change_in` may have changed the row under an object this session already holds."""
        call = session.exec(select(Call).where(Call.linkedid == linkedid)
                            .execution_options(populate_existing=True)).first()
        if call is None:
            return None
        for name, value in changes.items():
            setattr(call, name, value)
        if call.ended_at is None:
            call.ended_at = at
        if call.outcome == CallOutcome.IN_PROGRESS:
            call.outcome = settled_outcome(call)
        session.add(call)
        return CallPublic.of(call)

    @staticmethod
    def operator_id_in(session: Session, extension: str) -> int | None:
        user = session.exec(select(User).where(User.extension == extension)).first()
        return user.id if user else None

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
            return self.operator_id_in(session, extension)

    def history(self, caller_number: str) -> list[TicketPublic]:
        with unit_of_work(self._engine) as session:
            return tickets_for_caller(session, caller_number)


def _by_linkedid(session: Session, linkedid: str) -> Call | None:
    return session.exec(select(Call).where(Call.linkedid == linkedid)).first()


def settled_outcome(call: Call) -> CallOutcome:
    if call.answered_at is not None:
        return CallOutcome.ANSWERED
    if call.queued_at is not None:
        return CallOutcome.ABANDONED
    return CallOutcome.IVR_ONLY
