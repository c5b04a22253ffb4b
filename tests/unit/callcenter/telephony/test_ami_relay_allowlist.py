"""An attacker with write access to Redis pushes AMI requests straight onto the relay's list (raw RPUSH on the
real Redis): only the actions the backend itself sends, in their exact form, ever reach the AMI bridge."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from callcenter.platform.errors import AmiActionRefused, AsteriskUnavailable, NoActiveCall
from callcenter.telephony.ami_allowlist import checked_action
from callcenter.telephony.ami_relay import AmiRelayServer, RelayedAmi
from callcenter.telephony.asterisk_actions import CallLegs
from callcenter.telephony.dialplan import Context
from tests.support.asterisk_fakes import RecordingAsterisk
from tests.support.hypothesis_profiles import examples
from tests.support.redis_service import REDIS_URL

SHELL_ORIGINATE = {"Action": "Originate", "Channel": "Local/s@default", "Application": "System",
                   "Data": "touch /tmp/pwned", "Async": "true"}
HOSTILE = {
    "originate-system": SHELL_ORIGINATE,
    "originate-system-from-a-phone": {**SHELL_ORIGINATE, "Channel": "PJSIP/1900"},
    "chanspy-with-extra-application-data": {
        "Action": "Originate", "Channel": "PJSIP/1900", "Application": "ChanSpy", "Data": "PJSIP/1001-,qEX(evil)",
        "CallerID": "Pasokh <1001>", "Timeout": "30000", "Async": "true"},
    "originate-foreign-context": {
        "Action": "Originate", "Channel": "PJSIP/1900", "Context": "default", "Exten": "09120000000",
        "Priority": "1", "CallerID": "123 <09120000000>", "Timeout": "40000",
        "Variable": "PASOKH_VERIFY_ATTEMPT=1", "Async": "true"},
    "originate-extra-variable": {
        "Action": "Originate", "Channel": "PJSIP/1900", "Context": "pasokh-verify", "Exten": "09120000000",
        "Priority": "1", "CallerID": "123 <09120000000>", "Timeout": "40000",
        "Variable": "PASOKH_VERIFY_ATTEMPT=1,SHELL(id)=1", "Async": "true"},
    "redirect-foreign-context": {"Action": "Redirect", "Channel": "PJSIP/citizen-trunk-00000007",
                                 "Context": "default", "Exten": "1900", "Priority": "1"},
    "command": {"Action": "Command", "Command": "core stop now"},
    "update-config": {"Action": "UpdateConfig", "SrcFilename": "extensions.conf", "DstFilename": "extensions.conf"},
    "reload-everything": {"Action": "Reload"},
    "setvar-shell": {"Action": "Setvar", "Channel": "PJSIP/1001-00000008", "Variable": "SHELL(id)", "Value": "1"},
    "getvar-shell": {"Action": "Getvar", "Variable": "SHELL(touch /tmp/pwned)"},
    "line-break-in-a-field": {"Action": "QueueAdd", "Queue": "line137", "Interface": "PJSIP/1001",
                              "MemberName": "x\r\nAction: Command\r\nCommand: core stop now",
                              "StateInterface": "PJSIP/1001", "Paused": "false"},
    "foreign-queue": {"Action": "QueueRemove", "Queue": "sales", "Interface": "PJSIP/1001"},
    "persian-digits-as-an-extension": {"Action": "QueueRemove", "Queue": "line137", "Interface": "PJSIP/۱۰۰۱"},
}


async def raw_push(namespace: str, action: object, *, reply_to: str | None = None) -> str:
    """What an attacker would write: the relay's request format, by hand, on its list in its namespace."""
    reply_to = reply_to or f"{namespace}:ami:requests:reply:{uuid.uuid4().hex}"
    request = {"action": action, "as_list": False, "reply_to": reply_to, "deadline": time.time() + 30}
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.rpush(f"{namespace}:ami:requests", json.dumps(request))
    finally:
        await client.aclose()
    return reply_to


async def reply_on(reply_to: str) -> dict[str, object]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        popped = await client.blpop([reply_to], timeout=5)
    finally:
        await client.aclose()
    assert popped is not None, "the relay answered nothing"
    reply: dict[str, object] = json.loads(popped[1])
    return reply


@pytest.mark.parametrize("action", HOSTILE.values(), ids=HOSTILE.keys())
async def test_given_a_hostile_request_pushed_into_redis_when_the_relay_reads_it_then_refused_logged_never_sent(
    action: dict[str, str], redis_namespace: str, caplog: pytest.LogCaptureFixture,
) -> None:
    asterisk = RecordingAsterisk()
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=redis_namespace, ami=asterisk)
    await server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="callcenter.telephony.ami_relay"):
            reply = await reply_on(await raw_push(redis_namespace, action))
    finally:
        await server.stop()
    assert asterisk.actions == []
    assert reply["ok"] is False and reply["error"]["error_id"] == "ami-action-refused"  # type: ignore[index]
    refusals = [r.getMessage() for r in caplog.records if "AMI relay: refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "\n" not in refusals[0] and "09120000000" not in refusals[0]  # no forged log lines, no numbers


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", json.dumps({"action": SHELL_ORIGINATE})],
                         ids=["garbage", "a list", "no reply list"])
