"""What the backend asks of Asterisk (queue membership, call controls, ChanSpy), over any AMI action sender."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callcenter.platform.errors import AsteriskRefused, NoActiveCall
from callcenter.platform.lines import LINES
from callcenter.telephony.dialplan import Context, Group, Variable, group_count


class AsteriskActions(ABC):
    """The actions in one place; subclasses only send: the AMI bridge itself, or a web-only worker's relay
    to the process that owns the AMI connection (callcenter.telephony.ami_relay)."""

    @property
    @abstractmethod
    def connected(self) -> bool: ...

    @property
    @abstractmethod
    def asterisk_version(self) -> str | None: ...

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def wait_connected(self, timeout: float) -> bool:
        """True once Asterisk can be asked (at most ``timeout`` seconds)."""

    @abstractmethod
    async def action(self, action: dict[str, str]) -> Mapping[str, Any]:
        """Send one action; raise :class:`AsteriskUnavailable` when not connected or unanswered, and
        :class:`AsteriskRefused` when Asterisk answers with an error."""

    @abstractmethod
    async def action_list(self, action: dict[str, str]) -> list[Mapping[str, Any]]:
        """Send an action whose answer is an event list (QueueStatus, CoreShowChannels...)."""

    async def queue_add(self, *, queue: str, extension: str, member_name: str) -> None:
        """Already a member counts as done: a second click (or a second tab) joins nobody twice."""
        await self._membership({
            "Action": "QueueAdd", "Queue": queue, "Interface": f"PJSIP/{extension}",
            "MemberName": member_name, "StateInterface": f"PJSIP/{extension}", "Paused": "false",
        }, already_so="already there")

    async def queue_pause(self, *, queue: str, extension: str, reason: str | None) -> None:
        """Pause with a reason (``reason=None`` resumes); Asterisk answers with QueueMemberPause."""
        action = {"Action": "QueuePause", "Queue": queue, "Interface": f"PJSIP/{extension}",
                  "Paused": "true" if reason else "false"}
        if reason:
            action["Reason"] = reason
        await self.action(action)

    async def queue_remove(self, *, queue: str, extension: str) -> None:
        """Not a member counts as done, as for joining."""
        await self._membership({"Action": "QueueRemove", "Queue": queue, "Interface": f"PJSIP/{extension}"},
                               already_so="not there")

    async def _membership(self, action: dict[str, str], *, already_so: str) -> None:
        """A membership change; Asterisk's refusal ending in ``already_so`` ("Unable to add interface: Already
        there", "Unable to remove interface: Not there") means the queue is already as asked."""
        try:
            await self.action(action)
        except AsteriskRefused as refused:
            if not refused.reason.lower().endswith(already_so):
                raise

    async def operator_call(self, extension: str) -> CallLegs:
        """The operator's phone channel and the citizen bridged to it, asked of Asterisk itself (so it holds
        after a backend restart); :class:`NoActiveCall` when the operator is on no call."""
        channels = await self.action_list({"Action": "CoreShowChannels"})
        legs = call_legs([c for c in channels if c.get("Event") == "CoreShowChannel"], extension)
        if legs is None:
            raise NoActiveCall("در حال حاضر تماسی برقرار نیست.", extension=extension)
        return legs

    async def hang_up(self, channel: str) -> None:
        await self.action({"Action": "Hangup", "Channel": channel, "Cause": "16"})

    async def transfer(self, legs: CallLegs, *, context: str, exten: str) -> None:
        """Blind transfer: the citizen's channel leaves its bridge (the operator's leg ends) and runs ``exten``.
        A citizen put on hold first is unmuted: the mute belongs to their channel and would follow them to the
        supervisor or the other queue, where nobody could hear them."""
        await self.mute(channel=legs.citizen_channel, muted=False)
        await self.action({"Action": "Redirect", "Channel": legs.citizen_channel, "Context": context,
                           "Exten": exten, "Priority": "1"})

    async def mute(self, *, channel: str, muted: bool) -> None:
        """Both directions of one channel: on hold, the citizen neither hears nor is heard. The MUTEAUDIO
        function through Setvar (AMI class ``call``) rather than the MuteAudio action, which needs the
        ``system`` class: that class would also let the AMI user originate ``System()`` (docs/security.md)."""
        await self.action({"Action": "Setvar", "Channel": channel, "Variable": MUTE_FUNCTION,
                           "Value": "on" if muted else "off"})

    async def reload_pjsip(self) -> None:
        """Re-read pjsip.conf (phones added or deactivated); registrations of unchanged phones survive it."""
        await self.action({"Action": "Reload", "Module": PJSIP_MODULE})

    async def spy(self, *, supervisor_extension: str, operator_extension: str, options: str) -> None:
        """Ring the supervisor's phone; once answered, ChanSpy on the operator's channel (``options``: q quiet,
        E end with the operator's call, w whisper, B barge)."""
        await self.action({
            "Action": "Originate", "Channel": f"PJSIP/{supervisor_extension}", "Application": "ChanSpy",
            "Data": f"PJSIP/{operator_extension}-,{options}", "CallerID": f"Pasokh <{operator_extension}>",
            "Timeout": "30000", "Async": "true",
        })

    # -- outbound verification calls (decision 31) ------------------------------------------------------------

    async def lines_in_use(self) -> LineUse:
        """Lines busy now (outbound, and inbound in menus, queues or conversations) and inbound callers waiting
        in the queues, as Asterisk counts them."""
        outbound = await self._number(group_count(Group.OUTBOUND))
        inbound = await self._number(group_count(Group.INBOUND))
        waiting = [await self._number(f"QUEUE_WAITING_COUNT({queue})") for queue in QUEUES]
        return LineUse(outbound=outbound, inbound=inbound, inbound_waiting=sum(waiting))

    async def call_citizen_for_supervisor(
        self, *, supervisor_extension: str, citizen_number: str, attempt_id: int, tracking_code: str,
        ring_seconds: int,
    ) -> None:
        """Ring the supervisor's phone; once answered, the dialplan calls the citizen on the outbound trunk."""
        await self.action({
            "Action": "Originate", "Channel": f"PJSIP/{supervisor_extension}", "Context": Context.VERIFY,
            "Exten": citizen_number, "Priority": "1", "CallerID": f"{tracking_code} <{citizen_number}>",
            "Timeout": str(ring_seconds * 1000), "Variable": f"{Variable.VERIFY_ATTEMPT}={attempt_id}", "Async": "true",
        })

    async def call_citizen_automatically(self, *, citizen_number: str, attempt_id: int, ring_seconds: int) -> None:
        """The citizen's leg runs through the same dialplan (line cap, caller ID) as a supervisor's call; once
        answered, the other end of the local channel asks the question (FastAGI)."""
        await self.action({
            "Action": "Originate", "Channel": f"Local/{citizen_number}@{Context.VERIFY}",
            "Context": Context.VERIFY_AUTOMATIC, "Exten": "s", "Priority": "1",
            "Timeout": str((ring_seconds + 5) * 1000), "Variable": f"{Variable.VERIFY_ATTEMPT}={attempt_id}",
            "Async": "true",
        })

    async def _number(self, expression: str) -> int:
        response = await self.action({"Action": "Getvar", "Variable": expression})
        value = str(response.get("Value", "") or "0").strip()
        return int(value) if value.isdigit() else 0


