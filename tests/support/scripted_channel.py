"""A scripted AGI channel and fakes for driving the IVR flows without Asterisk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from callcenter.intake.ivr_requests import CallbackReceipt
from callcenter.intake.routing import QueueState
from callcenter.tickets.store import TicketSummary, VoiceMessage
from ivr.agi_server import CallerHungUp

SOUNDS = PurePosixPath("/snd/fa")
NO_DIGIT = ("0", "endpos=16000")
TIMEOUT = ("", "")


class ScriptedChannel:
    """Answers each AGI command from a per-command script; an unscripted command fails the test."""

    def __init__(self, **script: list[tuple[str, str]]) -> None:
        self.caller = "09121111111"
        self._script = {name.replace("_", " ").upper(): list(replies) for name, replies in script.items()}
        self.commands: list[tuple[str, ...]] = []
        self.variables: dict[str, str] = {}
        self._hang_up_on: str | None = None
        self._hang_up_on_prompt: str | None = None

    def hang_up_on(self, name: str) -> None:
        """The caller hangs up while ``name`` runs (Asterisk answers it with a hang-up)."""
        self._hang_up_on = name

    def hang_up_on_prompt(self, key: str) -> None:
        """The caller hangs up while the prompt ``key`` plays."""
        self._hang_up_on_prompt = key

    async def command(self, name: str, *args: str) -> tuple[str, str]:
        self.commands.append((name, *args))
        if name == self._hang_up_on:
            raise CallerHungUp(name)
        if self._hang_up_on_prompt and args and args[0].rsplit("/", 1)[-1] == self._hang_up_on_prompt:
            raise CallerHungUp(name)
        replies = self._script.get(name)
        if not replies:
            raise AssertionError(f"unexpected AGI command {name} {args}")
        return replies.pop(0)

    @property
    def caller_number(self) -> str:
        return self.caller

    async def set_variable(self, name: str, value: str) -> None:
        self.commands.append(("SET VARIABLE", name, value))
        self.variables[name] = value

    def named(self, name: str) -> list[tuple[str, ...]]:
        return [c for c in self.commands if c[0] == name]


def digit(d: str) -> tuple[str, str]:
    return (str(ord(d)), "endpos=100")


def played(channel: ScriptedChannel) -> list[str]:
    return [c[1].rsplit("/", 1)[-1] for c in channel.commands if c[0] in ("STREAM FILE", "GET DATA")]


READY_QUEUE = QueueState(logged_in=2, ready=1, paused=0, waiting=0, average_hold_seconds=20)
EMPTY_QUEUE = QueueState(logged_in=0, ready=0, paused=0, waiting=0, average_hold_seconds=0)


@dataclass
class FixedQueueState:
    state: QueueState = READY_QUEUE

    async def read(self, channel: object, queue: str) -> QueueState:
        return self.state


@dataclass
class FakeRequests:
    """Records what the IVR filed; codes come from a list."""

    messages: list[VoiceMessage] = field(default_factory=list)
    callbacks: list[tuple[str, str, str]] = field(default_factory=list)
    code: str = "123456784"

    async def leave_message(self, message: VoiceMessage) -> str:
        self.messages.append(message)
        return self.code

    async def request_callback(self, *, line: str, caller_number: str, linkedid: str) -> CallbackReceipt:
        self.callbacks.append((line, caller_number, linkedid))
        return CallbackReceipt(callback_id=len(self.callbacks), position=len(self.callbacks))


@dataclass
class OpenHours:
    open_now: bool = True

    def is_open(self, at: object) -> bool:
        return self.open_now


class FakeDirectory:
    """Tickets the IVR can find, by caller and by code."""

    def __init__(self, *tickets: tuple[str, TicketSummary]) -> None:
        self._by_caller = {caller: ticket for caller, ticket in tickets}
        self._by_code = {ticket.tracking_code: ticket for _, ticket in tickets}

    async def latest_open_for_caller(self, caller_number: str) -> TicketSummary | None:
        return self._by_caller.get(caller_number)

    async def by_tracking_code(self, code: str) -> TicketSummary | None:
        return self._by_code.get(code)
