"""Reaching an operator: the queue, or a callback or a recorded message when nobody can answer soon."""

from __future__ import annotations

import math
import wave
from pathlib import Path, PurePosixPath

import pytest

from callcenter.intake.routing import Availability, QueueState, RoutingPolicy, availability, estimated_wait_seconds
from callcenter.telephony.recordings import RecordingStore
from ivr.agi_server import CallerHungUp
from ivr.flows import Flows
from ivr.menu import Menu, Prompts
from ivr.operator_access import OperatorAccess, VoiceMessageLimits
from ivr.speech import say_number, say_tracking_code
from tests.support.scripted_channel import (
    EMPTY_QUEUE,
    NO_DIGIT,
    SOUNDS,
    TIMEOUT,
    FakeDirectory,
    FakeRequests,
    FixedQueueState,
    OpenHours,
    ScriptedChannel,
    digit,
    played,
)

LINKEDID = ("1", "1700000000.42")
RECORDED_HASH = ("35", "endpos=24000")  # RECORD FILE ended by # (ASCII 35)


def state(**changes: int) -> QueueState:
    values = {"logged_in": 2, "ready": 0, "paused": 0, "waiting": 0, "average_hold_seconds": 30, **changes}
    return QueueState(**values)


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (state(ready=1), 0.0),                              # a free operator, nobody waiting
        (state(ready=2, waiting=1), 0.0),                   # still one free operator after those waiting
        (state(), 15.0),                                    # both busy: one hold shared by two operators
        (state(waiting=3), 60.0),                           # three ahead + me = 4 holds / 2 operators
        (state(waiting=3, average_hold_seconds=0), 120.0),  # no history yet: 60 s assumed per caller
        (state(paused=1, waiting=3), 120.0),                # one operator paused: only one answers
        (state(paused=2), math.inf),
        (state(logged_in=0), math.inf),
    ],
)
def test_estimated_wait_matches_the_hand_computed_figure(queue: QueueState, expected: float) -> None:
    assert estimated_wait_seconds(queue) == expected


def test_given_the_states_then_availability_is_closed_first_then_no_operator_then_long_wait() -> None:
    assert availability(state(ready=1), open_now=False, max_wait_seconds=120) == Availability.CLOSED
    assert availability(state(logged_in=0), open_now=True, max_wait_seconds=120) == Availability.NO_OPERATOR
    assert availability(state(paused=2), open_now=True, max_wait_seconds=120) == Availability.NO_OPERATOR
    assert availability(state(waiting=8), open_now=True, max_wait_seconds=120) == Availability.LONG_WAIT
    assert availability(state(waiting=7), open_now=True, max_wait_seconds=120) == Availability.WAIT


