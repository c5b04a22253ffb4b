"""The AMI bridge survives Asterisk going away: it reports the outage and reconnects by itself."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.console import log_in
from tests.support.fixtures import AsteriskUnderTest
from tests.support.sipp import Sipp


async def wait_until(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.2)
    return False


async def test_given_asterisk_restarts_then_bridge_reconnects_and_the_next_call_is_tracked(
    backend: RunningBackend, asterisk: AsteriskUnderTest, sipp: Sipp, operator_phones: object
) -> None:
    await asyncio.to_thread(asterisk.process.stop)
    assert await wait_until(lambda: not backend.services.web.ami.connected, 10)
    async with httpx.AsyncClient(base_url=backend.url) as client:
        during = await client.get("/healthz")
        await asyncio.to_thread(asterisk.process.start)
        assert await wait_until(lambda: backend.services.web.ami.connected, 15)
        after = await client.get("/healthz")
        login = await log_in(client, OPERATOR_1.username, OPERATOR_1.password)
        assert login.status_code == 303
        assert (await client.post("/api/queue/join", json={"queue": "line137"})).status_code == 204
        result = await sipp.citizen_calls(caller="09150000001", digits="1", hold_ms=9000, local_port=CITIZENS_PORT)

    assert during.status_code == 503 and during.json()["ami"] == "disconnected"
    assert after.status_code == 200 and after.json()["ami"] == "connected"
    assert result.failed == 0, result.output[-2000:]
    assert await wait_until(lambda: backend.services.web.metrics.calls_started.labels(line="137")._value.get() >= 1, 5)
