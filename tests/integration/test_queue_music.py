"""Callers waiting in a queue hear music, not the silence that makes people think the line went dead, and a
Persian "please hold" between the music."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.telephony.asterisk_sandbox import runtime_for
from ivr.hold_music import GENERATED_NAME
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, PHONES_PORT, RunningBackend
from tests.support.console import operator_in_queue
from tests.support.sipp import Sipp, SippResult

pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
CALLER = "09125556677"


def asterisk_log(backend: RunningBackend) -> str:
    runtime = runtime_for(backend.settings)
    return runtime.host_path(runtime.instance_dir / "log" / "messages.log").read_text(errors="replace")


async def test_given_two_citizens_waiting_for_a_ringing_operator_then_music_plays_and_the_second_hears_please_hold(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver,
) -> None:
    # The operator is in the queue and their phone rings without being picked up: the first caller waits while it
    # rings, the second behind them. The test Asterisk says "please hold" every 4 s (tests/support/backend.py); the
    # queue spares the first caller, whose operator may pick up in the middle of it (announce-to-first-user).
    assert backend.settings.queue_announce_seconds == 4
    # Only this test's lines: channel names start again from 0 when an earlier module restarted the session's Asterisk.
    log_start = len(asterisk_log(backend))
    phone = await sipp.start_phones(local_port=PHONES_PORT, ring_ms=60_000)
    try:
        await hear_the_queue(backend, sipp, ami_observer, log_start)
    finally:
        phone.kill()
        await phone.wait()


async def hear_the_queue(backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, log_start: int) -> None:
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        waiting: asyncio.Task[SippResult] = asyncio.create_task(sipp.citizen_calls(
            caller=CALLER, digits="1", hold_ms=20000, calls=2, local_port=CITIZENS_PORT))
        [first] = await ami_observer.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Position") == "1", timeout=40)
        [second] = await ami_observer.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Position") == "2", timeout=10)
        await ami_observer.wait_for(
            lambda e: e.get("Event") == "MusicOnHoldStart" and e.get("Channel") == second["Channel"], count=2,
            timeout=20)
        listing = await ami_observer.command("moh show files")
        result = await waiting

    assert result.failed == 0, result.output[-3000:]
    assert f"/sounds/moh/{GENERATED_NAME.removesuffix('.wav')}" in listing, listing

    def music_events(channel: str) -> list[tuple[str, str]]:
        return [(e["Event"], e.get("Class", "")) for e in ami_observer.events
                if e.get("Channel") == channel and e.get("Event", "").startswith("MusicOnHold")]

    assert music_events(first["Channel"])[:1] == [("MusicOnHoldStart", "default")]
    # The music stops for the announcement and comes back after it.
    assert music_events(second["Channel"])[:3] == [
        ("MusicOnHoldStart", "default"), ("MusicOnHoldStop", ""), ("MusicOnHoldStart", "default")]
    played = [line for line in asterisk_log(backend)[log_start:].splitlines() if "queue_please_hold" in line]
    assert any(f"<{second['Channel']}> Playing" in line for line in played), played[-5:]
    assert not any(f"<{first['Channel']}> Playing" in line for line in played), played[-5:]
