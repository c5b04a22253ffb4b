"""Turns AMI events, in order, into call and agent state, durable call records and domain events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from callcenter.platform.lines import LINES, line_by_number, line_by_queue
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.platform.privacy import may_show_caller_number
from callcenter.telephony.agent_states import AgentStateLog
from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.dialplan import Context, UserEvent, Variable
from db.models import AgentState, CallOutcome, CallPublic, FeedbackKind

log = logging.getLogger(__name__)

DEVICE_NOT_IN_USE = "1"  # AST_DEVICE_NOT_INUSE in QueueMemberStatus
# A call transferred to the other queue joins and is answered again: the record keeps the first of each.
FIRST_QUEUE = frozenset({"queue_name", "queued_at"})
FIRST_ANSWER = frozenset({"answered_at", "operator_extension", "operator_id", "recording"})
AmiEvent = Mapping[str, str]


class CallState(StrEnum):
    """Where a citizen's call in flight is, as the metrics count them (ADR 0081)."""

    MENU = "menu"  # from its first channel until it joins a queue: the voice menu (FastAGI)
    QUEUED = "queued"  # waiting in a queue for an operator
    TALKING = "talking"  # with an operator (or, after a transfer, a supervisor)


@dataclass(frozen=True)
class LiveCall:
    line: str
    state: CallState
    since: float  # monotonic: when it entered this state
    queue: str = ""


@dataclass(frozen=True)
class QueueWait:
    callers: int
    oldest_seconds: float  # 0 when nobody waits


@dataclass
class LiveAgent:
    extension: str
    queue: str
    state: AgentState
    since: datetime
    reason: str | None = None  # why paused


def interface_extension(interface: str) -> str:
    """``PJSIP/1001`` → ``1001``."""
    return interface.split("/", 1)[-1] if interface else ""


def member_extension(event: AmiEvent) -> str:
    """Queue member events name the phone ``Interface``; QueueStatus rows (QueueMember) call it ``Location``."""
    return interface_extension(event.get("Interface") or event.get("Location") or "")


