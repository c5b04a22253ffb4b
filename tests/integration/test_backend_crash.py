"""The backend (FastAGI, the AMI bridge, the consoles' server) SIGKILLed during 30 live calls: no caller is dropped
(the dialplan sends each to the queue when FastAGI fails), and once it is back the consoles show the truth,
resynced from Asterisk: the calls in progress, who waits and who talks."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlmodel import Session, col, select

from db.engine import make_engine
from db.models import Call, CallOutcome
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, OPERATOR_2, SUPERVISOR, free_port, seed_staff
from tests.support.backend_process import BackendProcess
from tests.support.console import logged_in_client, next_event
from tests.support.fixtures import AsteriskUnderTest
from tests.support.sipp import Sipp, SippResult

pytestmark = pytest.mark.asterisk

CALLS = 30
CALLER = "09150000030"
OPERATORS = (OPERATOR_1, OPERATOR_2)


async def callers_waiting_in_asterisk(observer: AmiObserver) -> int:
    """What Asterisk itself says of the 137 queue ("line137 has N calls")."""
    found = re.search(r"has (\d+) calls?", await observer.command("queue show line137"))
    assert found, "queue show answered nothing readable"
    return int(found.group(1))


async def test_given_30_calls_in_the_ivr_when_the_backend_is_killed_then_none_drops_and_consoles_resync_the_truth(
    asterisk: AsteriskUnderTest, database_url: str, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver,
    tmp_path: Path,
) -> None:
    engine = make_engine(database_url)
    seed_staff(engine)
    backend = BackendProcess(asterisk.settings.model_copy(update={"database_url": database_url,
                                                                  "web_port": free_port()}),
                             log=tmp_path / "backend.log")
    await asyncio.to_thread(backend.start)
    operators = [await logged_in_client(backend.url, a.username, a.password) for a in OPERATORS]
    supervisor = await logged_in_client(backend.url, SUPERVISOR.username, SUPERVISOR.password)
    citizens: asyncio.Task[SippResult] | None = None
    try:
        for client in operators:
            assert (await client.post("/api/queue/join", json={"queue": "line137"})).status_code == 204
        citizens = asyncio.create_task(sipp.citizen_calls(
            caller=CALLER, digits="1", hold_ms=25_000, calls=CALLS, concurrent=CALLS, rate_per_s=CALLS,
            local_port=CITIZENS_PORT, timeout=90))
        # Every caller is in the voice menu (a FastAGI session of its own) when the backend dies.
        await ami_observer.wait_for(lambda e: e.get("Event") == "AGIExecStart", count=CALLS, timeout=30)
        await asyncio.to_thread(backend.kill)
        await asyncio.sleep(2)  # meanwhile the callers reach the queue, two are answered
        await asyncio.to_thread(backend.start)

        cookie = f"pasokh_session={operators[0].cookies['pasokh_session']}"
        async with websockets.connect(backend.url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": cookie}) as console:  # the console reconnects
            await next_event(console, "hello")
            me = [(await client.get("/api/me")).json() for client in operators]
            board = (await supervisor.get("/api/wallboard")).json()
            waiting_in_asterisk = await callers_waiting_in_asterisk(ami_observer)
        result = await citizens
    finally:
        if citizens is not None and not citizens.done():
            citizens.cancel()
        for client in operators:
            await client.post("/api/queue/leave", json={"queue": "line137"})
            await client.aclose()
        await supervisor.aclose()
        await asyncio.to_thread(backend.stop)

    assert result.failed == 0 and result.successful == CALLS, result.output[-3000:]
    joined = {e["Uniqueid"] for e in ami_observer.matching(lambda e: e.get("Event") == "QueueCallerJoin")}
    assert len(joined) == CALLS  # every caller reached the queue: none was dropped with the IVR
    assert [[q["state"] for q in mine["queues"]] for mine in me] == [["talking"], ["talking"]]
    assert len(board["talking"]) == len(OPERATORS)
    assert len(board["waiting"]) == waiting_in_asterisk == CALLS - len(OPERATORS)
    assert {call["operator_extension"] for call in board["talking"]} == {a.extension for a in OPERATORS}
    with Session(engine) as session:
        calls: list[Any] = list(session.exec(select(Call).where(col(Call.caller_number) == CALLER)).all())
    engine.dispose()
    assert len(calls) == CALLS
    assert all(call.queued_at is not None for call in calls)
    assert not [call for call in calls if call.outcome in (CallOutcome.IVR_ONLY, CallOutcome.LOST_TO_FAULT)]
