"""Stand-ins for Asterisk's manager interface in unit tests: they keep what they were asked to do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callcenter.platform.errors import AsteriskRefused
from callcenter.telephony.asterisk_actions import AsteriskActions


class RecordingAsterisk(AsteriskActions):
    """Stands in for the AMI bridge: keeps each action, answers from a script or refuses."""

    def __init__(self, *, channels: list[dict[str, str]] | None = None, refuse: str | None = None) -> None:
        self.actions: list[dict[str, str]] = []
        self._channels = channels or []
        self._refuse = refuse

    @property
    def connected(self) -> bool:
        return True

    @property
    def asterisk_version(self) -> str | None:
        return "22.5.2"

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_connected(self, timeout: float) -> bool:
        return True

    async def action(self, action: dict[str, str]) -> Mapping[str, Any]:
        self.actions.append(action)
        if self._refuse:
            raise AsteriskRefused(self._refuse, action=action["Action"])
        return {"Response": "Success"}

    async def action_list(self, action: dict[str, str]) -> list[Mapping[str, Any]]:
        self.actions.append(action)
        return list(self._channels)
