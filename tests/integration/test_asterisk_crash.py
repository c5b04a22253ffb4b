"""Asterisk killed (SIGKILL) under live calls: the supervisor `run` uses brings it back, the AMI bridge resyncs
operators and calls from it, and the calls it cut count as lost to a fault, not as abandoned by their callers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from sqlmodel import Session, select

from callcenter.telephony.asterisk_supervisor import AsteriskSupervisor, Backoff
from db.models import Call, CallOutcome
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, OPERATOR_2, SUPERVISOR, RunningBackend
from tests.support.console import logged_in_client, next_event
from tests.support.fixtures import AsteriskUnderTest
from tests.support.sipp import Sipp

pytestmark = pytest.mark.asterisk

CALLER = "09150000011"


async def eventually(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return False


@contextlib.contextmanager
def supervised(asterisk: AsteriskUnderTest) -> Iterator[AsteriskSupervisor]:
    """The supervisor `python -m callcenter run` starts over the Asterisk it started (here the session's)."""
    supervisor = AsteriskSupervisor(asterisk.process, backoff=Backoff(first_seconds=0.5))
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()


def calls_of(backend: RunningBackend) -> list[Call]:
    with Session(backend.engine) as session:
        return list(session.exec(select(Call).where(Call.caller_number == CALLER).order_by(Call.id)).all())


def kill_asterisk(asterisk: AsteriskUnderTest) -> None:
    pid = asterisk.process._pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


async def test_given_a_call_talking_and_one_waiting_when_asterisk_is_killed_then_it_comes_back_and_truth_is_resynced(
    backend: RunningBackend, asterisk: AsteriskUnderTest, sipp: Sipp, operator_phones: object,
) -> None:
    talker = await logged_in_client(backend.url, OPERATOR_1.username, OPERATOR_1.password)
    on_break = await logged_in_client(backend.url, OPERATOR_2.username, OPERATOR_2.password)
    supervisor_client = await logged_in_client(backend.url, SUPERVISOR.username, SUPERVISOR.password)
    calls: list[asyncio.Task[Any]] = []
    try:
        assert (await on_break.post("/api/queue/join", json={"queue": "line137"})).status_code == 204
        assert (await on_break.post("/api/queue/pause", json={"queue": "line137", "reason": "training"})).status_code \
            == 204
        cookie = f"pasokh_session={talker.cookies['pasokh_session']}"
        async with websockets.connect(backend.ws_url, additional_headers={"Cookie": cookie}) as console:
            await next_event(console, "hello")
            assert (await talker.post("/api/queue/join", json={"queue": "line137"})).status_code == 204
            # Two citizens a second apart: operator 1 answers the first, the second waits (operator 2 is paused).
            calls.append(asyncio.create_task(sipp.citizen_calls(
                caller=CALLER, digits="1", hold_ms=60_000, calls=2, concurrent=2, rate_per_s=1,
                local_port=CITIZENS_PORT, timeout=70)))
            await next_event(console, "call_connected", timeout=40)
            assert await eventually(lambda: [c.queued_at is not None for c in calls_of(backend)] == [True, True], 40)
            await asyncio.sleep(1.5)  # Asterisk writes queue members to its database within a second (astdb)

            with supervised(asterisk) as supervisor:
                kill_asterisk(asterisk)
                assert await eventually(lambda: not backend.services.web.ami.connected, 15)
                assert await eventually(lambda: backend.services.web.ami.connected, 60)
                ended = await next_event(console, "call_ended", timeout=10)
                ready = await next_agent_state(console, OPERATOR_1.extension)
            me = (await talker.get("/api/me")).json()
            paused = (await on_break.get("/api/me")).json()
            board = (await supervisor_client.get("/api/wallboard")).json()
    finally:
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        for client in (talker, on_break, supervisor_client):
            await client.post("/api/queue/leave", json={"queue": "line137"})
            await client.aclose()

    assert supervisor.restarts == 1
    talked, waited = sorted(calls_of(backend), key=lambda call: call.answered_at is None)
    assert (talked.outcome, waited.outcome) == (CallOutcome.LOST_TO_FAULT, CallOutcome.LOST_TO_FAULT)
    assert talked.answered_at is not None and waited.answered_at is None
    assert ended["data"]["call"]["id"] == talked.id
    assert (ready["data"]["state"], [q["state"] for q in me["queues"]]) == ("ready", ["ready"])  # not left on call
    assert [(q["state"], q["reason"]) for q in paused["queues"]] == [("paused", "training")]
    kpis = board["kpis"]
    assert (kpis["lost_to_fault"], kpis["abandoned"], kpis["answered"]) == (2, 0, 1)
    assert board["talking"] == [] and board["waiting"] == []
    resyncs = backend.services.web.metrics.ami_resync_seconds.collect()[0].samples
    assert next(s.value for s in resyncs if s.name.endswith("_count")) >= 1


async def next_agent_state(console: Any, extension: str) -> dict[str, Any]:
    while True:
        event = await next_event(console, "agent_state", timeout=10)
        if event["data"]["extension"] == extension:
            return event

