"""Blind transfer on real Asterisk, whether or not the citizen was on hold: the supervisor's phone answers them."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, SUPERVISOR, RunningBackend
from tests.support.console import operator_in_queue
from tests.support.sipp import Sipp, SippResult

pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
CITIZEN = "09126665544"


@pytest.mark.parametrize("held", [True, False], ids=["held", "talking"])
async def test_given_an_operator_on_a_call_when_transferring_to_the_supervisor_then_the_supervisors_phone_answers(
    held: bool, backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver,
) -> None:
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password) as op:
        citizen: asyncio.Task[SippResult] = asyncio.create_task(
            sipp.citizen_calls(caller=CITIZEN, digits="1", hold_ms=12_000, local_port=CITIZENS_PORT))
        await ami_observer.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("CallerIDNum") == CITIZEN, timeout=40)
        if held:  # the mute is the citizen channel's own: the transfer lifts it, or nobody would hear them
            assert (await op.post("/api/call/hold", json={"on_hold": True})).status_code == 204

        moved = await op.post("/api/call/transfer", json={"target": SUPERVISOR.extension})

        assert moved.status_code == 204, moved.text
        await ami_observer.wait_for(lambda e: e.get("Event") == "DialEnd" and e.get("DialStatus") == "ANSWER"
                                    and e.get("DestChannel", "").startswith(f"PJSIP/{SUPERVISOR.extension}-")
                                    and e.get("CallerIDNum") == CITIZEN)
        result = await citizen
    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
