"""Turns AMI events, in order, into call and agent state, durable call records and domain events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from callcenter.platform.lines import LINES, line_by_number, line_by_queue
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.platform.privacy import may_show_caller_number
from callcenter.telephony.agent_states import AgentStateLog
from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.dialplan import Context, UserEvent, Variable
from callcenter.telephony.record_writer import RecordWriter
from db.models import AgentState, CallOutcome, CallPublic, FeedbackKind, TicketPublic

log = logging.getLogger(__name__)

DEVICE_NOT_IN_USE = "1"  # AST_DEVICE_NOT_INUSE in QueueMemberStatus
# A call transferred to the other queue joins and is answered again: the record keeps the first of each.
FIRST_QUEUE = frozenset({"queue_name", "queued_at"})
FIRST_ANSWER = frozenset({"answered_at", "operator_extension", "operator_id", "recording"})
AmiEvent = Mapping[str, str]
Change = tuple[Mapping[str, object], frozenset[str]]


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


@dataclass
class CallMemory:
    """The tracker's own copy of a call's record (ADR 0084): announcements are made from it at once, while the
    record writer brings the database up to date behind them."""

    written: asyncio.Future[CallPublic | None]  # the record as its start landed (its id), None if refused
    changes: list[Change] = field(default_factory=list)  # applied since, in order, as the record applies them
    history: asyncio.Task[list[TicketPublic]] | None = None  # the caller's tickets, read while the phone rings

    def view(self, upto: int) -> CallPublic | None:
        """The record after its first ``upto`` changes; None until its start has landed."""
        if not self.written.done() or self.written.exception() is not None:
            return None
        call = self.written.result()
        for changes, first_only in self.changes[:upto]:
            call = call if call is None else applied(call, changes, first_only)
        return call


def applied(call: CallPublic, changes: Mapping[str, object], first_only: frozenset[str]) -> CallPublic:
    """What CallRecords.update_in makes of the record, on its public view (fields it does not show are skipped)."""
    update: dict[str, object] = {}
    for name, value in changes.items():
        if name == "recording":
            if not (name in first_only and call.has_recording):
                update["has_recording"] = value is not None
        elif name in CallPublic.model_fields and not (name in first_only and getattr(call, name) is not None):
            update[name] = value
    return call.model_copy(update=update)


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
        writer: RecordWriter | None = None,
    ) -> None:
        self._records = records
        self._writer = writer or RecordWriter(engine=records.engine)
        self._memory: dict[str, CallMemory] = {}  # the calls whose records this process writes, by linkedid
        # Announcements waiting for what they show (a record's start, a caller's history), in event order.
        self._outbox: deque[tuple[list[asyncio.Future[Any]], Callable[[], None]]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._reading: set[asyncio.Task[list[TicketPublic]]] = set()  # caller histories being read early
        # Threads of their own, for the same reason as the record writer's: not behind FastAGI's queue.
        self._history_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="caller-history")
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
    def writes_pending(self) -> int:
        """Record writes not yet committed: what a crash of this process now would lose."""
        return self._writer.pending

    @property
    def announcements_waiting(self) -> int:
        """Announcements held for what they show (a call's start landing, a caller's history), or behind one."""
        return len(self._outbox)

    @property
    def record_writer(self) -> RecordWriter:
        return self._writer

    async def settled(self) -> None:
        """Return once every announcement waiting for its call's record is made, every write has landed and every
        caller history being read early is read."""
        while self._outbox or self._writer.pending or self._reading:
            await asyncio.gather(*list(self._reading), return_exceptions=True)
            if self._drainer is not None:
                await asyncio.gather(self._drainer, return_exceptions=True)
            await self._writer.flush()

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

    def _write(self, write: Callable[[Session], object]) -> asyncio.Future[object]:
        return self._writer.submit(write)

    def _change(self, linkedid: str, changes: Mapping[str, object], *,
                first_only: frozenset[str] = frozenset()) -> None:
        """Change the record (in memory now, in the database by the writer, in the same order)."""
        self._write(lambda session: self._records.change_in(session, linkedid, changes, first_only=first_only))
        memory = self._memory.get(linkedid)
        if memory is not None:
            memory.changes.append((changes, first_only))

    def _announce(self, publish: Callable[[], None], *waits: asyncio.Future[Any]) -> None:
        """Publish now if nothing announced earlier is still waiting, else after it and after ``waits`` (a call's
        start landing, the caller's history): announcements leave in the order of the events that made them."""
        pending = [wait for wait in waits if not wait.done()]
        if not self._outbox and not pending:
            _publish_safely(publish)
            return
        self._outbox.append((pending, publish))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain_outbox())

    async def _drain_outbox(self) -> None:
        while self._outbox:
            waits, publish = self._outbox[0]
            if waits:
                await asyncio.wait(waits)  # never raises: a refused write or a failed read still lets the rest go
            self._outbox.popleft()
            _publish_safely(publish)

    def _announce_call(self, linkedid: str, publish: Callable[[CallPublic], None],
                       *waits: asyncio.Future[Any]) -> None:
        """Announce the call as it is now (its record after the changes made so far), once its start has landed."""
        memory = self._memory.get(linkedid)
        if memory is None:
            return
        upto = len(memory.changes)

        def announce() -> None:
            if (view := memory.view(upto)) is not None:
                publish(view)

        self._announce(announce, memory.written, *waits)

    async def _on_newchannel(self, event: AmiEvent, origin: float) -> None:
        line = line_by_number(event.get("Exten", ""))
        linkedid = event.get("Linkedid", "")
        is_first_channel = bool(linkedid) and event.get("Uniqueid") == linkedid
        if line is None or event.get("Context") != Context.INBOUND or not is_first_channel:
            return
        if linkedid not in self._calls:
            self._calls[linkedid] = LiveCall(line=line.number, state=CallState.MENU, since=origin)
        self._metrics.calls_started.labels(line=line.number).inc()
        number, channel, at = event.get("CallerIDNum", ""), event.get("Channel", ""), _happened(origin)
        written = self._write(lambda session: self._records.start_in(
            session, linkedid=linkedid, line=line.number, caller_number=number, channel=channel, at=at))
        if linkedid not in self._memory:
            self._memory[linkedid] = CallMemory(written=written)  # type: ignore[arg-type]
        self._announce_call(linkedid, lambda call: self._notifier.call_started(call, origin=origin))

    async def _on_new_caller_id(self, event: AmiEvent, origin: float) -> None:
        """The IVR withholds an anonymous caller's ID the moment they choose anonymity (after setting the menu's
        variables, which this event carries): the record forgets the number now, not at queue join, so a caller
        who hangs up during the options or the "connecting" prompt leaves no number behind."""
        linkedid = event.get("Linkedid", "")
        choices = menu_choices(channel_variables(event))
        if choices.get("anonymous") and linkedid in self._calls:
            self._change(linkedid, choices)

    async def _on_user_event(self, event: AmiEvent, origin: float) -> None:
        if event.get("UserEvent") == UserEvent.LINES_BUSY:
            self._metrics.calls_refused_busy.inc()
            self._change(event.get("Linkedid", ""), {"outcome": CallOutcome.LINES_BUSY})

    async def _on_queue_join(self, event: AmiEvent, origin: float) -> None:
        linkedid = event.get("Linkedid", "")
        self._enter(linkedid, CallState.QUEUED, origin, queue=event.get("Queue", ""))
        self._change(linkedid, {"queue_name": event.get("Queue"), "queued_at": _happened(origin),
                                **menu_choices(channel_variables(event))}, first_only=FIRST_QUEUE)
        self._announce_call(linkedid, lambda call: self._notifier.call_queued(call, origin=origin))

    async def _on_agent_called(self, event: AmiEvent, origin: float) -> None:
        extension, linkedid = interface_extension(event.get("Interface", "")), event.get("Linkedid", "")
        await self._set_agent(extension, event.get("Queue", ""), AgentState.RINGING, origin)
        self._read_history_early(linkedid)
        self._announce_call(linkedid,
                            lambda call: self._notifier.call_ringing(call, extension=extension, origin=origin))

    def _read_history_early(self, linkedid: str) -> None:
        """While the operator's phone rings, read what the caller asked before: the screen pop does not wait for
        the database when they answer (an answer without a ring, e.g. after a resync, reads it then)."""
        memory = self._memory.get(linkedid)
        if memory is None or memory.history is not None:
            return
        memory.history = asyncio.create_task(self._history_of(memory))
        self._reading.add(memory.history)
        memory.history.add_done_callback(self._reading.discard)

    async def _history_of(self, memory: CallMemory) -> list[TicketPublic]:
        with contextlib.suppress(Exception):
            await memory.written
        call = memory.view(len(memory.changes))
        if call is None or not may_show_caller_number(call):
            return []
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._history_threads, self._records.history, call.caller_number)
        except Exception:  # the pop still shows who is calling; the operator can search the history
            log.exception("caller history could not be read for the screen pop")
            return []

    async def _on_agent_ring_no_answer(self, event: AmiEvent, origin: float) -> None:
        await self._set_agent(interface_extension(event.get("Interface", "")), event.get("Queue", ""),
                              AgentState.READY, origin)

    async def _on_agent_connect(self, event: AmiEvent, origin: float) -> None:
        extension, linkedid = interface_extension(event.get("Interface", "")), event.get("Linkedid", "")
        self._enter(linkedid, CallState.TALKING, origin)
        await self._set_agent(extension, event.get("Queue", ""), AgentState.TALKING, origin)
        recording = channel_variables(event).get(Variable.RECORDING) or None
        answered = {"answered_at": _happened(origin), "operator_extension": extension, "recording": recording}
        self._write(lambda session: self._records.change_in(session, linkedid, answered, first_only=FIRST_ANSWER,
                                                            operator_of=extension))
        memory = self._memory.get(linkedid)
        if memory is None:
            return
        memory.changes.append((answered, FIRST_ANSWER))
        self._read_history_early(linkedid)
        history = memory.history
        assert history is not None

        def pop(call: CallPublic) -> None:
            tickets = history.result() if may_show_caller_number(call) and not history.cancelled() else []
            self._notifier.call_connected(call, extension=extension, history=tickets, origin=origin)

        self._announce_call(linkedid, pop, history)

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
        self._change(event.get("Linkedid", ""), {"outcome": CallOutcome.ABANDONED})

    async def _on_hangup(self, event: AmiEvent, origin: float) -> None:
        linkedid = event.get("Linkedid", "")
        if event.get("Uniqueid") != linkedid or linkedid not in self._calls:
            return
        self._calls.pop(linkedid, None)
        choices = menu_choices(channel_variables(event))  # the last word on what the caller chose
        at = _happened(origin)
        finished = self._write(lambda session: self._records.finish_in(session, linkedid, at=at, **choices))

        def ended(_call: CallPublic) -> None:
            """From the record as written: what the call ended as includes what web workers wrote (a transfer)."""
            call = finished.result()
            if isinstance(call, CallPublic):
                self._notifier.call_ended(call, origin=origin)

        self._announce_call(linkedid, ended, finished)
        self._memory.pop(linkedid, None)

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
            known, at = self.agents.get((extension, queue)), _happened(origin)
            if known is not None and (known.state, known.reason) == (state, reason):
                since = known.since  # already logged by this process: nothing to write
            elif known is not None:  # a new state of an operator this process follows: logged behind
                since = at
                self._write(lambda session: self._agent_log.append_in(
                    session, extension=extension, queue=queue, state=state, reason=reason, at=at))
            else:  # first seen by this process: the log says since when (it may be the state it was already in)
                await self._writer.flush()
                since = await asyncio.to_thread(self._agent_log.record, extension=extension, queue=queue,
                                                state=state, reason=reason, at=at)
            agent = LiveAgent(extension=extension, queue=queue, state=state, since=since, reason=reason)
            if state == AgentState.LOGGED_OUT:
                self.agents.pop((extension, queue), None)
            else:
                self.agents[(extension, queue)] = agent
            self._announce(lambda: self._notifier.agent_state(extension=extension, queue=queue, state=state.value,
                                                              reason=reason, since=since, origin=origin))
            return agent

    async def resync_agents(self, members: Iterable[AmiEvent], origin: float) -> None:
        """After (re)connecting: each member Asterisk lists takes its state; anyone logged as still in a
        queue but no longer listed (removed while we were away) is logged out."""
        listed: set[tuple[str, str]] = set()
        for member in members:
            if member.get("Event") == "QueueMember":
                listed.add((member_extension(member), member.get("Queue", "")))
                await self._on_member_status(member, origin)
        await self._writer.flush()
        for status in await asyncio.to_thread(self._agent_log.current):
            if (status.extension, status.queue) not in listed:
                await self._set_agent(status.extension, status.queue, AgentState.LOGGED_OUT, origin)

    async def timers_done(self) -> None:
        """Wait until the wrap-up timers running now have ended and moved their operators on."""
        await asyncio.gather(*self._timers, return_exceptions=True)

    async def stop(self) -> None:
        """Timers cancelled; the announcements waiting and the record writes are finished (the writes flushed)."""
        for timer in list(self._timers):
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        if self._drainer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(self._drainer, return_exceptions=True), 5.0)
        await self._writer.stop()
        self._history_threads.shutdown(wait=False)

    async def resync(self, live_linkedids: set[str], waiting: Iterable[AmiEvent] = (), *,
                     channels: Iterable[AmiEvent] = (), asterisk_booted_at: datetime | None = None) -> None:
        """After (re)connecting: whatever ended while we were away is closed in the database (lost to a fault if
        Asterisk booted since it began) and its end announced. The calls still up are those with an open record
        (a process started during calls learns them here), plus those that began while we were away, recorded
        now from Asterisk's channels; what they went through meanwhile (queued, answered) is filled in. Their
        state is what Asterisk lists as waiting (QueueStatus's QueueEntry rows, with their wait), else what we
        knew, else what the record says. One we had queued and that waits no more was answered meanwhile."""
        await self._writer.flush()  # what we wrote behind lands before it is compared with Asterisk
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
        self._remember(still_open)

    def _remember(self, still_open: list[CallPublic]) -> None:
        """The memory follows the records still open: those learnt here start from their record as it stands."""
        open_ids = {record.linkedid for record in still_open}
        for linkedid in [known for known in self._memory if known not in open_ids]:
            self._memory.pop(linkedid)
        for record in still_open:
            if record.linkedid not in self._memory:
                written: asyncio.Future[CallPublic | None] = asyncio.get_running_loop().create_future()
                written.set_result(record)
                self._memory[record.linkedid] = CallMemory(written=written)

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


def _publish_safely(publish: Callable[[], None]) -> None:
    try:
        publish()
    except Exception:
        log.exception("an announcement could not be made")


def _now() -> datetime:
    return datetime.now(UTC)


def _happened(origin: float) -> datetime:
    """When an AMI event reached us (``origin``, monotonic), on the wall clock: a call's times are when Asterisk
    said so, not when a backlog of events let us get to it (stamping them on handling made a lagging event path
    look instant to anything that measured from ``answered_at``)."""
    return _now() - timedelta(seconds=max(0.0, time.monotonic() - origin))
