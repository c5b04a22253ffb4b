"""The bridge's AMI user on real Asterisk holds only the classes its actions need: even with its secret, a
shell through Originate(System), a CLI command or a config rewrite is refused by Asterisk itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from callcenter.telephony.ami_bridge import ClosableManager
from tests.support.fixtures import AsteriskUnderTest

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def as_the_bridge(asterisk: AsteriskUnderTest) -> AsyncIterator[ClosableManager]:
    settings = asterisk.settings
    manager = ClosableManager(host=settings.ami_host, port=settings.ami_port, username=settings.ami_username,
                              secret=settings.ami_secret, encoding="utf8")
    manager.connect()
    for _ in range(100):
        if manager.authenticated:
            break
        await asyncio.sleep(0.1)
    assert manager.authenticated
    yield manager
    manager.close()


async def send(manager: ClosableManager, action: dict[str, str]) -> Mapping[str, Any]:
    response: Mapping[str, Any] = await asyncio.wait_for(manager.send_action(action), 5)
    return response


async def test_given_the_bridges_ami_secret_when_originating_system_then_asterisk_refuses_and_runs_nothing(
    as_the_bridge: ClosableManager, asterisk: AsteriskUnderTest,
) -> None:
    marker = asterisk.process.runtime.host_path("/tmp/pasokh-ami-system-ran")
    marker.unlink(missing_ok=True)
    for application in ("System", "Exec"):
        data = "touch /tmp/pasokh-ami-system-ran" if application == "System" else "System(touch /tmp/x)"
        response = await send(as_the_bridge, {
            "Action": "Originate", "Channel": "Local/1234@pasokh-staff", "Application": application,
            "Data": data, "Async": "false", "Timeout": "1000"})
        assert response.get("Response") == "Error" and "Forbidden" in str(response.get("Message")), response
    await asyncio.sleep(1)
    assert not Path(marker).exists()


@pytest.mark.parametrize("action", [
    {"Action": "Command", "Command": "core show uptime"},
    {"Action": "ModuleLoad", "LoadType": "unload", "Module": "res_pjsip.so"},
    {"Action": "MuteAudio", "Channel": "PJSIP/1001-00000001", "Direction": "all", "State": "on"},
], ids=["cli-command", "module-unload", "mute-audio-action"])
async def test_given_the_bridges_ami_secret_when_sending_a_system_or_command_action_then_permission_denied(
    as_the_bridge: ClosableManager, action: dict[str, str],
) -> None:
    response = await send(as_the_bridge, action)
    assert response.get("Response") == "Error" and response.get("Message") == "Permission denied", response


async def test_given_the_bridges_ami_secret_when_reloading_pjsip_then_accepted(
    as_the_bridge: ClosableManager,
) -> None:
    response = await send(as_the_bridge, {"Action": "Reload", "Module": "res_pjsip.so"})
    assert response.get("Response") == "Success", response
