"""Several web workers: a web-only worker (no AMI, no FastAGI) serves an operator whose call is handled by the
telephony process; events reach the worker through Redis and its call controls reach Asterisk through the relay."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.support.backend import CITIZENS_PORT, OPERATOR_1, free_port, running_backend
from tests.support.console import logged_in_client, next_event
from tests.support.fixtures import AsteriskUnderTest
from tests.support.redis_service import REDIS_URL
from tests.support.sipp import Sipp, SippResult

pytestmark = pytest.mark.asterisk

CITIZEN = "09123330137"


async def test_given_a_web_only_worker_when_its_operator_takes_a_call_then_events_and_controls_cross_redis(
    asterisk: AsteriskUnderTest, database_url: str, redis_namespace: str, sipp: Sipp, operator_phones: object,
) -> None:
    telephony_settings = asterisk.settings.model_copy(update={
        "database_url": database_url, "web_port": free_port(), "redis_url": REDIS_URL,
        "redis_namespace": redis_namespace})
    web_settings = telephony_settings.model_copy(update={"role": "web", "web_port": free_port()})
    async with running_backend(telephony_settings) as telephony, running_backend(web_settings) as web:
        assert web.services.telephony is None  # FastAGI and AMI live in the telephony process only: not even built
        assert web.services.web.fastagi is None
        client = await logged_in_client(web.url, OPERATOR_1.username, OPERATOR_1.password)
        health = (await client.get("/healthz")).json()
        assert health["ami"] == "connected" and health["fastagi"] == "in the telephony process"
        cookie = f"pasokh_session={client.cookies['pasokh_session']}"
        async with websockets.connect(web.ws_url, additional_headers={"Cookie": cookie}) as ws:
            await next_event(ws, "hello")
            joined = await client.post("/api/queue/join", json={"queue": "line137"})
            assert joined.status_code == 204, joined.text
            assert (await next_event(ws, "agent_state"))["data"]["state"] == "ready"
            assert [q["state"] for q in (await client.get("/api/me")).json()["queues"]] == ["ready"]

            citizen: asyncio.Task[SippResult] = asyncio.create_task(
                sipp.citizen_calls(caller=CITIZEN, digits="1", hold_ms=30_000, local_port=CITIZENS_PORT))
            try:
                pop = await next_event(ws, "call_connected", timeout=40)
                assert pop["data"]["call"]["caller_number"] == CITIZEN
                hung_up = await client.post("/api/call/hangup")
                assert hung_up.status_code == 204, hung_up.text
                ended = await next_event(ws, "call_ended", timeout=15)
                assert ended["data"]["call"]["id"] == pop["data"]["call"]["id"]
            finally:
                result = await citizen
        await client.aclose()
    assert result.failed == 0 and result.successful == 1, result.output[-3000:]  # Asterisk hung up on them
    assert telephony.services.telephony.relay_server is not None
