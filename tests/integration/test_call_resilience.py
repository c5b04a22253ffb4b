"""A citizen's call is never dropped because our code failed, and the line cap refuses politely."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import Session, select

from db.models import Call, CallOutcome
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.console import log_in, operator_in_queue
from tests.support.sipp import Sipp


async def join_queue_as(backend: RunningBackend, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=backend.url, timeout=10)
    login = await log_in(client, username, password)
    assert login.status_code == 303
    joined = await client.post("/api/queue/join", json={"queue": "line137"})
    assert joined.status_code == 204, joined.text
    return client


async def my_state_once(client: httpx.AsyncClient, settled: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """/api/me as soon as the bridge has seen the change (the AMI event may trail the HTTP answer)."""
    for _ in range(50):
        me: dict[str, Any] = (await client.get("/api/me")).json()
        if settled(me):
            return me
        await asyncio.sleep(0.1)
    return me


async def test_given_fastagi_server_down_when_citizen_calls_137_then_call_still_reaches_an_operator(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver
) -> None:
    client = await join_queue_as(backend, OPERATOR_1.username, OPERATOR_1.password)
    await backend.services.telephony.agi.stop()
    assert not backend.services.telephony.agi.listening

    result = await sipp.citizen_calls(caller="09130000001", digits="", hold_ms=6000, local_port=CITIZENS_PORT)
    await client.aclose()

    assert result.failed == 0 and result.successful == 1, result.output[-2000:]
    connects = ami_observer.matching(
        lambda e: e.get("Event") == "AgentConnect" and e.get("CallerIDNum") == "09130000001"
    )
    assert connects and connects[0]["Interface"] == f"PJSIP/{OPERATOR_1.extension}"
    agi_status = ami_observer.matching(
        lambda e: e.get("Event") == "VarSet" and e.get("Variable") == "AGISTATUS"
        and e.get("CallerIDNum") == "09130000001"
    )
    assert agi_status and agi_status[0]["Value"] == "FAILURE"


async def test_given_cap_of_30_when_31_citizens_call_at_once_then_30_reach_the_ivr_and_one_hears_lines_busy(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver
) -> None:
    assert backend.settings.max_inbound_calls == 30
    result = await sipp.citizen_calls(
        caller="09140000000", digits="", hold_ms=9000, calls=31, concurrent=31, rate_per_s=60, local_port=CITIZENS_PORT
    )

    assert result.failed == 0 and result.successful == 31, result.output[-2000:]
    ivr_channels = {e["Channel"] for e in ami_observer.matching(lambda e: e.get("Event") == "AGIExecStart")}
    busy_playbacks = ami_observer.matching(
        lambda e: e.get("Event") == "Newexten" and e.get("Application") == "Playback"
        and "all_lines_busy" in e.get("AppData", "")
    )
    assert len(ivr_channels) == 30
    assert len(busy_playbacks) == 1
    assert busy_playbacks[0]["Channel"] not in ivr_channels
    await asyncio.sleep(1)
    with Session(backend.engine) as session:
        outcomes = [c.outcome for c in session.exec(select(Call)).all()]
    assert outcomes.count(CallOutcome.LINES_BUSY) == 1
    assert outcomes.count(CallOutcome.IVR_ONLY) == 30


async def test_when_everything_is_up_then_healthz_reports_each_part_and_503_once_fastagi_stops(
    backend: RunningBackend,
) -> None:
    async with httpx.AsyncClient(base_url=backend.url) as client:
        healthy = await client.get("/healthz")
        await backend.services.telephony.agi.stop()
        degraded = await client.get("/healthz")
        metrics = await client.get("/metrics")

    assert healthy.status_code == 200, healthy.text
    body = healthy.json()
    assert body["database"] == "ok" and body["ami"] == "connected" and body["fastagi"] == "listening"
    assert body["asterisk_version"].startswith("22")
    assert degraded.status_code == 503 and degraded.json()["fastagi"] == "down"
    assert "pasokh_ami_connected 1.0" in metrics.text


async def test_when_operator_joins_then_leaves_the_queue_then_asterisk_adds_then_removes_their_phone(
    backend: RunningBackend, ami_observer: AmiObserver
) -> None:
    client = await join_queue_as(backend, OPERATOR_1.username, OPERATOR_1.password)
    added = await ami_observer.wait_for(lambda e: e.get("Event") == "QueueMemberAdded", timeout=10)
    me_in_queue = await my_state_once(client, lambda me: bool(me["queues"]))
    left = await client.post("/api/queue/leave", json={"queue": "line137"})
    removed = await ami_observer.wait_for(lambda e: e.get("Event") == "QueueMemberRemoved", timeout=10)
    me_after = await my_state_once(client, lambda me: not me["queues"])
    await client.aclose()

    assert added[0]["Queue"] == "line137" and added[0]["Interface"] == f"PJSIP/{OPERATOR_1.extension}"
    assert [(q["queue"], q["state"], q["reason"]) for q in me_in_queue["queues"]] == [("line137", "ready", None)]
    assert left.status_code == 204
    assert removed[0]["Interface"] == f"PJSIP/{OPERATOR_1.extension}"
    assert me_after["queues"] == []


async def test_given_operator_in_the_queue_when_joining_twice_and_leaving_twice_then_each_click_succeeds(
    backend: RunningBackend, ami_observer: AmiObserver
) -> None:
    """A second tab or a double click: Asterisk answers "Already there" / "Not there", which is what was asked."""
    client = await join_queue_as(backend, OPERATOR_1.username, OPERATOR_1.password)
    await ami_observer.wait_for(lambda e: e.get("Event") == "QueueMemberAdded", timeout=10)
    joined_again = await client.post("/api/queue/join", json={"queue": "line137"})
    left = await client.post("/api/queue/leave", json={"queue": "line137"})
    await ami_observer.wait_for(lambda e: e.get("Event") == "QueueMemberRemoved", timeout=10)
    left_again = await client.post("/api/queue/leave", json={"queue": "line137"})
    me_after = await my_state_once(client, lambda me: not me["queues"])
    await client.aclose()

    assert (joined_again.status_code, left.status_code, left_again.status_code) == (204, 204, 204), (
        joined_again.text, left_again.text)
    assert len(ami_observer.matching(lambda e: e.get("Event") == "QueueMemberAdded")) == 1
    assert me_after["queues"] == []


async def test_given_operator_in_1888_queue_when_citizen_calls_1888_and_presses_0_then_it_reaches_the_1888_queue(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, ami_observer: AmiObserver
) -> None:
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password,
                                 queue="line1888"):
        result = await sipp.citizen_calls(number="1888", caller="09160000001", digits="0", hold_ms=10000,
                                          local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    connects = ami_observer.matching(lambda e: e.get("Event") == "AgentConnect")
    assert [(e["Queue"], e["CallerIDNum"]) for e in connects] == [("line1888", "09160000001")]
    with Session(backend.engine) as session:
        call = session.exec(select(Call).where(Call.caller_number == "09160000001")).one()
    assert call.line == "1888" and call.queue_name == "line1888"
