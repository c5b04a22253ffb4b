"""Several web workers: a web-only worker (no AMI, no FastAGI) serves an operator whose call is handled by the
telephony process; events reach the worker through Redis and its call controls reach Asterisk through the relay,
and so do the admin page's phone changes (only the telephony process writes pjsip.conf)."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from sqlmodel import Session, select

from agent_console.routes.admin import PHONE_PENDING
from callcenter.platform.security import hash_password
from callcenter.telephony.asterisk_sandbox import runtime_for
from db.models import Role, User
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


async def test_given_a_web_only_worker_when_the_admin_adds_and_deactivates_a_phone_then_telephony_applies_it(
    asterisk: AsteriskUnderTest, database_url: str, redis_namespace: str,
) -> None:
    telephony_settings = asterisk.settings.model_copy(update={
        "database_url": database_url, "web_port": free_port(), "redis_url": REDIS_URL,
        "redis_namespace": redis_namespace})
    # The worker is told of an Asterisk instance that was never provisioned: had it rendered the change itself, it
    # would have found no pjsip.conf, the running Asterisk would not have the phone and the page would say so.
    web_settings = telephony_settings.model_copy(update={"role": "web", "web_port": free_port(),
                                                         "asterisk_instance": "never-provisioned"})
    runtime = runtime_for(asterisk.settings)
    pjsip_conf = runtime.host_path(runtime.instance_dir / "etc" / "pjsip.conf")
    async with running_backend(telephony_settings) as telephony, running_backend(web_settings) as web:
        with Session(telephony.engine) as session:
            session.add(User(username="site.admin", full_name="مدیر آزمایشی", role=Role.ADMIN,
                             password_hash=hash_password("admin-test-password")))
            session.commit()
        client = await logged_in_client(web.url, "site.admin", "admin-test-password")
        try:
            page = (await client.post("/admin/staff", data={
                "username": "maryam.karimi", "full_name": "مریم کریمی", "role": "operator",
                "password": "operator-pass"})).text
            with Session(telephony.engine) as session:
                added = session.exec(select(User).where(User.username == "maryam.karimi")).one()
            assert added.extension == "1003"  # after the test staff's 1001 and 1002
            assert PHONE_PENDING not in page  # rendered and PJSIP reloaded, as the telephony process answered
            assert "[1003]" in pjsip_conf.read_text()

            off = await client.post(f"/admin/staff/{added.id}/active", data={"active": "false"})
            assert off.status_code == 303
            assert "[1003]" not in pjsip_conf.read_text()
            assert PHONE_PENDING not in (await client.get("/admin")).text
        finally:
            await client.aclose()
