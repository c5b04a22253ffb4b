"""The AGI baseline bench's two sides, end to end (real sipp calls, real Asterisk, the pyst2 script started by
Asterisk per call): each session reads the caller's key and sets the step's variables, so the bench measures
sessions that did the work, not scripts that failed at once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.perf.agi_baseline import (
    FASTAGI,
    PYST2,
    Session,
    baseline_fastagi,
    call_side,
    disable_baseline,
    enable_baseline,
    sessions,
)
from tests.support.ami import AmiObserver
from tests.support.backend import CITIZENS_PORT
from tests.support.fixtures import AsteriskUnderTest
from tests.support.sipp import Sipp


@pytest.fixture
def baseline_context(asterisk: AsteriskUnderTest) -> Iterator[None]:
    """The bench's context added to the session's Asterisk for this test only."""
    enable_baseline(asterisk.settings, asterisk.process)
    yield
    disable_baseline(asterisk.settings, asterisk.process)


@pytest.fixture
async def fastagi(asterisk: AsteriskUnderTest, baseline_context: None) -> AsyncIterator[None]:
    async with baseline_fastagi(asterisk.settings):
        yield


def commands_run(observer: AmiObserver, session: Session) -> list[str]:
    """The names of the AGI commands Asterisk ran on the session's channel, in order."""
    events = observer.matching(lambda e: e.get("Event") == "AGIExecStart" and e.get("Channel") == session.channel)
    return [" ".join(word for word in e["Command"].split()[:3] if word.isupper() and word.isalpha())
            for e in events]


async def one_session(observer: AmiObserver, side: str, count: int) -> Session:
    await observer.wait_for(lambda e: e.get("UserEvent") == "PasokhAgiBaseline" and e.get("Side") == side,
                            count=count, timeout=15)
    return sessions(observer, side)[count - 1]


async def test_given_the_bench_context_when_citizens_press_1_or_2_then_the_pyst2_script_and_fastagi_read_the_key(
    fastagi: None, sipp: Sipp, ami_observer: AmiObserver
) -> None:
    pressed_1 = await call_side(sipp, PYST2, calls=1, local_port=CITIZENS_PORT, digits="1", timeout=40)
    script_1 = await one_session(ami_observer, PYST2, 1)
    pressed_2 = await call_side(sipp, PYST2, calls=1, local_port=CITIZENS_PORT, digits="2", timeout=40)
    script_2 = await one_session(ami_observer, PYST2, 2)
    ours_pressed_1 = await call_side(sipp, FASTAGI, calls=1, local_port=CITIZENS_PORT, digits="1", timeout=40)
    ours_1 = await one_session(ami_observer, FASTAGI, 1)

    for result in (pressed_1, pressed_2, ours_pressed_1):
        assert result.failed == 0, result.output[-2000:]
    assert (script_1.status, script_1.choice, script_1.next_step) == ("SUCCESS", "1", "queue")
    assert (script_2.status, script_2.choice, script_2.next_step) == ("SUCCESS", "2", "")
    assert (ours_1.status, ours_1.choice, ours_1.next_step) == ("SUCCESS", "1", "queue")
    for session in (script_1, script_2, ours_1):
        # Timed by Asterisk around AGI(): the caller's part (the key came 2.5 s after the answer) is within it.
        assert 0 < session.waited_seconds < session.seconds
    # Asterisk ran the same commands for both sides' sessions where 1 was pressed (its AGIExecStart events).
    assert commands_run(ami_observer, script_1) == commands_run(ami_observer, ours_1)
    assert commands_run(ami_observer, script_1)[:2] == ["ANSWER", "STREAM FILE"]