class CallTracker:
    """State from events; dependencies passed in (records, notifier, metrics), no globals."""

    def __init__(
        self, *, records: CallRecords, agent_log: AgentStateLog, notifier: Notifier, metrics: Metrics,
        wrapup_seconds: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._records = records
        self._sleep = sleep  # how a wrap-up timer waits: the real clock, or a test's hand-driven one
        self._agent_log = agent_log
        self._notifier = notifier
        self._metrics = metrics
        self._wrapup = timedelta(seconds=wrapup_seconds)
        # Citizens' calls in flight by linkedid. The metrics' scrape reads it from another thread: its entries are
        # frozen (replaced, never changed), and the scrape copies the values in one step, atomic under the GIL.
        self._calls: dict[str, LiveCall] = {}
        self.agents: dict[tuple[str, str], LiveAgent] = {}
        # Agent changes come from events and from wrap-up timers: one at a time, so they land in order.
        self._agent_lock = asyncio.Lock()
        self._timers: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[AmiEvent, float], Awaitable[None]]] = {
            "Newchannel": self._on_newchannel,
            "NewCallerid": self._on_new_caller_id,
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
            "QueueMemberStatus": self._on_member_device_state,
        }

    @property
    def live_calls(self) -> set[str]:
        return set(self._calls)

    def calls_in_flight(self) -> dict[tuple[str, CallState], int]:
        """Calls now, by line and state; every pair present (0 when none), so the series always exist."""
        counts = {(line.number, state): 0 for line in LINES for state in CallState}
        for call in list(self._calls.values()):
            counts[(call.line, call.state)] = counts.get((call.line, call.state), 0) + 1
        return counts

    def queue_waits(self, now: float | None = None) -> dict[str, QueueWait]:
        """Callers waiting in each line's queue and how long the first of them has waited (monotonic clock)."""
        moment = time.monotonic() if now is None else now
        joined: dict[str, list[float]] = {line.queue: [] for line in LINES}
        for call in list(self._calls.values()):
            if call.state == CallState.QUEUED:
                joined.setdefault(call.queue, []).append(call.since)
        return {queue: QueueWait(callers=len(times), oldest_seconds=max(moment - min(times), 0.0) if times else 0.0)
                for queue, times in joined.items()}

    def _enter(self, linkedid: str, state: CallState, since: float, *, queue: str = "") -> None:
        call = self._calls.get(linkedid)
        if call is not None:
            self._calls[linkedid] = LiveCall(line=call.line, state=state, since=since, queue=queue)

    async def handle(self, event: AmiEvent, received_at: float) -> None:
        handler = self._handlers.get(event.get("Event", ""))
        if handler is not None:
            self._metrics.ami_events.inc()
            await handler(event, received_at)

    async def _db(self, func: Callable[..., object], *args: object, **kwargs: object) -> object:
        return await asyncio.to_thread(func, *args, **kwargs)

    async def _on_newchannel(self, event: AmiEvent, origin: float) -> None:
        line = line_by_number(event.get("Exten", ""))
        linkedid = event.get("Linkedid", "")
        is_first_channel = bool(linkedid) and event.get("Uniqueid") == linkedid
        if line is None or event.get("Context") != Context.INBOUND or not is_first_channel:
            return
        if linkedid not in self._calls:
            self._calls[linkedid] = LiveCall(line=line.number, state=CallState.MENU, since=origin)
        self._metrics.calls_started.labels(line=line.number).inc()
        call = await asyncio.to_thread(
            self._records.start, linkedid=linkedid, line=line.number,
            caller_number=event.get("CallerIDNum", ""), channel=event.get("Channel", ""), at=_happened(origin),
        )
        self._notifier.call_started(call, origin=origin)

    async def _on_new_caller_id(self, event: AmiEvent, origin: float) -> None:
        """The IVR withholds an anonymous caller's ID the moment they choose anonymity (after setting the menu's
        variables, which this event carries): the record forgets the number now, not at queue join, so a caller
        who hangs up during the options or the "connecting" prompt leaves no number behind."""
        linkedid = event.get("Linkedid", "")
        choices = menu_choices(channel_variables(event))
        if choices.get("anonymous") and linkedid in self._calls:
            await asyncio.to_thread(self._records.update, linkedid, first_only=(), **choices)

    async def _on_user_event(self, event: AmiEvent, origin: float) -> None:
        if event.get("UserEvent") == UserEvent.LINES_BUSY:
            self._metrics.calls_refused_busy.inc()
            await asyncio.to_thread(self._records.update, event.get("Linkedid", ""), outcome=CallOutcome.LINES_BUSY)

    async def _on_queue_join(self, event: AmiEvent, origin: float) -> None:
        self._enter(event.get("Linkedid", ""), CallState.QUEUED, origin, queue=event.get("Queue", ""))
        call = await asyncio.to_thread(
            self._records.update, event.get("Linkedid", ""), first_only=FIRST_QUEUE, queue_name=event.get("Queue"),
            queued_at=_happened(origin), **menu_choices(channel_variables(event)),
        )
        if call is not None:
            self._notifier.call_queued(call, origin=origin)

    async def _on_agent_called(self, event: AmiEvent, origin: float) -> None:
        extension = interface_extension(event.get("Interface", ""))
        await self._set_agent(extension, event.get("Queue", ""), AgentState.RINGING, origin)
        call = await asyncio.to_thread(self._records.get, event.get("Linkedid", ""))
        if call is not None:
            self._notifier.call_ringing(call, extension=extension, origin=origin)

    async def _on_agent_ring_no_answer(self, event: AmiEvent, origin: float) -> None:
        await self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""),
                              AgentState.READY, origin)

    async def _on_agent_connect(self, event: AmiEvent, origin: float) -> None:
        extension = interface_extension(event.get("Interface", ""))
        self._enter(event.get("Linkedid", ""), CallState.TALKING, origin)
        await self._set_agent(extension, event.get("Queue", ""), AgentState.TALKING, origin)
        operator_id = await asyncio.to_thread(self._records.operator_id, extension)
        recording = channel_variables(event).get(Variable.RECORDING) or None
        call = await asyncio.to_thread(
            self._records.update, event.get("Linkedid", ""), first_only=FIRST_ANSWER,
            answered_at=_happened(origin), operator_extension=extension, operator_id=operator_id, recording=recording,
        )
        if call is None:
            return
        history = await asyncio.to_thread(self._records.history, call.caller_number) \
            if may_show_caller_number(call) else []
        self._notifier.call_connected(call, extension=extension, history=history, origin=origin)

    async def _on_agent_complete(self, event: AmiEvent, origin: float) -> None:
        await self._enter_wrap_up(interface_extension(event.get("Interface", "")), event.get("Queue", ""), origin)

    async def _enter_wrap_up(self, extension: str, queue: str, origin: float,
                             *, ends_at: datetime | None = None) -> None:
        """Asterisk keeps the operator out of rotation for the queue's wrap-up time but never says when that
        ends, so a timer moves them back to ready then (unless something else happened meanwhile)."""
        entered = await self._set_agent(extension, queue, AgentState.WRAP_UP, origin)
        if entered is None:
            return
        delay = ((ends_at or entered.since + self._wrapup) - _now()).total_seconds()
        timer = asyncio.create_task(self._end_wrap_up(entered, max(delay, 0.0)))
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _end_wrap_up(self, entered: LiveAgent, delay: float) -> None:
        await self._sleep(delay)
        await self._set_agent(entered.extension, entered.queue, AgentState.READY, time.monotonic(),
                              only_if=lambda current: current is not None and current.since == entered.since
                              and current.state == AgentState.WRAP_UP)

    async def _on_abandon(self, event: AmiEvent, origin: float) -> None:
        await asyncio.to_thread(self._records.update, event.get("Linkedid", ""), outcome=CallOutcome.ABANDONED)

    async def _on_hangup(self, event: AmiEvent, origin: float) -> None:
        linkedid = event.get("Linkedid", "")
        if event.get("Uniqueid") != linkedid or linkedid not in self._calls:
            return
        self._calls.pop(linkedid, None)
        choices = menu_choices(channel_variables(event))  # the last word on what the caller chose
        if choices:
            await asyncio.to_thread(self._records.update, linkedid, first_only=(), **choices)
        call = await asyncio.to_thread(self._records.finish, linkedid, at=_happened(origin))
        if call is not None:
            self._notifier.call_ended(call, origin=origin)

    async def _on_member_status(self, event: AmiEvent, origin: float) -> None:
        """A member added, paused or resumed, or listed by QueueStatus (after a reconnect, when it may also
        be on a call or in wrap-up): ready, talking, wrap-up, or paused with its reason."""
        extension, queue = member_extension(event), event.get("Queue", "")
        if event.get("Paused") == "1":
            reason = event.get("PausedReason") or event.get("Reason") or None
            await self._set_agent(extension, queue, AgentState.PAUSED, origin, reason=reason)
        elif event.get("InCall") == "1":
            await self._set_agent(extension, queue, AgentState.TALKING, origin)
        elif (wrap_up_ends := self._wrap_up_end(event)) is not None:
            await self._enter_wrap_up(extension, queue, origin, ends_at=wrap_up_ends)
        else:
            await self._set_agent(extension, queue, AgentState.READY, origin)

    def _wrap_up_end(self, event: AmiEvent) -> datetime | None:
        """From a QueueStatus row: when the wrap-up after the member's last call ends, if it has not yet."""
        last_call = event.get("LastCall", "0")
        if event.get("Event") != "QueueMember" or not last_call.isdigit() or last_call == "0":
            return None
        ends = datetime.fromtimestamp(int(last_call), UTC) + self._wrapup
        return ends if ends > _now() else None

    async def _on_member_device_state(self, event: AmiEvent, origin: float) -> None:
        """The phone went idle while we had the operator talking: the call ended without an AgentComplete
        (an AMI Redirect, i.e. our transfer, does not send one), so wrap-up starts now."""
        extension, queue = interface_extension(event.get("Interface", "")), event.get("Queue", "")
        current = self.agents.get((extension, queue))
        if event.get("Status") == DEVICE_NOT_IN_USE and current is not None and current.state == AgentState.TALKING:
            await self._enter_wrap_up(extension, queue, origin)

    async def _on_member_removed(self, event: AmiEvent, origin: float) -> None:
        await self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""),
                              AgentState.LOGGED_OUT, origin)

    async def _set_agent(
        self, extension: str, queue: str, state: AgentState, origin: float, *, reason: str | None = None,
        only_if: Callable[[LiveAgent | None], bool] | None = None,
    ) -> LiveAgent | None:
        """Enter a state (logged, kept in memory, announced); None when not ours or ``only_if`` declines."""
        if not extension or line_by_queue(queue) is None:
            return None
        async with self._agent_lock:
            if only_if is not None and not only_if(self.agents.get((extension, queue))):
                return None
            known = self.agents.get((extension, queue))
            if known is not None and (known.state, known.reason) == (state, reason):
                since = known.since  # already logged by this process: no database round trip per event
            else:
                since = await asyncio.to_thread(self._agent_log.record, extension=extension, queue=queue,
                                                state=state, reason=reason, at=_happened(origin))
            agent = LiveAgent(extension=extension, queue=queue, state=state, since=since, reason=reason)
            if state == AgentState.LOGGED_OUT:
                self.agents.pop((extension, queue), None)
            else:
                self.agents[(extension, queue)] = agent
            self._notifier.agent_state(extension=extension, queue=queue, state=state.value, reason=reason,
                                       since=since, origin=origin)
            return agent

    async def resync_agents(self, members: Iterable[AmiEvent], origin: float) -> None:
        """After (re)connecting: each member Asterisk lists takes its state; anyone logged as still in a
        queue but no longer listed (removed while we were away) is logged out."""
        listed: set[tuple[str, str]] = set()
        for member in members:
            if member.get("Event") == "QueueMember":
                listed.add((member_extension(member), member.get("Queue", "")))
                await self._on_member_status(member, origin)
        for status in await asyncio.to_thread(self._agent_log.current):
            if (status.extension, status.queue) not in listed:
                await self._set_agent(status.extension, status.queue, AgentState.LOGGED_OUT, origin)

    async def timers_done(self) -> None:
        """Wait until the wrap-up timers running now have ended and moved their operators on."""
        await asyncio.gather(*self._timers, return_exceptions=True)

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)

    async def resync(self, live_linkedids: set[str], waiting: Iterable[AmiEvent] = (), *,
                     channels: Iterable[AmiEvent] = (), asterisk_booted_at: datetime | None = None) -> None:
        """After (re)connecting: whatever ended while we were away is closed in the database (lost to a fault if
        Asterisk booted since it began) and its end announced. The calls still up are those with an open record
        (a process started during calls learns them here), plus those that began while we were away, recorded
        now from Asterisk's channels; what they went through meanwhile (queued, answered) is filled in. Their
        state is what Asterisk lists as waiting (QueueStatus's QueueEntry rows, with their wait), else what we
        knew, else what the record says. One we had queued and that waits no more was answered meanwhile."""
        closed, still_open = await asyncio.to_thread(self._records.close_missing, live_linkedids, at=_now(),
                                                     asterisk_booted_at=asterisk_booted_at)
        if closed:
            lost = sum(1 for call in closed if call.outcome == CallOutcome.LOST_TO_FAULT)
            log.info("closed %d call records that ended while AMI was disconnected (%d lost to a fault)",
                     len(closed), lost)
        now = time.monotonic()
        for call in closed:
            self._notifier.call_ended(call, origin=now)
        queued = {str(entry.get("Uniqueid", "")): entry for entry in waiting if entry.get("Event") == "QueueEntry"}
        live = LiveChannels(channels)
        still_open = [await self._caught_up(record, queued.get(record.linkedid), live, now)
                      for record in [*still_open, *await self._adopted(live, {r.linkedid for r in still_open})]]
        calls: dict[str, LiveCall] = {}
        for record in still_open:
            known, entry = self._calls.get(record.linkedid), queued.get(record.linkedid)
            if entry is not None:
                calls[record.linkedid] = LiveCall(line=record.line, state=CallState.QUEUED,
                                                  queue=str(entry.get("Queue", "")),
                                                  since=now - _seconds(entry.get("Wait")))
            elif known is not None and known.state != CallState.QUEUED:
                calls[record.linkedid] = known
            else:
                calls[record.linkedid] = LiveCall(line=record.line, since=now,
                                                  state=_state_when_not_waiting(known, record))
        self._calls = calls

    async def _adopted(self, live: LiveChannels, recorded: set[str]) -> list[CallPublic]:
        """Citizens' calls that began while we were away (their Newchannel never reached us): recorded now."""
        adopted = []
        for caller in live.citizen_calls():
            linkedid = str(caller.get("Linkedid", ""))
            line = line_by_number(str(caller.get("Exten", "")))
            if linkedid in recorded or line is None:
                continue
            call = await asyncio.to_thread(
                self._records.start, linkedid=linkedid, line=line.number,
                caller_number=str(caller.get("CallerIDNum", "")), channel=str(caller.get("Channel", "")),
                at=_now() - timedelta(seconds=_seconds(caller.get("Duration"))))
            self._metrics.calls_started.labels(line=line.number).inc()
            adopted.append(call)
        if adopted:
            log.info("recorded %d calls that began while AMI was disconnected", len(adopted))
        return adopted

    async def _caught_up(self, record: CallPublic, entry: AmiEvent | None, live: LiveChannels,
                         now: float) -> CallPublic:
        """What a call went through while we were away, from Asterisk: it joined a queue (its QueueEntry's wait)
        or an operator answered it (their channel bridged with the caller's, as old as its channel)."""
        changes: dict[str, object] = {}
        if entry is not None and record.queued_at is None:
            changes.update(queue_name=str(entry.get("Queue", "")),
                           queued_at=_now() - timedelta(seconds=_seconds(entry.get("Wait"))))
        operator = live.operator_bridged_with(record.linkedid)
        if operator is not None and record.answered_at is None:
            extension = interface_extension(str(operator.get("Channel", "")).rsplit("-", 1)[0])
            answered_at = _now() - timedelta(seconds=_seconds(operator.get("Duration")))
            changes.update(answered_at=answered_at, operator_extension=extension,
                           operator_id=await asyncio.to_thread(self._records.operator_id, extension))
            if record.queued_at is None:
                changes["queued_at"] = answered_at
        if not changes:
            return record
        updated = await asyncio.to_thread(self._records.update, record.linkedid, first_only=FIRST_QUEUE | FIRST_ANSWER,
                                          **changes)
        return updated or record


