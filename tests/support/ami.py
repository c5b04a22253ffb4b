"""A test-only AMI observer (its own manager user) that records events to assert what Asterisk did."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Mapping

from panoramisk import Manager

from callcenter.telephony.ami_bridge import ClosableManager

Event = Mapping[str, str]


class AmiObserver:
    def __init__(self, *, host: str, port: int, username: str, secret: str) -> None:
        self.events: list[dict[str, str]] = []
        self._changed = asyncio.Event()
        self._manager = ClosableManager(host=host, port=port, username=username, secret=secret, encoding="utf8")
        self._manager.register_event("*", self._record)

    def _record(self, _manager: Manager, event: Event) -> None:
        self.events.append(dict(event))
        self._changed.set()

    async def start(self, timeout: float = 10) -> None:
        self._manager.connect()
        await self.wait_for(lambda e: e.get("Event") == "FullyBooted", timeout=timeout)

    def close(self) -> None:
        self._manager.close()

    async def command(self, text: str) -> str:
        """A CLI command's output, as an administrator would read it at Asterisk's console."""
        response = await self._manager.send_action({"Action": "Command", "Command": text})
        output = response.get("Output", "") if hasattr(response, "get") else ""
        return "\n".join(output) if isinstance(output, list) else str(output)

    def matching(self, predicate: Callable[[Event], bool]) -> list[dict[str, str]]:
        return [e for e in self.events if predicate(e)]

    async def wait_for(self, predicate: Callable[[Event], bool], *, count: int = 1, timeout: float = 30) -> list[
        dict[str, str]
    ]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} matching AMI events, saw {len(found)}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))


# What the IVR plays, as Asterisk reports each AGI command it runs.
STREAMED = re.compile(r'^(?:STREAM FILE|GET DATA) "[^"]*/fa/([^"/]+)"')


def callers_channels(observer: AmiObserver, caller: str) -> set[str]:
    """The channels that ``caller`` called on: followed by name, since an anonymous caller's ID changes midway."""
    return {e["Channel"] for e in observer.matching(lambda e: e.get("CallerIDNum") == caller and "Channel" in e)}


def heard(observer: AmiObserver, caller: str) -> list[str]:
    """Prompt keys played to ``caller``'s channel, in the order Asterisk ran them."""
    channels = callers_channels(observer, caller)
    keys = []
    for event in observer.matching(lambda e: e.get("Event") == "AGIExecStart" and e.get("Channel") in channels):
        match = STREAMED.match(event.get("Command", ""))
        if match:
            keys.append(match.group(1))
    return keys


def contains_run(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def queued(observer: AmiObserver, caller: str) -> bool:
    channels = callers_channels(observer, caller)
    return bool(observer.matching(lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Channel") in channels))
