"""The AMI bridge: event order into the tracker, UTF-8 across TCP chunks, a final close()."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import pytest
from panoramisk.message import Message

from callcenter.platform.errors import AsteriskRefused, AsteriskUnavailable
from callcenter.platform.settings import Settings
from callcenter.telephony.ami_bridge import AmiBridge, ClosableManager, Utf8SafeProtocol

EVENT_COUNT = 200


class SlowTracker:
    """Awaits a different time for each event, as database writes do; records the order it saw."""

    def __init__(self, *, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self._fail_on = fail_on
        self._random = random.Random(1370)

    async def handle(self, event: Mapping[str, str], received_at: float) -> None:
        await asyncio.sleep(self._random.choice((0, 0, 0.0005, 0.001, 0.002)))
        if event["Id"] == self._fail_on:
            raise RuntimeError("tracker bug")
        self.seen.append(event["Id"])

    async def resync(self, live: set[str]) -> None:
        raise AssertionError("not expected in this test")


async def _consume_until(bridge: AmiBridge, tracker: SlowTracker, count: int) -> None:
    consumer = asyncio.create_task(bridge._consume())
    try:
        async with asyncio.timeout(10):
            while len(tracker.seen) < count:
                await asyncio.sleep(0.005)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)


async def test_given_a_tracker_with_uneven_delays_when_events_are_enqueued_then_it_sees_them_in_sent_order() -> None:
    tracker = SlowTracker()
    bridge = AmiBridge(settings=Settings(), tracker=tracker)  # type: ignore[arg-type]
    sent = [str(i) for i in range(EVENT_COUNT)]
    for event_id in sent:
        bridge._enqueue(None, {"Event": "Newchannel", "Id": event_id})  # type: ignore[arg-type]
    await _consume_until(bridge, tracker, EVENT_COUNT)
    assert tracker.seen == sent


async def test_given_events_dispatched_by_panoramisk_when_consumed_then_the_order_is_kept() -> None:
    tracker = SlowTracker()
    bridge = AmiBridge(settings=Settings(), tracker=tracker)  # type: ignore[arg-type]
    manager = ClosableManager(loop=asyncio.get_running_loop())
    manager.register_event("*", bridge._enqueue)
    consumer = asyncio.create_task(bridge._consume())
    sent = [str(i) for i in range(EVENT_COUNT)]
    try:
        for event_id in sent:
            manager.dispatch(Message({"Event": "Hangup", "Id": event_id}))
            if int(event_id) % 17 == 0:
                await asyncio.sleep(0)  # let the consumer start on some while more arrive
        async with asyncio.timeout(10):
            while len(tracker.seen) < EVENT_COUNT:
                await asyncio.sleep(0.005)
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
    assert tracker.seen == sent


async def test_given_the_tracker_fails_on_one_event_when_consuming_then_the_later_events_are_still_handled() -> None:
    tracker = SlowTracker(fail_on="3")
    bridge = AmiBridge(settings=Settings(), tracker=tracker)  # type: ignore[arg-type]
    for i in range(6):
        bridge._enqueue(None, {"Event": "Newchannel", "Id": str(i)})  # type: ignore[arg-type]
    await _consume_until(bridge, tracker, 5)
    assert tracker.seen == ["0", "1", "2", "4", "5"]


class FakeTransport:
    def __init__(self) -> None:
        self.closed = False
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True


class CollectingFactory:
    forgetable_actions = ()

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.awaiting_actions: list[Any] = []

    def dispatch(self, message: Message) -> None:
        self.messages.append(message)

    def connection_lost(self, exc: object) -> None:
        pass


def _protocol() -> tuple[Utf8SafeProtocol, CollectingFactory]:
    protocol = Utf8SafeProtocol()
    protocol.connection_made(FakeTransport())  # type: ignore[arg-type]
    factory = CollectingFactory()
    protocol.factory = factory
    protocol.encoding = "utf8"  # what Manager.connection_made sets from its config
    return protocol, factory


def test_given_a_persian_name_split_inside_a_character_when_received_then_the_event_has_the_whole_name() -> None:
    protocol, factory = _protocol()
    data = "Event: Newchannel\r\nCallerIDName: زهرا\r\n\r\n".encode()
    split = data.index("ه".encode()) + 1  # between the two bytes of one letter
    protocol.data_received(data[:split])
    assert factory.messages == []
    protocol.data_received(data[split:])
    assert len(factory.messages) == 1
    assert factory.messages[0]["CallerIDName"] == "زهرا"


def test_given_a_stream_fed_one_byte_at_a_time_when_received_then_every_event_comes_out_intact() -> None:
    protocol, factory = _protocol()
    names = ["زهرا احمدی", "علی رضایی", "مریم کریمی"]
    data = "".join(f"Event: Newchannel\r\nCallerIDName: {name}\r\n\r\n" for name in names).encode()
    for i in range(len(data)):
        protocol.data_received(data[i : i + 1])
    assert [m["CallerIDName"] for m in factory.messages] == names


class RecordingLoop:
    """Stands in for the event loop: records what the manager schedules instead of running it."""

    def __init__(self) -> None:
        self.scheduled: list[tuple[str, Any]] = []

    def call_soon(self, callback: Any, *args: Any) -> None:
        self.scheduled.append(("soon", callback))

    def call_later(self, delay: float, callback: Any, *args: Any) -> None:
        self.scheduled.append(("later", callback))


def test_given_an_open_manager_when_the_connection_is_lost_then_a_reconnect_is_scheduled() -> None:
    loop = RecordingLoop()
    manager = ClosableManager(loop=loop)
    manager.connection_lost(None)
    assert ("later", manager.connect) in loop.scheduled


def test_given_a_closed_manager_when_the_connection_is_lost_then_no_reconnect_is_scheduled() -> None:
    loop = RecordingLoop()
    manager = ClosableManager(loop=loop)
    manager.close()
    manager.connection_lost(None)
    assert loop.scheduled == []
    assert manager.connect() is None


async def test_given_a_closed_manager_when_a_pending_connection_completes_then_its_transport_is_closed() -> None:
    manager = ClosableManager(loop=asyncio.get_running_loop())
    manager.close()
    transport = FakeTransport()
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result((transport, Utf8SafeProtocol()))
    manager.connection_made(future)
    assert transport.closed
    assert manager.protocol is None


class _AnsweringManager:
    """A logged-in panoramisk manager that answers every action with ``answer``."""

    authenticated = True
    protocol = object()

    def __init__(self, answer: Mapping[str, Any]) -> None:
        self._answer = answer

    async def send_action(self, action: dict[str, str], as_list: bool = False) -> Mapping[str, Any]:
        return self._answer


async def test_given_asterisk_answering_an_error_when_acting_then_refused_with_its_words_logged_not_shown(
    caplog: Any,
) -> None:
    bridge = AmiBridge(settings=Settings(), tracker=SlowTracker())  # type: ignore[arg-type]
    bridge._manager = _AnsweringManager({"Response": "Error", "Message": "No such channel"})  # type: ignore[assignment]
    with pytest.raises(AsteriskRefused) as refused:
        await bridge.action({"Action": "Hangup", "Channel": "PJSIP/1001-00000001"})
    assert refused.value.reason == "No such channel" and "No such channel" not in str(refused.value.as_dict())
    assert "Asterisk refused Hangup: No such channel" in caplog.text


async def test_given_no_connection_when_acting_then_asterisk_is_unavailable_not_refused() -> None:
    bridge = AmiBridge(settings=Settings(), tracker=SlowTracker())  # type: ignore[arg-type]
    with pytest.raises(AsteriskUnavailable) as away:
        await bridge.action({"Action": "Ping"})
    assert away.value.error_id == "asterisk-unavailable" and away.value.reason == "not connected to Asterisk"
