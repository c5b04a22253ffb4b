"""Asterisk killed (SIGKILL) under live calls: the supervisor `run` uses brings it back, the AMI bridge resyncs
operators and calls from it, and the calls it cut count as lost to a fault, not as abandoned by their callers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import Session, select

from callcenter.bootstrap.provisioning import provision_asterisk
from callcenter.telephony.asterisk_supervisor import AsteriskSupervisor, Backoff
from db.engine import make_engine
from db.models import Call, CallOutcome
from db.seed import UNITS
from tests.support.backend import (
    CITIZENS_PORT,
    OPERATOR_1,
    OPERATOR_2,
    SUPERVISOR,
    TEST_AMI_USER,
    TEST_STAFF,
    RunningBackend,
    free_port,
    seed_staff,
)
from tests.support.backend_process import BackendProcess
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
    # This process started the session's Asterisk: reaped here, or it lingers as a zombie that `run` sees alive.
    deadline = time.monotonic() + 10
    while not asterisk.process.has_exited() and time.monotonic() < deadline:
        time.sleep(0.05)


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



NOISE = ("/healthz", "reconnect", "Getvar", "Traceback", "ActionID", "Variable", "RuntimeError", "  File")


def without_polls(log: str) -> str:
    """The log without the polls and the AMI retries of the outage: what `run` said about Asterisk."""
    return "\n".join(line for line in log.splitlines() if line.strip() and not any(n in line for n in NOISE))


def healthz_status(url: str) -> int:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code
    except httpx.TransportError:
        return 0


async def test_given_make_run_when_its_asterisk_is_killed_then_run_restarts_it_logs_and_counts_the_restart(
    asterisk: AsteriskUnderTest, migrated_sqlite: Path, tmp_path: Path,
) -> None:
    """`python -m callcenter run` takes over the session's Asterisk (as over one already running) and stops it on
    exit; the session's configuration and Asterisk are put back afterwards. The database does not matter here:
    SQLite only."""
    shutil.copyfile(migrated_sqlite, tmp_path / "run.sqlite3")
    database_url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    engine = make_engine(database_url)
    seed_staff(engine)  # `run` renders the phones from the staff table: the same ones as the session's
    engine.dispose()
    run = BackendProcess(asterisk.settings.model_copy(update={"database_url": database_url, "web_port": free_port()}),
                         log=tmp_path / "run.log", command="run")
    try:
        await asyncio.to_thread(run.start)
        kill_asterisk(asterisk)
        assert await eventually(lambda: healthz_status(run.url) == 503, 15)  # the bridge saw Asterisk go
        assert await eventually(lambda: healthz_status(run.url) == 200, 60), without_polls(run.output())[:6000]
        metrics = httpx.get(f"{run.url}/metrics", timeout=5).text
    finally:
        await asyncio.to_thread(run.stop)
        await asyncio.to_thread(provision_asterisk, asterisk.settings, phones=[a.phone for a in TEST_STAFF],
                                unit_names=[name for name, _kind, _parent in UNITS], extra_ami_users=[TEST_AMI_USER])

    output = run.output()
    assert "Asterisk exited (status None); restarting it in 1.0 s (restart 1 in a row)" in output
    assert "Asterisk restarted (1 restarts since this process started)" in output
    assert "pasokh_asterisk_restarts_total 1.0" in metrics