async def test_given_garbage_or_a_foreign_reply_list_in_redis_when_read_then_dropped_and_the_relay_keeps_serving(
    raw: str, redis_namespace: str, caplog: pytest.LogCaptureFixture,
) -> None:
    asterisk = RecordingAsterisk()
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=redis_namespace, ami=asterisk)
    await server.start()
    worker = RelayedAmi(redis_url=REDIS_URL, namespace=redis_namespace, answer_timeout=3)
    await worker.start()
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        with caplog.at_level(logging.WARNING, logger="callcenter.telephony.ami_relay"):
            await client.rpush(f"{redis_namespace}:ami:requests", raw)
            await raw_push(redis_namespace, SHELL_ORIGINATE, reply_to="victim:list")
            await worker.queue_remove(queue="line137", extension="1001")  # served after both
    finally:
        await client.aclose()
        await worker.stop()
        await server.stop()
    assert asterisk.actions == [{"Action": "QueueRemove", "Queue": "line137", "Interface": "PJSIP/1001"}]
    assert sum("malformed request" in r.getMessage() for r in caplog.records) == 2


async def test_given_a_web_worker_when_its_request_is_refused_then_it_gets_the_persian_refusal(
    redis_namespace: str,
) -> None:
    asterisk = RecordingAsterisk()
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=redis_namespace, ami=asterisk)
    await server.start()
    worker = RelayedAmi(redis_url=REDIS_URL, namespace=redis_namespace, answer_timeout=3)
    await worker.start()
    try:
        with pytest.raises(AsteriskUnavailable) as refused:
            await worker.action({"Action": "Command", "Command": "core show channels"})
    finally:
        await worker.stop()
        await server.stop()
    assert refused.value.details["relayed_error_id"] == "ami-action-refused"
    assert refused.value.message == "این فرمان به مرکز تلفن فرستاده نشد."
    assert asterisk.actions == []


async def test_given_every_action_the_backend_sends_when_checked_then_the_allowlist_admits_it() -> None:
    """The allowlist and AsteriskActions must not drift apart: each method's action passes as sent."""
    asterisk = RecordingAsterisk()
    legs = CallLegs(operator_channel="PJSIP/1001-00000008", citizen_channel="PJSIP/citizen-trunk-00000007",
                    linkedid="17.7")
    await asterisk.queue_add(queue="line1888", extension="1002", member_name="زهرا رضایی")
    await asterisk.queue_pause(queue="line137", extension="1001", reason="استراحت")
    await asterisk.queue_pause(queue="line137", extension="1001", reason=None)
    await asterisk.queue_remove(queue="line137", extension="1001")
    await asterisk.hang_up(legs.citizen_channel)
    await asterisk.mute(channel=legs.citizen_channel, muted=True)
    await asterisk.transfer(legs, context=Context.TRANSFER, exten="1900")
    await asterisk.transfer(legs, context=Context.TRANSFER, exten="line1888")
    for options in ("qE", "qEw", "qEB"):
        await asterisk.spy(supervisor_extension="1900", operator_extension="1001", options=options)
    await asterisk.call_citizen_for_supervisor(supervisor_extension="1900", citizen_number="09121234567",
                                               attempt_id=42, tracking_code="140312345", ring_seconds=40)
    await asterisk.call_citizen_automatically(citizen_number="09121234567", attempt_id=43, ring_seconds=40)
    await asterisk.lines_in_use()
    await asterisk.reload_pjsip()
    with pytest.raises(NoActiveCall):  # CoreShowChannels was still asked
        await asterisk.operator_call("1001")
    names = {action["Action"] for action in asterisk.actions}
    assert names == {"QueueAdd", "QueuePause", "QueueRemove", "Hangup", "Setvar", "Redirect", "Originate",
                     "Getvar", "Reload", "CoreShowChannels"}
    for action in asterisk.actions:
        assert checked_action(action) == action


def test_given_a_transfer_to_a_foreign_context_when_checked_then_refused_naming_the_field_not_the_value() -> None:
    with pytest.raises(AmiActionRefused) as refused:
        checked_action(HOSTILE["redirect-foreign-context"])
    assert refused.value.details["reason"] == "field Context has a value outside its allowed form"


async def test_given_the_relay_under_a_burst_of_hostile_requests_then_a_real_request_still_runs_once(
    redis_namespace: str,
) -> None:
    asterisk = RecordingAsterisk()
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=redis_namespace, ami=asterisk)
    await server.start()
    worker = RelayedAmi(redis_url=REDIS_URL, namespace=redis_namespace, answer_timeout=3)
    await worker.start()
    try:
        await asyncio.gather(*(raw_push(redis_namespace, action) for action in HOSTILE.values()))
        await worker.queue_pause(queue="line137", extension="1001", reason="training")
    finally:
        await worker.stop()
        await server.stop()
    assert [a["Action"] for a in asterisk.actions] == ["QueuePause"]


_FIELD_NAMES = st.sampled_from(["Action", "Channel", "Context", "Exten", "Application", "Data", "Variable", "Value",
                                "Queue", "Interface", "Module", "Priority", "Async", "Timeout", "CallerID"])


@settings(max_examples=examples(300), deadline=None)
@given(st.dictionaries(st.one_of(_FIELD_NAMES, st.text(max_size=12)), st.text(max_size=40), max_size=10)
       .map(lambda fields: {**fields, "Action": fields.get("Action", "Originate")}))
def test_given_any_fields_when_checked_then_refused_or_exactly_an_allowed_shape_never_a_crash(
    action: dict[str, str],
) -> None:
    try:
        assert checked_action(action) == action
    except AmiActionRefused as refused:
        assert "\n" not in refused.details["reason"] and "\r" not in refused.details["reason"]
        return
    assert action["Action"] in {"QueueAdd", "QueuePause", "QueueRemove", "CoreShowChannels", "Hangup", "Redirect",
                                "Setvar", "Getvar", "Originate", "Reload"}
    assert all(ord(char) >= 0x20 for pair in action.items() for text in pair for char in text)
    if action["Action"] == "Originate":
        assert action.get("Application", "ChanSpy") == "ChanSpy"
        assert action.get("Context", "pasokh-verify") in {"pasokh-verify", "pasokh-verify-automatic"}