class LiveChannels:
    """CoreShowChannels' rows after a reconnect: the citizens' calls Asterisk has, and who is bridged with them."""

    def __init__(self, rows: Iterable[AmiEvent]) -> None:
        self._rows = [row for row in rows if row.get("Event") == "CoreShowChannel"]

    def citizen_calls(self) -> list[AmiEvent]:
        """The first channel of each call that came in on a citizens' line."""
        return [row for row in self._rows if row.get("Uniqueid") == row.get("Linkedid")
                and row.get("Context") == Context.INBOUND and line_by_number(str(row.get("Exten", ""))) is not None]

    def operator_bridged_with(self, linkedid: str) -> AmiEvent | None:
        """The other channel of the call in the caller's bridge (the operator's phone), if it is bridged."""
        caller = next((row for row in self._rows if row.get("Uniqueid") == linkedid), None)
        bridge = caller.get("BridgeId") if caller is not None else None
        if not bridge:
            return None
        return next((row for row in self._rows if row.get("Linkedid") == linkedid and row.get("BridgeId") == bridge
                     and row.get("Uniqueid") != linkedid), None)


def _seconds(value: object) -> int:
    """A wait in seconds (``12``) or a duration as ``HH:MM:SS``, as AMI lists them; 0 when unreadable."""
    text = str(value or "0")
    if text.isdigit():
        return int(text)
    parts = text.split(":")
    if len(parts) == 3 and all(part.isdigit() for part in parts):
        hours, minutes, seconds = (int(part) for part in parts)
        return hours * 3600 + minutes * 60 + seconds
    return 0


