"""Reaching an operator: the queue when one can answer soon, else a callback request or a recorded message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from callcenter.intake.callbacks import can_call_back
from callcenter.intake.ivr_requests import CallbackReceipt
from callcenter.intake.routing import Availability, QueueState, RoutingPolicy
from callcenter.platform.lines import PublicLine
from callcenter.telephony.dialplan import NextStep, Variable
from callcenter.telephony.recordings import RecordingStore
from callcenter.tickets.store import VoiceMessage
from db.models import FeedbackKind
from ivr.agi_server import CallerHungUp
from ivr.menu import MAX_TRIES, Channel, Menu
from ivr.speech import say_number, say_tracking_code

log = logging.getLogger(__name__)

REASON_PROMPTS = {
    Availability.CLOSED: "closed_now",
    Availability.NO_OPERATOR: "no_operator_available",
    Availability.LONG_WAIT: "long_wait",
}
CALLBACK, MESSAGE, WAIT = "1", "2", "3"
OPTION_PROMPTS = {CALLBACK: "option_callback", MESSAGE: "option_message", WAIT: "option_wait"}


@dataclass(frozen=True)
class Caller:
    """Who is calling which line, with what the menu has learnt about them."""

    line: PublicLine
    number: str
    feedback_kind: FeedbackKind | None = None
    personnel_code: str | None = None
    anonymous: bool = False

    @property
    def may_be_called_back(self) -> bool:
        return not self.anonymous and can_call_back(self.number)


class CitizenRequests(Protocol):
    async def leave_message(self, message: VoiceMessage) -> str: ...

    async def request_callback(self, *, line: str, caller_number: str, linkedid: str) -> CallbackReceipt: ...


class QueueStateReader(Protocol):
    async def read(self, channel: Channel, queue: str) -> QueueState: ...


# Asterisk reads an AGI command into a 2 KB line buffer (AGI_BUF_LEN): the members' flags are asked for in
# batches that stay well under it (one member's part is about 80 characters).
MEMBERS_PER_COMMAND = 16
_PART = "|"  # between the parts of one answer; neither numbers, device states nor interface lists hold one
_MEMBER = ";"


class AsteriskQueueState:
    """Reads a queue's state from Asterisk over the caller's own AGI channel (no AMI round trip needed), in as few
    commands as the AGI line allows: one for the queue's counts and members, one per batch of members (a call to
    a queue of 100 operators sent a command per member before, about 106 in all)."""

    async def read(self, channel: Channel, queue: str) -> QueueState:
        # Asterisk substitutes left to right, so QUEUE_VARIABLES has set QUEUEHOLDTIME when it is read.
        summary = await Menu.evaluate(channel, _PART.join((
            f"${{QUEUE_MEMBER({queue},logged)}}", f"${{QUEUE_MEMBER({queue},ready)}}",
            f"${{QUEUE_WAITING_COUNT({queue})}}", f"${{QUEUE_VARIABLES({queue})}}", "${QUEUEHOLDTIME}",
            f"${{QUEUE_MEMBER_LIST({queue})}}")))
        logged_in, ready, waiting, _set, hold, members = (summary.split(_PART) + [""] * 6)[:6]
        interfaces = [interface for interface in members.split(",") if interface]
        paused = 0
        for start in range(0, len(interfaces), MEMBERS_PER_COMMAND):
            paused += await _present_and_paused(channel, queue, interfaces[start:start + MEMBERS_PER_COMMAND])
        return QueueState(logged_in=_count(logged_in), ready=_count(ready), paused=paused, waiting=_count(waiting),
                          average_hold_seconds=_count(hold))


async def _present_and_paused(channel: Channel, queue: str, interfaces: Sequence[str]) -> int:
    """How many of ``interfaces`` are paused with their phone present (a paused member whose phone is gone is
    not someone who could be asked to answer)."""
    answer = await Menu.evaluate(channel, _MEMBER.join(
        f"${{QUEUE_MEMBER({queue},paused,{interface})}}{_PART}${{DEVICE_STATE({interface})}}"
        for interface in interfaces))
    count = 0
    for member in answer.split(_MEMBER):
        is_paused, _, device = member.partition(_PART)
        if is_paused == "1" and device not in ("UNAVAILABLE", "INVALID", "UNKNOWN"):
            count += 1
    return count


def _count(value: str) -> int:
    return int(value) if value.strip().isdigit() else 0


@dataclass(frozen=True)
class VoiceMessageLimits:
    max_seconds: int = 120
    min_seconds: float = 1.0
    silence_seconds: int = 5


class OperatorAccess:
    """The last step of every line's menu."""

    def __init__(
        self, *, menu: Menu, routing: RoutingPolicy, queue_state: QueueStateReader, requests: CitizenRequests,
        recordings: RecordingStore, limits: VoiceMessageLimits,
    ) -> None:
        self.menu = menu
        self.routing = routing
        self.queue_state = queue_state
        self.requests = requests
        self.recordings = recordings
        self.limits = limits

    async def reach_operator(self, channel: Channel, caller: Caller) -> None:
        if self.routing.is_open():
            availability = self.routing.decide(await self.queue_state.read(channel, caller.line.queue))
        else:
            availability = Availability.CLOSED
        if availability == Availability.WAIT:
            await self.to_queue(channel)
            return
        log.info("Line %s caller offered alternatives: %s", caller.line.number, availability.value)
        await self._offer_alternatives(channel, caller, availability)

    async def to_queue(self, channel: Channel) -> None:
        await self.menu.play(channel, "connecting_to_operator", escape="")
        await channel.set_variable(Variable.NEXT, NextStep.QUEUE)

    async def _offer_alternatives(self, channel: Channel, caller: Caller, availability: Availability) -> None:
        """Callback (when we have a number to call), recorded message, or wait; three tries, then the queue."""
        options = ([CALLBACK] if caller.may_be_called_back else []) + [MESSAGE, WAIT]
        prompts = [OPTION_PROMPTS[key] for key in options]
        keys = [REASON_PROMPTS[availability], *prompts]
        for attempt in range(MAX_TRIES):
            digit = await self.menu.play(channel, keys, escape="".join(options) + "0") \
                or await self.menu.wait_digit(channel)
            if digit == CALLBACK and CALLBACK in options:
                await self._request_callback(channel, caller)
                return
            if digit == MESSAGE and await self._take_message(channel, caller):
                return
            if digit in (WAIT, "0"):
                break
            if digit is not None and digit != MESSAGE and attempt < MAX_TRIES - 1:
                await self.menu.play(channel, "invalid_choice", escape="")
            keys = prompts
        await self.to_queue(channel)  # nobody is cut off: whoever could not choose waits for an operator

    async def _request_callback(self, channel: Channel, caller: Caller) -> None:
        linkedid = await self._linkedid(channel)
        receipt = await self.requests.request_callback(line=caller.line.number, caller_number=caller.number,
                                                        linkedid=linkedid)
        await self.menu.play(channel, ["callback_registered", *say_number(receipt.position), "callback_in_turn",
                                       "goodbye"], escape="")
        await channel.set_variable(Variable.NEXT, NextStep.HANGUP)

    async def _take_message(self, channel: Channel, caller: Caller) -> bool:
        """Record after the beep (# ends it); True once a message is kept and its tracking code was read back."""
        linkedid = await self._linkedid(channel)
        name = self.recordings.new_name(line=caller.line.number, uniqueid=linkedid)
        await self.menu.play(channel, "record_after_beep", escape="")
        try:
            await channel.command(
                "RECORD FILE", self.recordings.asterisk_path(name), "wav", "#",
                str(self.limits.max_seconds * 1000), "0", "BEEP", f"s={self.limits.silence_seconds}",
            )
        except CallerHungUp:
            # Hanging up is how many people end a message: keep it, the tracking code goes out by SMS.
            await self._file_message(caller, name, linkedid)
            raise
        code = await self._file_message(caller, name, linkedid)
        if code is None:
            await self.menu.play(channel, "message_too_short", escape="")
            return False
        await self.menu.play(channel, ["message_recorded", *say_tracking_code(code), "goodbye"], escape="")
        await channel.set_variable(Variable.NEXT, NextStep.HANGUP)
        return True

    async def _file_message(self, caller: Caller, name: str, linkedid: str) -> str | None:
        seconds = await asyncio.to_thread(self.recordings.duration_seconds, name)  # disk, off the AGI loop
        if seconds < self.limits.min_seconds:
            log.info("Voice message %s too short (%.1f s); not kept", name, seconds)
            return None
        return await self.requests.leave_message(VoiceMessage(
            line=caller.line.number, linkedid=linkedid, caller_number=None if caller.anonymous else caller.number,
            recording=name, feedback_kind=caller.feedback_kind, personnel_code=caller.personnel_code,
            anonymous=caller.anonymous,
        ))

    async def _linkedid(self, channel: Channel) -> str:
        return await Menu.evaluate(channel, "${CHANNEL(linkedid)}") or await Menu.evaluate(channel, "${UNIQUEID}")

