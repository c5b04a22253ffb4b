"""A caller waiting in a queue hears music, not the silence that makes people think the line went dead."""

from __future__ import annotations

import asyncio

import pytest

from ivr.hold_music import GENERATED_NAME
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.console import operator_in_queue
from tests.support.sipp import Sipp, SippResult

pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
CALLER = "09125556677"


async def test_given_the_operator_not_answering_yet_when_a_citizen_waits_in_the_queue_then_music_plays_to_them(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver,
) -> None:
    # The operator is in the queue, but no phone answers at their contact: the citizen waits in the queue.
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        waiting: asyncio.Task[SippResult] = asyncio.create_task(
            sipp.citizen_calls(caller=CALLER, digits="1", hold_ms=9000, local_port=CITIZENS_PORT))
        [joined] = await ami_observer.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("CallerIDNum") == CALLER, timeout=40)
        [music] = await ami_observer.wait_for(
            lambda e: e.get("Event") == "MusicOnHoldStart" and e.get("Channel") == joined["Channel"], timeout=10)
        listing = await ami_observer.command("moh show files")
        result = await waiting

    assert music["Class"] == "default"
    assert f"/sounds/moh/{GENERATED_NAME.removesuffix('.wav')}" in listing, listing
    assert result.failed == 0, result.output[-3000:]
