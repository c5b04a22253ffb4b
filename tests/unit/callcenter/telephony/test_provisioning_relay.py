"""The admin pages' provisioning from a web-only worker: relayed through the real Redis to the telephony process,
which alone renders Asterisk's files; only the allow-listed commands, in their exact form, ever run there."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import pytest
from redis.asyncio import Redis

from callcenter.platform.errors import AmiActionRefused
from callcenter.telephony.ami_allowlist import checked_command
from callcenter.telephony.ami_relay import AmiRelayServer, RelayedAmi, RelayedProvisioner
from callcenter.telephony.provisioner import APPLY_PHONE_CHANGES, RENDER_UNIT_NAME_PROMPT
from tests.support.asterisk_fakes import RecordingAsterisk
from tests.support.redis_service import REDIS_URL


class RecordingProvisioner:
    """The telephony process's provisioner, recording what it was asked to do."""

    def __init__(self, *, applies: bool = True) -> None:
        self.calls: list[tuple[str, ...]] = []
        self._applies = applies

    async def apply_phone_changes(self) -> bool:
        self.calls.append(("phones",))
        return self._applies

    async def render_unit_name_prompt(self, unit_name: str) -> bool:
        self.calls.append(("unit", unit_name))
        return self._applies


async def serving(namespace: str, provisioner: RecordingProvisioner | None) -> AmiRelayServer:
    server = AmiRelayServer(redis_url=REDIS_URL, namespace=namespace, ami=RecordingAsterisk(),
                            provisioner=provisioner)
    await server.start()
    return server


def web_worker(namespace: str, *, command_timeout: float = 3) -> tuple[RelayedAmi, RelayedProvisioner]:
    relayed = RelayedAmi(redis_url=REDIS_URL, namespace=namespace, command_timeout=command_timeout)
    return relayed, RelayedProvisioner(relayed)


async def test_given_a_web_worker_when_the_admin_changes_phones_and_adds_a_unit_then_the_telephony_process_does_it(
    redis_namespace: str,
) -> None:
    provisioner = RecordingProvisioner()
    server = await serving(redis_namespace, provisioner)
    relayed, worker = web_worker(redis_namespace)
    try:
        assert await worker.apply_phone_changes() is True
        assert await worker.render_unit_name_prompt("منطقه چهار") is True
    finally:
        await relayed.stop()
        await server.stop()
    assert provisioner.calls == [("phones",), ("unit", "منطقه چهار")]


async def test_given_the_telephony_process_could_not_apply_when_relayed_then_the_worker_hears_false(
    redis_namespace: str,
) -> None:
    provisioner = RecordingProvisioner(applies=False)
    server = await serving(redis_namespace, provisioner)
    relayed, worker = web_worker(redis_namespace)
    try:
        assert await worker.apply_phone_changes() is False
    finally:
        await relayed.stop()
        await server.stop()
    assert provisioner.calls == [("phones",)]


async def test_given_a_relay_that_does_not_provision_when_a_command_comes_then_refused_and_the_worker_hears_false(
    redis_namespace: str, caplog: pytest.LogCaptureFixture,
) -> None:
    server = await serving(redis_namespace, None)
    relayed, worker = web_worker(redis_namespace)
    try:
        with caplog.at_level(logging.WARNING, logger="callcenter.telephony.ami_relay"):
            assert await worker.apply_phone_changes() is False
    finally:
        await relayed.stop()
        await server.stop()
    assert any("does not provision Asterisk" in record.getMessage() for record in caplog.records)


async def test_given_no_telephony_process_when_the_admin_changes_phones_then_false_and_never_run_late(
    redis_namespace: str,
) -> None:
    relayed, worker = web_worker(redis_namespace, command_timeout=0.5)
    try:
        assert await worker.apply_phone_changes() is False
    finally:
        await relayed.stop()
    provisioner = RecordingProvisioner()
    server = await serving(redis_namespace, provisioner)  # the telephony process comes back, finds the old request
    await asyncio.sleep(1.5)
    await server.stop()
    assert provisioner.calls == []


HOSTILE_COMMANDS = {
    "unknown-command": {"Command": "RenderConfig"},
    "phones-with-an-argument": {"Command": APPLY_PHONE_CHANGES, "Path": "/etc/asterisk"},
    "unit-prompt-without-a-name": {"Command": RENDER_UNIT_NAME_PROMPT},
    "unit-name-with-a-line-break": {"Command": RENDER_UNIT_NAME_PROMPT, "UnitName": "منطقه\n; rm -rf /"},
    "unit-name-too-long": {"Command": RENDER_UNIT_NAME_PROMPT, "UnitName": "م" * 201},
    "not-text": {"Command": RENDER_UNIT_NAME_PROMPT, "UnitName": 7},
}


@pytest.mark.parametrize("command", HOSTILE_COMMANDS.values(), ids=HOSTILE_COMMANDS.keys())
def test_given_a_command_outside_its_allowed_form_when_checked_then_refused(command: dict[str, object]) -> None:
    with pytest.raises(AmiActionRefused):
        checked_command(command)


@pytest.mark.parametrize("request_body", [
    {"command": HOSTILE_COMMANDS["phones-with-an-argument"]},
    {"command": [APPLY_PHONE_CHANGES]},
], ids=["command-with-an-argument", "command-not-a-mapping"])
async def test_given_a_hostile_command_pushed_into_redis_when_the_relay_reads_it_then_nothing_runs(
    request_body: dict[str, object], redis_namespace: str,
) -> None:
    provisioner = RecordingProvisioner()
    server = await serving(redis_namespace, provisioner)
    relayed, worker = web_worker(redis_namespace)
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        request = {**request_body, "reply_to": f"{redis_namespace}:ami:requests:reply:{uuid.uuid4().hex}",
                   "deadline": time.time() + 30}
        await client.rpush(f"{redis_namespace}:ami:requests", json.dumps(request))
        assert await worker.render_unit_name_prompt("منطقه پنج") is True  # served after the hostile one
    finally:
        await client.aclose()
        await relayed.stop()
        await server.stop()
    assert provisioner.calls == [("unit", "منطقه پنج")]