def write_message(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x10\x00" * int(8000 * seconds))


class Harness:
    def __init__(self, tmp_path: Path, *, queue: QueueState = EMPTY_QUEUE, open_now: bool = True) -> None:
        self.requests = FakeRequests()
        self.recordings = RecordingStore(host_dir=tmp_path, asterisk_dir=PurePosixPath("/rec"))
        menu = Menu(Prompts(sounds_dir=SOUNDS))
        self.operators = OperatorAccess(
            menu=menu, routing=RoutingPolicy(hours=OpenHours(open_now), max_wait_seconds=120),
            queue_state=FixedQueueState(queue), requests=self.requests, recordings=self.recordings,
            limits=VoiceMessageLimits(),
        )
        self.flows = Flows(menu=menu, tickets=FakeDirectory(), operators=self.operators)
        self.message_file = tmp_path / self.recordings.new_name(line="137", uniqueid=LINKEDID[1])


async def test_given_no_operator_when_137_caller_asks_for_one_then_callback_is_offered_and_registered(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path)
    channel = ScriptedChannel(stream_file=[digit("1"), NO_DIGIT, digit("1")] + [NO_DIGIT] * 10,
                              get_full_variable=[LINKEDID])
    await harness.flows.line_137(channel)
    assert played(channel) == ["welcome_137", "no_operator_available", "option_callback",
                               "callback_registered", *say_number(1), "callback_in_turn", "goodbye"]
    assert harness.requests.callbacks == [("137", channel.caller, LINKEDID[1])]
    assert channel.variables == {"PASOKH_NEXT": "hangup"}


async def test_given_no_operator_when_caller_leaves_a_message_then_a_ticket_and_its_code_is_read_back(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path)
    write_message(harness.message_file, 3.0)  # what Asterisk would have recorded
    channel = ScriptedChannel(stream_file=[digit("1"), digit("2")] + [NO_DIGIT] * 20,
                              get_full_variable=[LINKEDID], record_file=[RECORDED_HASH])
    await harness.flows.line_137(channel)
    assert channel.named("RECORD FILE") == [("RECORD FILE", "/rec/msg-137-1700000000.42", "wav", "#", "120000",
                                             "0", "BEEP", "s=5")]
    assert played(channel)[-(len(say_tracking_code("123456784")) + 2):] == [
        "message_recorded", *say_tracking_code("123456784"), "goodbye"]
    [message] = harness.requests.messages
    assert (message.line, message.recording, message.caller_number) == ("137", harness.message_file.name,
                                                                       channel.caller)
    assert channel.variables == {"PASOKH_NEXT": "hangup"}


async def test_given_a_message_shorter_than_a_second_then_it_is_not_kept_and_the_options_come_again(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path)
    write_message(harness.message_file, 0.3)
    channel = ScriptedChannel(stream_file=[digit("1"), digit("2")] + [NO_DIGIT] * 20,
                              wait_for_digit=[digit("3")], get_full_variable=[LINKEDID],
                              record_file=[RECORDED_HASH])
    await harness.flows.line_137(channel)
    assert "message_too_short" in played(channel)
    assert harness.requests.messages == []
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_a_caller_who_hangs_up_while_recording_then_the_message_is_still_filed(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    write_message(harness.message_file, 4.0)
    channel = ScriptedChannel(stream_file=[digit("1"), digit("2"), NO_DIGIT], get_full_variable=[LINKEDID])
    channel.hang_up_on("RECORD FILE")
    with pytest.raises(CallerHungUp):  # the AGI server ends the session quietly on it
        await harness.flows.line_137(channel)
    assert len(harness.requests.messages) == 1


async def test_given_a_caller_without_caller_id_then_no_callback_is_offered(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    channel = ScriptedChannel(stream_file=[digit("1")] + [NO_DIGIT] * 20, wait_for_digit=[TIMEOUT] * 3)
    channel.caller = "anonymous"
    await harness.flows.line_137(channel)
    assert "option_callback" not in played(channel)
    assert played(channel).count("option_message") == 3
    assert channel.variables == {"PASOKH_NEXT": "queue"}  # silence: nobody is cut off, they wait


async def test_given_out_of_hours_then_the_reason_is_said_and_1_for_callback_works(tmp_path: Path) -> None:
    harness = Harness(tmp_path, queue=state(ready=2), open_now=False)
    channel = ScriptedChannel(stream_file=[digit("0"), digit("1")] + [NO_DIGIT] * 10, get_full_variable=[LINKEDID])
    await harness.flows.line_137(channel)
    assert played(channel)[:2] == ["welcome_137", "closed_now"]
    assert len(harness.requests.callbacks) == 1


async def test_given_a_ready_operator_then_the_caller_is_queued_without_options(tmp_path: Path) -> None:
    harness = Harness(tmp_path, queue=state(ready=1))
    channel = ScriptedChannel(stream_file=[digit("1"), NO_DIGIT])
    await harness.flows.line_137(channel)
    assert played(channel) == ["welcome_137", "connecting_to_operator"]


async def test_given_an_anonymous_1888_caller_when_no_operator_then_message_only_and_no_number_kept(
    tmp_path: Path,
) -> None:
    harness = Harness(tmp_path)
    write_message(tmp_path / harness.recordings.new_name(line="1888", uniqueid=LINKEDID[1]), 2.0)
    channel = ScriptedChannel(stream_file=[digit("1"), digit("1"), digit("2")] + [NO_DIGIT] * 20,
                              get_data=[("", "")], get_full_variable=[LINKEDID], record_file=[RECORDED_HASH])
    await harness.flows.line_1888(channel)
    assert "option_callback" not in played(channel)
    [message] = harness.requests.messages
    assert message.anonymous and message.caller_number is None and message.feedback_kind == "criticism"