def _state_when_not_waiting(known: LiveCall | None, record: CallPublic) -> CallState:
    """A call Asterisk does not list as waiting: talking if it was queued or answered (it left the queue for an
    operator), else still in the voice menu."""
    was_queued = (known is not None and known.state == CallState.QUEUED) or record.queued_at is not None
    return CallState.TALKING if was_queued or record.answered_at is not None else CallState.MENU


def channel_variables(event: AmiEvent) -> dict[str, str]:
    """``ChanVariable: NAME=value`` headers (one or several; panoramisk gives a list when repeated)."""
    raw: object = event.get("ChanVariable", [])
    items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else []
    pairs = (str(item).partition("=") for item in items)
    return {name: value for name, _, value in pairs if name}


def menu_choices(variables: Mapping[str, str]) -> dict[str, object]:
    """The 1888 menu's answers as call-record fields; an anonymous caller's number is not kept."""
    choices: dict[str, object] = {}
    kind = variables.get(Variable.FEEDBACK_KIND, "")
    if kind in FeedbackKind.__members__.values():
        choices["feedback_kind"] = FeedbackKind(kind)
    code = variables.get(Variable.PERSONNEL_CODE, "")
    if code.isdigit():
        choices["personnel_code"] = code
    if variables.get(Variable.ANONYMOUS) == "1":
        choices.update(anonymous=True, caller_number="")
    return choices


def _now() -> datetime:
    return datetime.now(UTC)


def _happened(origin: float) -> datetime:
    """When an AMI event reached us (``origin``, monotonic), on the wall clock: a call's times are when Asterisk
    said so, not when a backlog of events let us get to it (stamping them on handling made a lagging event path
    look instant to anything that measured from ``answered_at``)."""
    return _now() - timedelta(seconds=max(0.0, time.monotonic() - origin))
