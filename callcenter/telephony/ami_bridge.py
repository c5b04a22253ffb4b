"""The single owner of the Asterisk manager connection: events in (in order), actions out."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from callcenter.platform.errors import ASTERISK_FAILURES, AsteriskRefused, AsteriskUnavailable
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_actions import AsteriskActions
from callcenter.telephony.call_tracker import CallTracker
from db.engine import is_database_outage

log = logging.getLogger(__name__)

EventListener = Callable[[Mapping[str, str]], Awaitable[None]]

ACTION_TIMEOUT_SECONDS = 5.0
WATCHDOG_INTERVAL_SECONDS = 10.0


def asterisk_boot_time(fully_booted: Mapping[str, str], received_at: float) -> datetime | None:
    """When Asterisk started, from FullyBooted's ``Uptime`` (seconds; sent at each login), on the wall clock;
    None when the event does not say."""
    uptime = str(fully_booted.get("Uptime", ""))
    if not uptime.isdigit():
        return None
    arrived = datetime.now(UTC) - timedelta(seconds=max(0.0, time.monotonic() - received_at))
    return arrived - timedelta(seconds=int(uptime))


class Utf8SafeProtocol(AMIProtocol):
    """panoramisk decodes each TCP chunk on its own and drops a multi-byte character split between two;
    an incremental decoder keeps Persian caller names whole."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def data_received(self, data: bytes) -> None:
        super().data_received(self._decoder.decode(data).encode("utf-8"))

    def handle_message(self, message: Any) -> None:
        """panoramisk turns a repeated header into a list; a message with two events, responses or action ids is
        not one Asterisk sends, and would crash panoramisk's matching (``list.lower()``, unhashable): dropped."""
        if any(isinstance(message.get(name), list) for name in ("Event", "Response", "ActionID")):
            log.warning("AMI: dropped a message with a repeated Event, Response or ActionID header")
            return
        super().handle_message(message)


class ClosableManager(Manager):
    """panoramisk's Manager reconnects even after close() and pings without reading the Pong;
    here close() is final and liveness is checked by the bridge's watchdog."""

    def __init__(self, **config: Any) -> None:
        super().__init__(protocol_factory=Utf8SafeProtocol, reconnect_timeout=1, **config)
        self._closing = False

    def connect(self, run_forever: bool = False, on_startup: Any = None, on_shutdown: Any = None) -> Any:
        if self._closing:
            return None
        return super().connect(run_forever, on_startup, on_shutdown)

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if self._closing:
            with contextlib.suppress(Exception):
                f.result()[0].close()
            return
        super().connection_made(f)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closing:
            self._connected = False
            return
        super().connection_lost(exc)

    def ping(self) -> None:
        """Disabled: the bridge's watchdog pings and checks the answer."""

    def close(self) -> None:
        self._closing = True
        super().close()


