"""Web-only workers' AMI actions relayed through the real Redis to the process that owns the AMI connection."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.platform.errors import AsteriskRefused, AsteriskUnavailable, NoActiveCall
from callcenter.telephony.ami_relay import AmiRelayServer, RelayedAmi
from callcenter.telephony.asterisk_actions import AsteriskActions
from tests.support.asterisk_fakes import RecordingAsterisk
from tests.support.redis_service import REDIS_URL


async def relay_pair(redis_namespace: str, asterisk: AsteriskActions) -> tuple[AmiRelayServer, RelayedAmi]:
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=redis_namespace, ami=asterisk)
    await server.start()
    worker = RelayedAmi(redis_url=REDIS_URL, namespace=redis_namespace, answer_timeout=3)
    await worker.start()
    return server, worker


async def test_given_a_web_worker_when_it_pauses_an_operator_then_the_telephony_process_sends_queue_pause(
    redis_namespace: str,
) -> None:
    asterisk = RecordingAsterisk()
    server, worker = await relay_pair(redis_namespace, asterisk)
    try:
        await worker.queue_pause(queue="line137", extension="1001", reason="training")
        assert await worker.wait_connected(5)
        assert worker.asterisk_version == "22.5.2"
    finally:
        await worker.stop()
        await server.stop()
    assert asterisk.actions == [{"Action": "QueuePause", "Queue": "line137", "Interface": "PJSIP/1001",
                                 "Paused": "true", "Reason": "training"}]


async def test_given_asterisk_refuses_when_relayed_then_the_web_worker_gets_the_same_error(
    redis_namespace: str,
) -> None:
    server, worker = await relay_pair(redis_namespace, RecordingAsterisk(refuse="No such queue"))
    try:
        with pytest.raises(AsteriskRefused) as refused:
            await worker.queue_add(queue="line137", extension="1001", member_name="زهرا")
    finally:
        await worker.stop()
        await server.stop()
    # Asterisk's own words stay with the error (for the log and for code), never in what staff are answered.
    assert refused.value.message == AsteriskRefused.default_message
    assert refused.value.reason == "No such queue"
    assert "No such queue" not in str(refused.value.as_dict())


async def test_given_an_operator_on_a_call_when_relayed_then_the_worker_finds_both_legs(
    redis_namespace: str,
) -> None:
    channels = [
        {"Event": "CoreShowChannel", "Channel": "PJSIP/citizen-trunk-00000007", "BridgeId": "b-1", "Linkedid": "17.7"},
        {"Event": "CoreShowChannel", "Channel": "PJSIP/1001-00000008", "BridgeId": "b-1", "Linkedid": "17.7"},
    ]
    server, worker = await relay_pair(redis_namespace, RecordingAsterisk(channels=channels))
    try:
        legs = await worker.operator_call("1001")
        with pytest.raises(NoActiveCall):
            await worker.operator_call("1002")
    finally:
        await worker.stop()
        await server.stop()
    assert (legs.operator_channel, legs.citizen_channel, legs.linkedid) == (
        "PJSIP/1001-00000008", "PJSIP/citizen-trunk-00000007", "17.7")


async def test_given_no_telephony_process_when_a_worker_acts_then_it_fails_and_the_action_is_never_run_late(
    redis_namespace: str,
) -> None:
    worker = RelayedAmi(redis_url=REDIS_URL, namespace=redis_namespace, answer_timeout=0.5)
    await worker.start()
    try:
        assert not worker.connected
        with pytest.raises(AsteriskUnavailable):
            await worker.queue_add(queue="line137", extension="1001", member_name="زهرا")
    finally:
        await worker.stop()
    asterisk = RecordingAsterisk()
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=redis_namespace, ami=asterisk)
    await server.start()  # the telephony process comes back and finds the old request
    await asyncio.sleep(1.5)
    await server.stop()
    assert asterisk.actions == []


async def test_given_the_telephony_process_stops_when_a_worker_looks_then_asterisk_is_not_connected(
    redis_namespace: str,
) -> None:
    server, worker = await relay_pair(redis_namespace, RecordingAsterisk())
    assert await worker.wait_connected(5)
    await server.stop()
    await worker.stop()
    again = RelayedAmi(redis_url=REDIS_URL, namespace=redis_namespace)
    assert not await again.wait_connected(0.5)
    await again.stop()
