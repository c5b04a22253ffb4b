"""Turns AMI events, in order, into call and agent state, durable call records and domain events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from callcenter.call_records import CallRecords
from callcenter.lines import (
    ANONYMOUS_VARIABLE,
    FEEDBACK_KIND_VARIABLE,
    PERSONNEL_CODE_VARIABLE,
    line_by_number,
    line_by_queue,
)
from callcenter.metrics import Metrics
from callcenter.notifier import Notifier
from db.models import CallOutcome, FeedbackKind

log = logging.getLogger(__name__)

INBOUND_CONTEXT = "pasokh-inbound"
AmiEvent = Mapping[str, str]


@dataclass
class AgentState:
    extension: str
    queue: str
    state: str  # "ready", "paused", "ringing", "talking", "wrap_up", "logged_out"
    reason: str | None = None  # why paused


def interface_extension(interface: str) -> str:
    """``PJSIP/1001`` → ``1001``."""
    return interface.split("/", 1)[-1] if interface else ""


class CallTracker:
    """State from events; dependencies passed in (records, notifier, metrics), no globals."""

    def __init__(self, *, records: CallRecords, notifier: Notifier, metrics: Metrics) -> None:
        self._records = records
        self._notifier = notifier
        self._metrics = metrics
        self.live_calls: set[str] = set()
        self.agents: dict[tuple[str, str], AgentState] = {}
        self._handlers: dict[str, Callable[[AmiEvent, float], Awaitable[None]]] = {
            "Newchannel": self._on_newchannel,
            "UserEvent": self._on_user_event,
            "QueueCallerJoin": self._on_queue_join,
            "AgentCalled": self._on_agent_called,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "AgentRingNoAnswer": self._on_agent_ring_no_answer,
            "QueueCallerAbandon": self._on_abandon,
            "Hangup": self._on_hangup,
            "QueueMemberAdded": self._on_member_status,
            "QueueMemberRemoved": self._on_member_removed,
            "QueueMemberPause": self._on_member_status,
            "QueueMember": self._on_member_status,  # one row of a QueueStatus answer, after a reconnect
        }

    async def handle(self, event: AmiEvent, received_at: float) -> None:
        handler = self._handlers.get(event.get("Event", ""))
        if handler is not None:
            self._metrics.ami_events.inc()
            await handler(event, received_at)

    async def _db(self, func: Callable[..., object], *args: object, **kwargs: object) -> object:
        return await asyncio.to_thread(func, *args, **kwargs)

    async def _on_newchannel(self, event: AmiEvent, origin: float) -> None:
        line = line_by_number(event.get("Exten", ""))
        is_first_channel = event.get("Uniqueid") == event.get("Linkedid")
        if line is None or event.get("Context") != INBOUND_CONTEXT or not is_first_channel:
            return
        linkedid = event["Linkedid"]
        self.live_calls.add(linkedid)
        self._metrics.calls_started.labels(line=line.number).inc()
        call = await asyncio.to_thread(
            self._records.start, linkedid=linkedid, line=line.number,
            caller_number=event.get("CallerIDNum", ""), channel=event.get("Channel", ""), at=_now(),
        )
        self._notifier.call_started(call, origin=origin)

    async def _on_user_event(self, event: AmiEvent, origin: float) -> None:
        if event.get("UserEvent") == "PasokhLinesBusy":
            self._metrics.calls_refused_busy.inc()
            await asyncio.to_thread(self._records.update, event.get("Linkedid", ""), outcome=CallOutcome.LINES_BUSY)

    async def _on_queue_join(self, event: AmiEvent, origin: float) -> None:
        call = await asyncio.to_thread(
            self._records.update, event.get("Linkedid", ""), queue_name=event.get("Queue"), queued_at=_now(),
            **menu_choices(channel_variables(event)),
        )
        if call is not None:
            self._notifier.call_queued(call, origin=origin)

    async def _on_agent_called(self, event: AmiEvent, origin: float) -> None:
        extension = interface_extension(event.get("Interface", ""))
        self._set_agent(extension, event.get("Queue", ""), "ringing", origin)
        call = await asyncio.to_thread(self._records.get, event.get("Linkedid", ""))
        if call is not None:
            self._notifier.call_ringing(call, extension=extension, origin=origin)

    async def _on_agent_ring_no_answer(self, event: AmiEvent, origin: float) -> None:
        self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""), "ready", origin)

    async def _on_agent_connect(self, event: AmiEvent, origin: float) -> None:
        extension = interface_extension(event.get("Interface", ""))
        self._set_agent(extension, event.get("Queue", ""), "talking", origin)
        operator_id = await asyncio.to_thread(self._records.operator_id, extension)
        call = await asyncio.to_thread(
            self._records.update, event.get("Linkedid", ""),
            answered_at=_now(), operator_extension=extension, operator_id=operator_id,
        )
        if call is None:
            return
        history = await asyncio.to_thread(self._records.history, call.caller_number)
        self._notifier.call_connected(call, extension=extension, history=history, origin=origin)

    async def _on_agent_complete(self, event: AmiEvent, origin: float) -> None:
        self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""), "wrap_up", origin)

    async def _on_abandon(self, event: AmiEvent, origin: float) -> None:
        await asyncio.to_thread(self._records.update, event.get("Linkedid", ""), outcome=CallOutcome.ABANDONED)

    async def _on_hangup(self, event: AmiEvent, origin: float) -> None:
        linkedid = event.get("Linkedid", "")
        if event.get("Uniqueid") != linkedid or linkedid not in self.live_calls:
            return
        self.live_calls.discard(linkedid)
        call = await asyncio.to_thread(self._records.finish, linkedid, at=_now())
        if call is not None:
            self._notifier.call_ended(call, origin=origin)

    async def _on_member_status(self, event: AmiEvent, origin: float) -> None:
        """A member added, paused or resumed, or listed by QueueStatus: ready, or paused with its reason."""
        paused = event.get("Paused") == "1"
        reason = (event.get("PausedReason") or event.get("Reason") or None) if paused else None
        self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""),
                        "paused" if paused else "ready", origin, reason=reason)

    async def _on_member_removed(self, event: AmiEvent, origin: float) -> None:
        self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""), "logged_out", origin)


    def _set_agent(self, extension: str, queue: str, state: str, origin: float, *, reason: str | None = None) -> None:
        if not extension or line_by_queue(queue) is None:
            return
        if state == "logged_out":
            self.agents.pop((extension, queue), None)
        else:
            self.agents[(extension, queue)] = AgentState(extension=extension, queue=queue, state=state, reason=reason)
        self._notifier.agent_state(extension=extension, queue=queue, state=state, reason=reason, origin=origin)

    async def resync(self, live_linkedids: set[str]) -> None:
        """After (re)connecting: whatever ended while we were away is closed in the database."""
        self.live_calls = set(live_linkedids)
        closed = await asyncio.to_thread(self._records.close_missing, live_linkedids, at=_now())
        if closed:
            log.info("closed %d call records that ended while AMI was disconnected", closed)


def channel_variables(event: AmiEvent) -> dict[str, str]:
    """``ChanVariable: NAME=value`` headers (one or several; panoramisk gives a list when repeated)."""
    raw: object = event.get("ChanVariable", [])
    items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    pairs = (str(item).partition("=") for item in items)
    return {name: value for name, _, value in pairs if name}


def menu_choices(variables: Mapping[str, str]) -> dict[str, object]:
    """The 1888 menu's answers as call-record fields; an anonymous caller's number is not kept."""
    choices: dict[str, object] = {}
    kind = variables.get(FEEDBACK_KIND_VARIABLE, "")
    if kind in FeedbackKind.__members__.values():
        choices["feedback_kind"] = FeedbackKind(kind)
    code = variables.get(PERSONNEL_CODE_VARIABLE, "")
    if code.isdigit():
        choices["personnel_code"] = code
    if variables.get(ANONYMOUS_VARIABLE) == "1":
        choices.update(anonymous=True, caller_number="")
    return choices


def _now() -> datetime:
    return datetime.now(UTC)