class AmiBridge(AsteriskActions):
    """Connects, queues every event in arrival order, and feeds them one by one to the call tracker."""

    def __init__(self, *, settings: Settings, tracker: CallTracker,
                 on_resynced: Callable[[float], None] = lambda _seconds: None) -> None:
        self._settings = settings
        self._on_resynced = on_resynced  # how long each resync took, from FullyBooted (a metric)
        self._tracker = tracker
        self._inbox: asyncio.Queue[tuple[Mapping[str, str], float]] = asyncio.Queue()
        self._manager: ClosableManager | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._booted = asyncio.Event()
        self._asterisk_version: str | None = None
        self._listeners: dict[str, list[EventListener]] = {}

    @property
    def asterisk_version(self) -> str | None:
        return self._asterisk_version

    @property
    def connected(self) -> bool:
        return self._manager is not None and self._manager.authenticated and self._booted.is_set()

    @property
    def events_pending(self) -> int:
        """Events received and not yet handled: the call tracker falling behind Asterisk."""
        return self._inbox.qsize()

    async def start(self) -> None:
        manager = ClosableManager(
            host=self._settings.ami_host,
            port=self._settings.ami_port,
            username=self._settings.ami_username,
            secret=self._settings.ami_secret,
            encoding="utf8",
            on_login=self._on_login,
            on_disconnect=self._on_disconnect,
        )
        manager.register_event("*", self._enqueue)
        self._manager = manager
        manager.connect()
        self._tasks = [asyncio.create_task(self._consume()), asyncio.create_task(self._watchdog())]

    async def stop(self) -> None:
        if self._manager is not None:
            self._manager.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait_connected(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._booted.wait(), timeout)
        return self.connected

    def on(self, event_name: str, listener: EventListener) -> None:
        """Another feature consumes events by name, after the tracker and in the same order (the verification
        dialer hears how its calls ended)."""
        self._listeners.setdefault(event_name, []).append(listener)

    def _enqueue(self, _manager: Manager, event: Mapping[str, str]) -> None:
        """Synchronous on purpose: panoramisk would schedule a coroutine as a task and lose the order."""
        self._inbox.put_nowait((event, time.monotonic()))

    async def _consume(self) -> None:
        while True:
            event, received_at = await self._inbox.get()
            try:
                if event.get("Event") == "FullyBooted":
                    await self._after_boot(event, received_at)
                await self._tracker.handle(event, received_at)
                for listener in self._listeners.get(str(event.get("Event", "")), ()):
                    await listener(event)
            except Exception as exc:
                if not is_database_outage(exc):
                    log.exception("AMI event %s could not be handled", event.get("Event"))
                else:  # the call goes on in Asterisk; only our record of this step is lost (ADR 0087)
                    log.warning("AMI event %s not recorded: the database is unavailable (%s)", event.get("Event"),
                                type(exc).__name__)

    def _on_login(self, _manager: Manager) -> None:
        log.info("AMI: logged in; waiting for FullyBooted to resync")

    def _on_disconnect(self, _manager: Manager, _exc: object) -> None:
        self._booted.clear()
        log.warning("AMI connection lost; reconnecting")

    async def _after_boot(self, booted: Mapping[str, str], received_at: float) -> None:
        """Events during an outage are lost: rebuild what we know from Asterisk itself, then report ready. The
        event's uptime says whether Asterisk itself went down meanwhile (the calls it had are then lost to a
        fault); the resync's duration is measured from the event's arrival (ADR 0086)."""
        try:
            settings = await self.action({"Action": "CoreSettings"})
            self._asterisk_version = str(settings.get("AsteriskVersion", "")) or None
            channels = await self.action_list({"Action": "CoreShowChannels"})
            live = {str(c.get("Linkedid")) for c in channels if c.get("Event") == "CoreShowChannel"}
            queues = await self.action_list({"Action": "QueueStatus"})  # members, and the callers waiting
            await self._tracker.resync(live, waiting=queues, channels=channels,
                                       asterisk_booted_at=asterisk_boot_time(booted, received_at))
            await self._tracker.resync_agents(queues, time.monotonic())
            self._on_resynced(time.monotonic() - received_at)
        except ASTERISK_FAILURES:
            log.warning("resync after AMI boot failed; will retry on the next FullyBooted")
        finally:
            self._booted.set()

    async def _watchdog(self) -> None:
        """panoramisk's ping never checks the Pong: a silent Asterisk would look alive forever."""
        while True:
            await asyncio.sleep(WATCHDOG_INTERVAL_SECONDS)
            if not self.connected:
                continue
            try:
                await self.action({"Action": "Ping"})
            except ASTERISK_FAILURES:
                log.warning("AMI ping unanswered; dropping the connection to reconnect")
                manager = self._manager
                if manager is not None and manager.protocol is not None:
                    manager.protocol.transport.close()

    async def action(self, action: dict[str, str]) -> Mapping[str, Any]:
        """Send one action; :class:`AsteriskUnavailable` when not connected or unanswered, :class:`AsteriskRefused`
        when Asterisk answers with an error (its words logged here, in English, and kept as the error's reason)."""
        response = await self._send(action, as_list=False)
        if str(response.get("Response", "")).lower() == "error":
            reason = str(response.get("Message") or "")
            log.warning("Asterisk refused %s: %s", action.get("Action"), reason)
            raise AsteriskRefused(reason, action=action.get("Action"))
        return response

    async def action_list(self, action: dict[str, str]) -> list[Mapping[str, Any]]:
        """Send an action whose answer is an event list (QueueStatus, CoreShowChannels...)."""
        response = await self._send(action, as_list=True)
        return list(response)

    async def _send(self, action: dict[str, str], *, as_list: bool) -> Any:
        manager = self._manager
        if manager is None or not manager.authenticated or manager.protocol is None:
            raise AsteriskUnavailable("not connected to Asterisk", action=action.get("Action"))
        try:
            return await asyncio.wait_for(manager.send_action(dict(action), as_list=as_list),
                                          ACTION_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise AsteriskUnavailable("Asterisk did not answer", action=action.get("Action")) from exc
