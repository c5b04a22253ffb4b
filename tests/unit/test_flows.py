"""The line flows, driven by a scripted channel instead of Asterisk."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from callcenter.metrics import Metrics
from ivr.agi_server import AgiServer
from ivr.flows import ALL_DIGITS, MAX_TRIES, Flows, Prompts
from ivr.prompt_catalog import PROMPTS

SOUNDS = PurePosixPath("/snd/fa")
NO_DIGIT = ("0", "endpos=16000")
TIMEOUT = ("", "")


class ScriptedChannel:
    """Answers each AGI command from a per-command script; an unscripted command fails the test."""

    def __init__(self, **script: list[tuple[str, str]]) -> None:
        self._script = {name.replace("_", " ").upper(): list(replies) for name, replies in script.items()}
        self.commands: list[tuple[str, ...]] = []
        self.variables: dict[str, str] = {}

    async def command(self, name: str, *args: str) -> tuple[str, str]:
        self.commands.append((name, *args))
        replies = self._script.get(name)
        if not replies:
            raise AssertionError(f"unexpected AGI command {name} {args}")
        return replies.pop(0)

    async def set_variable(self, name: str, value: str) -> None:
        self.commands.append(("SET VARIABLE", name, value))
        self.variables[name] = value

    def named(self, name: str) -> list[tuple[str, ...]]:
        return [c for c in self.commands if c[0] == name]


@pytest.fixture
def flows() -> Flows:
    return Flows(prompts=Prompts(sounds_dir=SOUNDS))


async def test_given_1_pressed_during_the_greeting_when_line_137_runs_then_the_caller_is_queued_without_asking(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[("49", "endpos=8000"), NO_DIGIT])
    await flows.line_137(channel)  # type: ignore[arg-type]
    assert channel.named("GET DATA") == []
    assert channel.commands == [
        ("STREAM FILE", "/snd/fa/welcome_137", ALL_DIGITS),
        ("STREAM FILE", "/snd/fa/connecting_to_operator", ""),
        ("SET VARIABLE", "PASOKH_NEXT", "queue"),
    ]
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_no_digit_ever_when_line_137_runs_then_it_asks_three_times_and_still_queues(flows: Flows) -> None:
    channel = ScriptedChannel(stream_file=[NO_DIGIT] * (1 + MAX_TRIES - 1 + 1), get_data=[TIMEOUT] * MAX_TRIES)
    await flows.line_137(channel)  # type: ignore[arg-type]
    assert channel.named("GET DATA") == [("GET DATA", "/snd/fa/press_1_for_operator", "5000", "1")] * 3
    assert channel.named("STREAM FILE") == [
        ("STREAM FILE", "/snd/fa/welcome_137", ALL_DIGITS),
        ("STREAM FILE", "/snd/fa/invalid_choice", ""),
        ("STREAM FILE", "/snd/fa/invalid_choice", ""),
        ("STREAM FILE", "/snd/fa/connecting_to_operator", ""),
    ]
    assert channel.commands[-1] == ("SET VARIABLE", "PASOKH_NEXT", "queue")
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_a_wrong_digit_then_1_when_line_137_asks_then_it_stops_asking_after_the_1(flows: Flows) -> None:
    channel = ScriptedChannel(stream_file=[("53", ""), NO_DIGIT, NO_DIGIT], get_data=[("7", ""), ("1", "")])
    await flows.line_137(channel)  # type: ignore[arg-type]
    assert len(channel.named("GET DATA")) == 2
    assert channel.named("STREAM FILE")[1] == ("STREAM FILE", "/snd/fa/invalid_choice", "")
    assert channel.variables == {"PASOKH_NEXT": "queue"}


async def test_given_a_call_to_1888_when_its_flow_runs_then_the_greeting_plays_and_the_caller_is_queued(
    flows: Flows,
) -> None:
    channel = ScriptedChannel(stream_file=[NO_DIGIT])
    await flows.line_1888(channel)  # type: ignore[arg-type]
    assert channel.commands == [
        ("STREAM FILE", "/snd/fa/welcome_1888", ""),
        ("SET VARIABLE", "PASOKH_NEXT", "queue"),
    ]


def test_given_a_known_prompt_key_when_asking_its_path_then_it_is_under_the_sounds_dir_without_extension() -> None:
    assert Prompts(sounds_dir=SOUNDS).path("welcome_137") == "/snd/fa/welcome_137"


def test_given_an_unknown_prompt_key_when_asking_its_path_then_key_error_is_raised() -> None:
    assert "no_such_prompt" not in PROMPTS
    with pytest.raises(KeyError):
        Prompts(sounds_dir=SOUNDS).path("no_such_prompt")


def test_given_an_agi_server_when_registering_the_flows_then_both_lines_get_a_route(flows: Flows) -> None:
    server = AgiServer(metrics=Metrics())
    flows.register(server)
    with pytest.raises(ValueError):
        flows.register(server)
    with pytest.raises(ValueError):
        server.add_route("line1888", flows.line_1888)
