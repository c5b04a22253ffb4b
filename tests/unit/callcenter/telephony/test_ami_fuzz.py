"""Property-based fuzzing of the AMI side: the bytes Asterisk's manager interface sends, cut into any chunks,
through our protocol into panoramisk's parser and the bridge's dispatch; then events with any field values through
the bridge's consumer into the call tracker. Nothing may raise, the consumer must survive every event, and what
reaches our code has the shape it assumes (string names).

A deeper run: PASOKH_FUZZ_EXAMPLES=2000 (examples per property)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from panoramisk import Manager

from callcenter.platform.bus import InProcessBus
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.platform.settings import load_settings
from callcenter.telephony.agent_states import AgentStateLog
from callcenter.telephony.ami_bridge import AmiBridge, ClosableManager, Utf8SafeProtocol
from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.call_tracker import CallTracker
from tests.support.hypothesis_profiles import examples

EXAMPLES = int(os.environ.get("PASOKH_FUZZ_EXAMPLES", examples(150)))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
EOL = b"\r\n"

KEYS = st.sampled_from(["Event", "Response", "ActionID", "Channel", "Linkedid", "Uniqueid", "CallerIDName",
                        "ChanVariable", "Queue", "Interface", "Message", "X-Other"])
VALUES = st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=30)
HEADER = st.builds(lambda key, value: key.encode() + b": " + value.encode() + EOL, KEYS, VALUES)
MESSAGE = st.builds(lambda headers: b"".join(headers) + EOL, st.lists(HEADER, min_size=1, max_size=8))
STREAM = st.lists(st.one_of(MESSAGE, st.binary(max_size=50)), max_size=10).map(b"".join)


class NoTransport:
    """Where the protocol would write actions and whom it closes; the fuzz only feeds it."""

    def write(self, _data: bytes) -> None: ...

    def close(self) -> None: ...


def _feed(stream: bytes, cuts: list[int]) -> list[Mapping[str, Any]]:
    """``stream`` into a fresh protocol in chunks cut at ``cuts``; the events the manager dispatched."""
    received: list[Mapping[str, Any]] = []

    async def run() -> None:
        manager = ClosableManager(host="127.0.0.1", port=1, username="fuzz", secret="fuzz", encoding="utf8")

        def collect(_manager: Manager, event: Mapping[str, Any]) -> None:
            received.append(event)

        manager.register_event("*", collect)
        protocol = Utf8SafeProtocol()
        protocol.connection_made(NoTransport())  # type: ignore[arg-type]
        protocol.factory = manager
        protocol.encoding = "utf8"
        start = 0
        for cut in [*sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]:
            protocol.data_received(stream[start:cut])
            start = cut
        manager.close()

    asyncio.run(run())
    return received


@FUZZ
@given(stream=STREAM, cuts=st.lists(st.integers(min_value=0, max_value=4096), max_size=6))
@example(stream=b"Event: A\r\nEvent: B\r\n\r\n", cuts=[])  # a repeated name: panoramisk made it a list
@example(stream=b"Response: Success\r\nResponse: Error\r\n\r\n", cuts=[])
@example(stream=b"Event: X\r\nActionID: 1\r\nActionID: 2\r\n\r\n", cuts=[])  # unhashable id
@example(stream=b"\xff\xfe\r\n\r\nEvent: X\r\n\r\n", cuts=[1])
def test_given_any_manager_stream_when_parsed_then_nothing_raises_and_events_have_string_names(
    stream: bytes, cuts: list[int]
) -> None:
    for event in _feed(stream, cuts):
        assert isinstance(event.get("Event"), str), dict(event)


@FUZZ
@given(name=st.text(alphabet="ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیئآ‌۰۱۲۳ 0123", min_size=1, max_size=20)
       .map(str.strip).filter(bool), cut=st.integers(min_value=0, max_value=200))
def test_given_a_persian_name_cut_anywhere_between_chunks_when_parsed_then_it_arrives_whole(
    name: str, cut: int
) -> None:
    stream = b"Event: Newchannel\r\nCallerIDName: " + name.encode() + b"\r\n\r\n"
    events = _feed(stream, [cut])
    assert [event["CallerIDName"] for event in events] == [name]


TRACKED = st.sampled_from(["Newchannel", "VarSet", "QueueCallerJoin", "AgentCalled", "AgentConnect",
                           "AgentComplete", "QueueCallerAbandon", "Hangup", "QueueMemberAdded",
                           "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus", "UserEvent",
                           "FullyBooted", "Whatever"])
FIELD_VALUES = st.one_of(st.sampled_from(["", "0", "1", "137", "1888", "pasokh-inbound", "line137", "PJSIP/1001",
                                          "1700000000.1", "-1", "99999999999999999999"]), VALUES)
EVENT = st.builds(
    lambda name, fields, variables: {"Event": name, **fields, **({"ChanVariable": variables} if variables else {})},
    TRACKED,
    st.dictionaries(st.sampled_from(["Channel", "Uniqueid", "Linkedid", "Exten", "Context", "CallerIDNum",
                                     "CallerIDName", "Queue", "Interface", "MemberName", "Paused", "InCall",
                                     "Status", "LastCall", "HoldTime", "TalkTime", "Position", "Variable",
                                     "Value", "UserEvent", "Reason", "Cause", "DestChannel"]), FIELD_VALUES,
                    max_size=10),
    st.lists(st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["PASOKH_ANONYMOUS", "PASOKH_FEEDBACK_KIND", "X"]),
                       FIELD_VALUES), max_size=3),
)
# Newchannel needs Linkedid: Asterisk always sends it, Uniqueid == Linkedid (both absent) made it look first.
_LINKED = {"Exten": "137", "Context": "pasokh-inbound"}


sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@sqlite_only
def test_given_events_with_any_values_when_the_bridge_consumes_them_then_it_survives_each_one(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings_ = load_settings(environ={}, environment="test")

    @FUZZ
    @given(events=st.lists(EVENT, min_size=1, max_size=6))
    @example(events=[{"Event": "Newchannel", **_LINKED}])
    def consume(events: list[dict[str, Any]]) -> None:
        caplog.clear()

        async def run() -> None:
            metrics = Metrics()
            tracker = CallTracker(records=CallRecords(engine=engine), agent_log=AgentStateLog(engine=engine),
                                  notifier=Notifier(bus=InProcessBus()), metrics=metrics, wrapup_seconds=0.05)
            bridge = AmiBridge(settings=settings_, tracker=tracker)
            consumer = asyncio.create_task(bridge._consume())
            for event in events:
                bridge._enqueue(None, event)  # type: ignore[arg-type]
            for _ in range(500):
                if bridge._inbox.empty():
                    break
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.01)
            assert not consumer.done(), consumer
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
            await tracker.stop()
            assert bridge._inbox.empty()

        started = time.monotonic()
        asyncio.run(run())
        failed = [r.getMessage() for r in caplog.records if r.exc_info is not None]
        assert not failed, (failed, events, time.monotonic() - started)

    consume()