QUEUES = tuple(line.queue for line in LINES)
MUTE_FUNCTION = "MUTEAUDIO(all)"
PJSIP_MODULE = "res_pjsip.so"
# ChanSpy's options per supervision mode: q quiet, E end with the operator's call, w whisper, B barge.
SPY_OPTIONS = {"listen": "qE", "whisper": "qEw", "barge": "qEB"}
# How the wallboard names each mode on its buttons, in this order.
SPY_MODE_NAMES = {"listen": "شنود", "whisper": "نجوا", "barge": "ورود به مکالمه"}


@dataclass(frozen=True)
class LineUse:
    outbound: int
    inbound_waiting: int
    inbound: int = 0


@dataclass(frozen=True)
class CallLegs:
    operator_channel: str
    citizen_channel: str
    linkedid: str


def call_legs(channels: list[Mapping[str, Any]], extension: str) -> CallLegs | None:
    """In a CoreShowChannels answer: the operator's channel (``PJSIP/<ext>-…``) and the other channel in its
    bridge."""
    prefix = f"PJSIP/{extension}-"
    mine = next((c for c in channels if str(c.get("Channel", "")).startswith(prefix) and c.get("BridgeId")), None)
    if mine is None:
        return None
    other = next((c for c in channels if c.get("BridgeId") == mine["BridgeId"] and c is not mine), None)
    if other is None:
        return None
    return CallLegs(operator_channel=str(mine["Channel"]), citizen_channel=str(other["Channel"]),
                    linkedid=str(other.get("Linkedid", "")))
