"""The call tracker's record writer on a real database (SQLite and PostgreSQL): order, batches, faults, shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select, text

from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.record_writer import RecordWriter
from db.models import Call, CallPublic

AT = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def start(linkedid: str) -> Callable[[Session], CallPublic]:
    return lambda session: CallRecords.start_in(session, linkedid=linkedid, line="137", caller_number="09121111111",
                                                channel="PJSIP/trunk-1", at=AT)


def linkedids(engine: sa.Engine) -> list[str]:
    """The calls in the order they were inserted."""
    with Session(engine) as session:
        return [call.linkedid for call in session.exec(select(Call).order_by(col(Call.id))).all()]


class Gate:
    """A write that holds the writer (as a slow database would) until the test opens it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()

    def __call__(self, _session: Session) -> None:
        self.entered.set()
        self._open.wait(10)

    def open(self) -> None:
        self._open.set()


class DropsTheConnectionOnce:
    """A write whose first attempt loses the database under it: PostgreSQL's own connection is terminated by the
    server; SQLite reports itself busy. Both are the writer's "database away"."""

    def __init__(self, engine: sa.Engine) -> None:
        self.attempts = 0
        self._postgres = engine.dialect.name == "postgresql"

    def __call__(self, session: Session) -> None:
        self.attempts += 1
        if self.attempts > 1:
            return
        if self._postgres:
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        raise OperationalError("database is locked", None, Exception("locked"))


async def test_given_writes_submitted_together_when_they_land_then_in_the_order_submitted_in_one_transaction(
    engine: sa.Engine,
) -> None:
    writer = RecordWriter(engine=engine)
    gate = Gate()
    writer.submit(gate)
    await asyncio.to_thread(gate.entered.wait, 10)
    written = [writer.submit(start(f"1700000000.{n}")) for n in (3, 1, 2)]
    assert writer.pending == 4
    gate.open()
    await writer.flush()

    assert linkedids(engine) == ["1700000000.3", "1700000000.1", "1700000000.2"]
    assert [call.result().linkedid for call in written] == ["1700000000.3", "1700000000.1", "1700000000.2"]
    assert all(call.result().id for call in written)
    assert writer.batches == 2  # the gate's own, then the three together (with flush's marker)
    assert writer.pending == 0
    await writer.stop()


async def test_given_the_connection_lost_midway_through_a_batch_when_retried_then_every_record_lands_once(
    engine: sa.Engine,
) -> None:
    writer = RecordWriter(engine=engine, retry_delays=(0.01,))
    gate, fault = Gate(), DropsTheConnectionOnce(engine)
    writer.submit(gate)
    await asyncio.to_thread(gate.entered.wait, 10)
    writer.submit(start("1700000000.1"))
    writer.submit(fault)  # the batch's transaction dies here, after the first insert
    writer.submit(start("1700000000.2"))
    gate.open()
    await writer.flush()

    assert fault.attempts == 2
    assert linkedids(engine) == ["1700000000.1", "1700000000.2"]
    assert writer.failed == 0
    await writer.stop()


async def test_given_a_record_the_database_refuses_when_batched_with_others_then_only_it_is_lost(
    engine: sa.Engine,
) -> None:
    def duplicate(session: Session) -> None:  # a second row for a linkedid already written: never valid
        session.add(Call(linkedid="1700000000.1", line="137", started_at=AT))
        session.flush()

    writer = RecordWriter(engine=engine)
    gate = Gate()
    writer.submit(gate)
    await asyncio.to_thread(gate.entered.wait, 10)
    writer.submit(start("1700000000.1"))
    refused = writer.submit(duplicate)
    after = writer.submit(start("1700000000.2"))
    gate.open()
    await writer.flush()

    assert linkedids(engine) == ["1700000000.1", "1700000000.2"]
    assert isinstance(refused.exception(), IntegrityError)
    assert after.result().linkedid == "1700000000.2"
    assert writer.failed == 1
    await writer.stop()


async def test_given_writes_waiting_when_the_writer_stops_then_they_are_saved_first(engine: sa.Engine) -> None:
    writer = RecordWriter(engine=engine)
    for n in range(50):
        writer.submit(start(f"1700000001.{n}"))
    await writer.stop()

    assert linkedids(engine) == [f"1700000001.{n}" for n in range(50)]
    assert writer.pending == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_given_the_database_away_at_shutdown_when_the_writer_stops_then_it_gives_up_after_its_timeout(
    engine: sa.Engine,
) -> None:
    class AlwaysAway:
        def __call__(self, _session: Session) -> None:
            raise OperationalError("database is locked", None, Exception("locked"))

    writer = RecordWriter(engine=engine, retry_delays=(0.01,))
    writer.submit(start("1700000002.1"))
    writer.submit(AlwaysAway())
    await writer.stop(timeout=0.3)

    assert writer.lost == 2  # counted and logged, not waited for forever
    assert linkedids(engine) == []
