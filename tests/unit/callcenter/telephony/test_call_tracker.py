"""The call tracker on a real database (SQLite and PostgreSQL), fed AMI events as Asterisk sends them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.platform.bus import DomainEvent, InProcessBus, Subscription
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.telephony.agent_states import AgentStateLog
from callcenter.telephony.call_records import CallRecords
from callcenter.telephony.call_tracker import CallTracker, QueueWait, channel_variables, menu_choices
from callcenter.tickets.store import create_ticket
from db.engine import unit_of_work
from db.models import Call, CallOutcome, Category, FeedbackKind, Role, TicketCreate, User

CALL = "1700000000.1"
OTHER_CALL = "1700000000.9"
CALLER = "09121111111"
WRAP_UP_SECONDS = 0.2


class HandDrivenSleep:
    """The wrap-up timers' clock, moved by the test: each sleep is recorded and waits until released."""

    def __init__(self) -> None:
        self.requested: list[float] = []
        self._released = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.requested.append(delay)
        await self._released.wait()

    async def elapse(self, tracker: CallTracker) -> None:
        """Every pending delay passes at once; returns when the timers have done their work."""
        self._released.set()
        await tracker.timers_done()


@dataclass
class Tracking:
    tracker: CallTracker
    engine: sa.Engine
    events: Subscription
    metrics: Metrics
    clock: HandDrivenSleep

    async def feed(self, *events: Mapping[str, str]) -> None:
        for event in events:
            await self.tracker.handle(event, time.monotonic())
        await self.tracker.settled()  # the records written and the announcements made (ADR 0084)

    def published(self) -> list[DomainEvent]:
        out = []
        while not self.events._queue.empty():
            out.append(self.events._queue.get_nowait())
        return out

    def call(self, linkedid: str = CALL) -> Call:
        with Session(self.engine) as session:
            call = session.exec(select(Call).where(Call.linkedid == linkedid)).one()
            session.expunge(call)
            return call

    def call_count(self) -> int:
        with Session(self.engine) as session:
            return len(session.exec(select(Call)).all())


@pytest.fixture
def tracking(engine: sa.Engine) -> Tracking:
    bus = InProcessBus()
    metrics = Metrics()
    clock = HandDrivenSleep()
    tracker = CallTracker(records=CallRecords(engine=engine), agent_log=AgentStateLog(engine=engine),
                          notifier=Notifier(bus=bus), metrics=metrics, wrapup_seconds=WRAP_UP_SECONDS, sleep=clock)
    return Tracking(tracker=tracker, engine=engine, events=bus.subscribe(), metrics=metrics, clock=clock)


def newchannel(linkedid: str = CALL, *, uniqueid: str | None = None, exten: str = "137",
               context: str = "pasokh-inbound") -> dict[str, str]:
    return {
        "Event": "Newchannel", "Privilege": "call,all", "Channel": "PJSIP/citizen-trunk-00000001",
        "ChannelState": "0", "ChannelStateDesc": "Down", "CallerIDNum": CALLER, "CallerIDName": "زهرا",
        "ConnectedLineNum": "<unknown>", "Language": "en", "AccountCode": "", "Context": context,
        "Exten": exten, "Priority": "1", "Uniqueid": uniqueid or linkedid, "Linkedid": linkedid,
    }


def caller_event(name: str, linkedid: str = CALL, **fields: str) -> dict[str, str]:
    return {"Event": name, "Channel": "PJSIP/citizen-trunk-00000001", "CallerIDNum": CALLER,
            "Uniqueid": linkedid, "Linkedid": linkedid, **fields}


def agent_event(name: str, linkedid: str = CALL, **fields: str) -> dict[str, str]:
    return caller_event(name, linkedid, Queue="line137", Interface="PJSIP/1001", MemberName="زهرا احمدی",
                        DestChannel="PJSIP/1001-00000002", DestUniqueid="1700000000.2",
                        DestLinkedid=linkedid, **fields)


def hangup(linkedid: str = CALL, *, uniqueid: str | None = None) -> dict[str, str]:
    return caller_event("Hangup", linkedid, Cause="16", **{"Cause-txt": "Normal Clearing"},
                        Uniqueid=uniqueid or linkedid)


def answered_call_events() -> list[dict[str, str]]:
    return [
        newchannel(),
        caller_event("VarSet", Variable="PASOKH_NEXT", Value="queue"),
        caller_event("QueueCallerJoin", Queue="line137", Position="1", Count="1"),
        agent_event("AgentCalled"),
        newchannel(uniqueid="1700000000.2", exten="s", context="pasokh-staff"),
        agent_event("AgentConnect", HoldTime="3", RingTime="2"),
        caller_event("QueueCallerLeave", Queue="line137", Position="1", Count="0"),
        agent_event("AgentComplete", HoldTime="3", TalkTime="40", Reason="caller"),
        hangup(uniqueid="1700000000.2"),
        hangup(),
    ]


def add_operator(engine: sa.Engine, extension: str = "1001") -> int:
    with Session(engine) as session:
        user = User(username=f"op{extension}", full_name="زهرا احمدی", role=Role.OPERATOR, extension=extension,
                    password_hash="not-used-here", sip_md5_cred="0" * 32)
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


async def test_given_a_full_answered_call_when_tracked_then_the_record_and_the_bus_events_tell_its_story(
    tracking: Tracking,
) -> None:
    operator_id = add_operator(tracking.engine)
    await tracking.feed(*answered_call_events())

    call = tracking.call()
    assert call.line == "137"
    assert call.caller_number == CALLER
    assert call.queue_name == "line137"
    assert call.operator_extension == "1001"
    assert call.operator_id == operator_id
    assert call.outcome == CallOutcome.ANSWERED
    assert call.queued_at is not None and call.answered_at is not None and call.ended_at is not None
    assert call.started_at <= call.queued_at <= call.answered_at <= call.ended_at

    events = tracking.published()
    assert [e.name for e in events] == [
        "call_started", "call_queued", "agent_state", "call_ringing", "agent_state", "call_connected",
        "agent_state", "call_ended",
    ]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.data["state"] for e in events if e.name == "agent_state"] == ["ringing", "talking", "wrap_up"]
    assert {e.data["extension"] for e in events if e.name != "call_started" and "extension" in e.data} == {"1001"}
    connected = next(e for e in events if e.name == "call_connected")
    assert connected.data["call"]["caller_number"] == CALLER
    assert connected.data["history"] == []
    assert events[-1].data["call"]["outcome"] == "answered"
    assert tracking.tracker.live_calls == set()
    assert tracking.tracker.agents[("1001", "line137")].state == "wrap_up"
    assert tracking.metrics.registry.get_sample_value("pasokh_calls_started_total", {"line": "137"}) == 1


class HeldDatabase:
    """A record write that holds the tracker's writer, as a database slow under load would, until released."""

    def __init__(self, tracker: CallTracker) -> None:
        self._open = threading.Event()
        self._entered = threading.Event()
        tracker.record_writer.submit(self._hold)

    def _hold(self, _session: Session) -> None:
        self._entered.set()
        self._open.wait(10)

    async def holding(self) -> HeldDatabase:
        await asyncio.to_thread(self._entered.wait, 10)
        return self

    def release(self) -> None:
        self._open.set()


async def handle(tracking: Tracking, *events: Mapping[str, str]) -> None:
    """Events handled as the bridge hands them over, without waiting for the records to land."""
    for event in events:
        await tracking.tracker.handle(event, time.monotonic())


async def test_given_the_database_behind_when_the_operator_answers_then_the_screen_pop_does_not_wait_for_it(
    tracking: Tracking,
) -> None:
    add_operator(tracking.engine)
    events = answered_call_events()
    await tracking.feed(*events[:5])  # started, queued, ringing: the records landed
    tracking.published()
    held = await HeldDatabase(tracking.tracker).holding()

    await handle(tracking, events[5])  # AgentConnect
    popped = [e for e in tracking.published() if e.name == "call_connected"]
    assert popped and popped[0].data["call"]["answered_at"] is not None
    assert popped[0].data["call"]["operator_extension"] == "1001"
    assert tracking.call().answered_at is None  # the record is still behind
    assert tracking.tracker.writes_pending >= 2

    held.release()
    await tracking.tracker.settled()
    assert tracking.call().answered_at is not None and tracking.call().operator_extension == "1001"


async def test_given_a_call_s_start_not_yet_written_when_its_events_come_then_they_are_announced_in_their_order(
    tracking: Tracking,
) -> None:
    add_operator(tracking.engine)
    await tracking.feed({**queue_member("1001"), "Event": "QueueMemberAdded", "Interface": "PJSIP/1001"})
    tracking.published()
    held = await HeldDatabase(tracking.tracker).holding()
    await handle(tracking, *answered_call_events())
    assert tracking.published() == []  # nothing can be shown before the call has its record (its id)

    held.release()
    await tracking.tracker.settled()
    assert [e.name for e in tracking.published()] == [
        "call_started", "call_queued", "agent_state", "call_ringing", "agent_state", "call_connected",
        "agent_state", "call_ended",
    ]
    assert tracking.call().outcome == CallOutcome.ANSWERED


async def test_given_records_still_being_written_when_the_tracker_stops_then_they_are_saved(
    tracking: Tracking,
) -> None:
    add_operator(tracking.engine)
    await tracking.feed({**queue_member("1001"), "Event": "QueueMemberAdded", "Interface": "PJSIP/1001"})
    held = await HeldDatabase(tracking.tracker).holding()
    await handle(tracking, *answered_call_events())
    held.release()
    await tracking.tracker.stop()

    call = tracking.call()
    assert (call.outcome, call.operator_extension) == (CallOutcome.ANSWERED, "1001")
    assert call.ended_at is not None


async def test_given_the_caller_hangs_up_while_queued_when_tracked_then_the_outcome_is_abandoned(
    tracking: Tracking,
) -> None:
    await tracking.feed(
        newchannel(),
        caller_event("QueueCallerJoin", Queue="line137", Position="1", Count="1"),
        caller_event("QueueCallerAbandon", Queue="line137", Position="1", OriginalPosition="1", HoldTime="20"),
        caller_event("QueueCallerLeave", Queue="line137", Position="1", Count="0"),
        hangup(),
    )
    call = tracking.call()
    assert call.outcome == CallOutcome.ABANDONED
    assert call.answered_at is None and call.ended_at is not None
    assert [e.name for e in tracking.published()] == ["call_started", "call_queued", "call_ended"]


async def test_given_a_queued_caller_hangs_up_without_an_abandon_event_when_tracked_then_it_is_still_abandoned(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(), caller_event("QueueCallerJoin", Queue="line137", Position="1"), hangup())
    assert tracking.call().outcome == CallOutcome.ABANDONED


async def test_given_the_caller_hangs_up_in_the_voice_menu_when_tracked_then_the_outcome_is_ivr_only(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(), hangup())
    call = tracking.call()
    assert call.outcome == CallOutcome.IVR_ONLY
    assert call.queued_at is None and call.ended_at is not None


async def test_given_every_line_is_taken_when_tracked_then_the_outcome_is_lines_busy(tracking: Tracking) -> None:
    await tracking.feed(
        newchannel(exten="1888"),
        caller_event("UserEvent", UserEvent="PasokhLinesBusy", Line="1888"),
        hangup(),
    )
    call = tracking.call()
    assert call.line == "1888"
    assert call.outcome == CallOutcome.LINES_BUSY
    assert call.ended_at is not None
    assert tracking.metrics.registry.get_sample_value("pasokh_calls_refused_busy_total") == 1


async def test_given_a_newchannel_of_a_second_channel_when_tracked_then_no_call_is_created(tracking: Tracking) -> None:
    await tracking.feed(newchannel(uniqueid="1700000000.2"))
    assert tracking.call_count() == 0
    assert tracking.published() == []
    assert tracking.tracker.live_calls == set()


@pytest.mark.parametrize(("exten", "context"), [("999", "pasokh-inbound"), ("137", "pasokh-staff")])
async def test_given_a_newchannel_outside_the_public_lines_when_tracked_then_no_call_is_created(
    tracking: Tracking, exten: str, context: str
) -> None:
    await tracking.feed(newchannel(exten=exten, context=context))
    assert tracking.call_count() == 0


async def test_given_a_repeated_newchannel_when_tracked_then_there_is_still_one_call(tracking: Tracking) -> None:
    await tracking.feed(newchannel(), newchannel())
    assert tracking.call_count() == 1


async def test_given_the_agent_channel_hangs_up_first_when_tracked_then_the_call_stays_open(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(), hangup(uniqueid="1700000000.2"))
    assert tracking.call().ended_at is None
    assert tracking.tracker.live_calls == {CALL}


async def test_given_a_call_that_ended_while_disconnected_when_resyncing_then_only_it_is_closed(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(CALL), newchannel(OTHER_CALL),
                        caller_event("QueueCallerJoin", OTHER_CALL, Queue="line137"))
    await tracking.tracker.resync({CALL})
    assert tracking.tracker.live_calls == {CALL}
    assert tracking.call(CALL).ended_at is None
    assert tracking.call(CALL).outcome == CallOutcome.IN_PROGRESS
    gone = tracking.call(OTHER_CALL)
    assert gone.ended_at is not None
    assert gone.outcome == CallOutcome.ABANDONED


async def test_given_queue_members_added_and_paused_when_tracked_then_agent_states_follow(tracking: Tracking) -> None:
    member = {"Queue": "line137", "Interface": "PJSIP/1002", "MemberName": "علی رضایی"}
    await tracking.feed(
        {"Event": "QueueMemberAdded", "Paused": "0", **member},
        {"Event": "QueueMemberPause", "Paused": "1", **member},
        {"Event": "QueueMemberAdded", "Queue": "not-ours", "Interface": "PJSIP/1003", "Paused": "0"},
    )
    assert tracking.tracker.agents[("1002", "line137")].state == "paused"
    assert ("1003", "not-ours") not in tracking.tracker.agents
    await tracking.feed({"Event": "QueueMemberRemoved", **member})
    assert tracking.tracker.agents == {}
    assert [e.data["state"] for e in tracking.published()] == ["ready", "paused", "logged_out"]


async def test_given_a_caller_with_an_earlier_ticket_when_an_operator_answers_then_the_screen_pop_shows_it(
    tracking: Tracking,
) -> None:
    with unit_of_work(tracking.engine) as session:
        category = session.exec(select(Category)).first()
        assert category is not None and category.default_unit_id is not None
        earlier = create_ticket(
            session,
            data=TicketCreate(category_id=category.id, unit_id=category.default_unit_id,  # type: ignore[arg-type]
                              description="چراغ کوچه خاموش است", caller_number="+989121111111"),
            created_by=None,
        )
        code, category_name = earlier.tracking_code, category.name
    await tracking.feed(*answered_call_events()[:6])
    connected = next(e for e in tracking.published() if e.name == "call_connected")
    assert [t["tracking_code"] for t in connected.data["history"]] == [code]
    assert connected.data["history"][0]["category_name"] == category_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PASOKH_FEEDBACK_KIND=criticism", {"PASOKH_FEEDBACK_KIND": "criticism"}),
        (["PASOKH_FEEDBACK_KIND=", "PASOKH_ANONYMOUS=1"], {"PASOKH_FEEDBACK_KIND": "", "PASOKH_ANONYMOUS": "1"}),
        (None, {}),
    ],
)
def test_given_chan_variable_headers_once_or_repeated_then_they_read_as_a_dict(raw: object, expected: dict) -> None:
    event = {"Event": "QueueCallerJoin"} if raw is None else {"Event": "QueueCallerJoin", "ChanVariable": raw}
    assert channel_variables(event) == expected  # type: ignore[arg-type]


def test_given_1888_choices_on_the_channel_then_the_call_record_gets_them_and_forgets_an_anonymous_number() -> None:
    choices = menu_choices({"PASOKH_FEEDBACK_KIND": "suggestion", "PASOKH_PERSONNEL_CODE": "4711",
                            "PASOKH_ANONYMOUS": "1"})
    assert choices == {"feedback_kind": FeedbackKind.SUGGESTION, "personnel_code": "4711", "anonymous": True,
                       "caller_number": ""}
    assert menu_choices({"PASOKH_FEEDBACK_KIND": "bribe", "PASOKH_PERSONNEL_CODE": "12;DROP"}) == {}


def queue_member(extension: str, *, paused: str = "0", reason: str = "", in_call: str = "0",
                 last_call: str = "0") -> dict[str, str]:
    """One row of a QueueStatus answer, as Asterisk 22 lists a member (its phone under ``Location``)."""
    return {"Event": "QueueMember", "Queue": "line137", "Name": extension, "Location": f"PJSIP/{extension}",
            "StateInterface": f"PJSIP/{extension}", "Membership": "dynamic", "Penalty": "0", "CallsTaken": "0",
            "LastCall": last_call, "LastPause": "0", "LoginTime": "1700000000", "InCall": in_call,
            "Status": "1", "Paused": paused, "PausedReason": reason, "Wrapuptime": "0"}


async def test_given_a_call_completes_when_the_wrap_up_time_passes_then_the_operator_is_ready_again(
    tracking: Tracking,
) -> None:
    add_operator(tracking.engine)
    await tracking.feed(*answered_call_events())
    assert tracking.tracker.agents[("1001", "line137")].state == "wrap_up"
    assert len(tracking.clock.requested) == 1 and 0 < tracking.clock.requested[0] <= WRAP_UP_SECONDS

    await tracking.clock.elapse(tracking.tracker)

    assert tracking.tracker.agents[("1001", "line137")].state == "ready"
    states = [e.data["state"] for e in tracking.published() if e.name == "agent_state"]
    assert states == ["ringing", "talking", "wrap_up", "ready"]


async def test_given_a_new_call_rings_during_wrap_up_timer_then_the_timer_does_not_undo_it(
    tracking: Tracking,
) -> None:
    await tracking.feed(*answered_call_events())
    await tracking.feed(agent_event("AgentCalled", OTHER_CALL))  # Asterisk's wrap-up ended before ours

    await tracking.clock.elapse(tracking.tracker)

    assert tracking.tracker.agents[("1001", "line137")].state == "ringing"


async def test_given_a_backend_restart_when_asterisk_lists_the_members_then_time_in_state_is_kept(
    tracking: Tracking, engine: sa.Engine,
) -> None:
    await tracking.feed({**queue_member("1002", paused="1", reason="training"), "Event": "QueueMemberPause",
                         "Interface": "PJSIP/1002"})
    paused_since = tracking.tracker.agents[("1002", "line137")].since
    await tracking.feed({**queue_member("1003"), "Event": "QueueMemberAdded", "Interface": "PJSIP/1003"})

    restarted = CallTracker(records=CallRecords(engine=engine), agent_log=AgentStateLog(engine=engine),
                            notifier=Notifier(bus=InProcessBus()), metrics=Metrics(),
                            wrapup_seconds=WRAP_UP_SECONDS)
    # 1003 left the queue while the backend was down; 1001 is on a call Asterisk knows about.
    await restarted.resync_agents([queue_member("1002", paused="1", reason="training"),
                                   queue_member("1001", in_call="1")], time.monotonic())

    assert restarted.agents[("1002", "line137")].since == paused_since
    assert restarted.agents[("1002", "line137")].reason == "training"
    assert restarted.agents[("1001", "line137")].state == "talking"
    assert ("1003", "line137") not in restarted.agents
    assert {(s.extension, s.state) for s in AgentStateLog(engine=engine).current()} == {
        ("1001", "talking"), ("1002", "paused")}
    assert [(s.extension, s.state) for s in AgentStateLog(engine=engine).current(extension="1002")] == [
        ("1002", "paused")]


async def test_given_a_member_listed_soon_after_its_last_call_when_resyncing_then_it_is_in_wrap_up(
    engine: sa.Engine,
) -> None:
    # LastCall has a one-second resolution: a wrap-up of two seconds is still running when listed.
    clock = HandDrivenSleep()
    tracker = CallTracker(records=CallRecords(engine=engine), agent_log=AgentStateLog(engine=engine),
                          notifier=Notifier(bus=InProcessBus()), metrics=Metrics(), wrapup_seconds=2, sleep=clock)
    await tracker.resync_agents([queue_member("1001", last_call=str(int(time.time())))], time.monotonic())
    assert tracker.agents[("1001", "line137")].state == "wrap_up"
    assert len(clock.requested) == 1 and 0 < clock.requested[0] <= 2  # the rest of the two seconds, not all of it
    await clock.elapse(tracker)
    assert tracker.agents[("1001", "line137")].state == "ready"


async def test_given_agent_states_when_published_then_each_says_since_when(tracking: Tracking) -> None:
    await tracking.feed({**queue_member("1002"), "Event": "QueueMemberAdded", "Interface": "PJSIP/1002"})
    event = tracking.published()[-1]
    assert event.data["since"] == tracking.tracker.agents[("1002", "line137")].since.isoformat()


async def test_given_a_talking_operator_when_the_phone_goes_idle_without_agent_complete_then_wrap_up(
    tracking: Tracking,
) -> None:
    """What Asterisk sends when our transfer (AMI Redirect) takes the citizen away: no AgentComplete."""
    await tracking.feed(*answered_call_events()[:6])
    assert tracking.tracker.agents[("1001", "line137")].state == "talking"
    await tracking.feed({**queue_member("1001"), "Event": "QueueMemberStatus", "Status": "2",
                         "Interface": "PJSIP/1001"})  # still in use
    assert tracking.tracker.agents[("1001", "line137")].state == "talking"
    await tracking.feed({**queue_member("1001"), "Event": "QueueMemberStatus", "Status": "1",
                         "Interface": "PJSIP/1001"})
    assert tracking.tracker.agents[("1001", "line137")].state == "wrap_up"


async def test_given_a_call_transferred_to_the_other_queue_when_answered_again_then_the_first_wait_and_answer_stay(
    tracking: Tracking,
) -> None:
    await tracking.feed(*answered_call_events()[:6])
    first = tracking.call()
    second_operator = {"Queue": "line1888", "Interface": "PJSIP/1002", "DestChannel": "PJSIP/1002-00000005"}
    await tracking.feed(
        caller_event("QueueCallerJoin", Queue="line1888", Position="1", Count="1"),
        {**agent_event("AgentConnect", HoldTime="4", RingTime="1"), **second_operator},
    )
    again = tracking.call()
    assert (again.queue_name, again.queued_at, again.answered_at, again.operator_extension) == (
        "line137", first.queued_at, first.answered_at, "1001")
    pops = [e for e in tracking.published() if e.name == "call_connected"]
    assert [p.data["extension"] for p in pops] == ["1001", "1002"]  # the second operator still gets the pop


class CountingAgentLog(AgentStateLog):
    """The real log, counting how often the tracker goes to the database."""

    def __init__(self, *, engine: sa.Engine) -> None:
        super().__init__(engine=engine)
        self.records = 0

    def record_in(self, session: Session, **change: Any) -> datetime:  # type: ignore[override]
        self.records += 1
        return super().record_in(session, **change)

    def append_in(self, session: Session, **change: Any) -> None:  # type: ignore[override]
        self.records += 1
        super().append_in(session, **change)


async def test_given_an_operator_already_ready_when_asterisk_reports_ready_again_then_the_database_is_not_asked(
    engine: sa.Engine,
) -> None:
    log = CountingAgentLog(engine=engine)
    tracker = CallTracker(records=CallRecords(engine=engine), agent_log=log, notifier=Notifier(bus=InProcessBus()),
                          metrics=Metrics(), wrapup_seconds=WRAP_UP_SECONDS)
    added = {**queue_member("1002"), "Event": "QueueMemberAdded", "Interface": "PJSIP/1002"}
    await tracker.handle(added, time.monotonic())
    since = tracker.agents[("1002", "line137")].since
    await tracker.resync_agents([queue_member("1002"), queue_member("1002")], time.monotonic())

    assert log.records == 1
    assert tracker.agents[("1002", "line137")].since == since
    await tracker.resync_agents([queue_member("1002", paused="1", reason="break")], time.monotonic())
    await tracker.settled()
    assert log.records == 2


def anonymity_chosen(linkedid: str = CALL) -> dict[str, object]:
    """What Asterisk sends when the IVR withholds the caller ID: the new ID and the menu's answers so far."""
    return {**caller_event("NewCallerid", linkedid, CallerIDNum="anonymous", CallerIDName="Anonymous",
                           **{"CID-CallingPres": "35 (Prohibited)"}),
            "ChanVariable": ["PASOKH_FEEDBACK_KIND=criticism", "PASOKH_PERSONNEL_CODE=", "PASOKH_ANONYMOUS=1",
                             "PASOKH_RECORDING="]}


async def test_given_a_1888_caller_who_chooses_anonymity_when_they_hang_up_before_the_queue_then_no_number_is_kept(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(exten="1888"), anonymity_chosen())
    midway = tracking.call()
    await tracking.feed(hangup())

    assert (midway.caller_number, midway.anonymous, midway.feedback_kind) == ("", True, FeedbackKind.CRITICISM)
    call = tracking.call()
    assert (call.caller_number, call.anonymous, call.outcome) == ("", True, CallOutcome.IVR_ONLY)
    assert [e.data["call"]["caller_number"] for e in tracking.published()] == ["", ""]


async def test_given_a_137_caller_whose_caller_id_changes_when_tracked_then_their_record_is_untouched(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(), caller_event("NewCallerid", CallerIDNum="anonymous"))
    assert (tracking.call().caller_number, tracking.call().anonymous) == (CALLER, False)


async def test_given_a_1888_call_when_announced_then_the_number_waits_for_the_callers_decision(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(exten="1888"), {**caller_event("QueueCallerJoin", Queue="line1888"),
                                                   "ChanVariable": ["PASOKH_FEEDBACK_KIND=suggestion"]}, hangup())
    shown = [(e.name, e.data["call"]["caller_number"]) for e in tracking.published() if e.name.startswith("call_")]
    # Before the menu the caller has not said whether to be named; queued, they chose not to be anonymous.
    assert shown == [("call_started", ""), ("call_queued", CALLER), ("call_ended", CALLER)]
    assert tracking.call().caller_number == CALLER


async def test_given_events_handled_behind_a_backlog_when_tracked_then_the_call_s_times_are_when_they_reached_us(
    tracking: Tracking,
) -> None:
    """The call's times are the events' arrival, so a screen pop measured from ``answered_at`` counts the lag."""
    add_operator(tracking.engine)
    handled_at = datetime.now(UTC)
    for event in answered_call_events():
        await tracking.tracker.handle(event, time.monotonic() - 2.0)  # each waited two seconds in the inbox
    await tracking.tracker.settled()

    call = tracking.call()
    assert call.answered_at is not None and call.started_at is not None
    for stamped in (call.started_at, call.answered_at):
        behind = (handled_at - stamped.replace(tzinfo=UTC)).total_seconds()
        assert 1.5 < behind < 3.0, behind


# --- calls in flight, for the metrics --------------------------------------------------------------------


def in_flight(tracker: CallTracker) -> dict[str, int]:
    """The 137 line's calls by state, with no zero entries."""
    return {state.value: n for (line, state), n in tracker.calls_in_flight().items() if line == "137" and n}


async def test_given_a_call_through_the_menu_the_queue_and_an_operator_when_tracked_then_each_state_counts_it(
    tracking: Tracking,
) -> None:
    tracker = tracking.tracker
    assert set(tracker.calls_in_flight().values()) == {0} and len(tracker.calls_in_flight()) == 6
    await tracker.handle(newchannel(), 100.0)
    assert in_flight(tracker) == {"menu": 1}
    await tracker.handle(caller_event("QueueCallerJoin", Queue="line137", Position="1", Count="1"), 105.0)
    assert in_flight(tracker) == {"queued": 1}
    assert tracker.queue_waits(now=125.0)["line137"] == QueueWait(callers=1, oldest_seconds=20.0)
    assert tracker.queue_waits(now=125.0)["line1888"] == QueueWait(callers=0, oldest_seconds=0.0)
    await tracker.handle(agent_event("AgentConnect", HoldTime="20", RingTime="2"), 125.0)
    assert in_flight(tracker) == {"talking": 1}
    assert tracker.queue_waits(now=130.0)["line137"] == QueueWait(callers=0, oldest_seconds=0.0)
    await tracker.handle(hangup(), 160.0)
    assert in_flight(tracker) == {}


async def test_given_two_callers_waiting_when_the_first_is_answered_then_the_oldest_wait_is_the_second_callers(
    tracking: Tracking,
) -> None:
    tracker = tracking.tracker
    for linkedid, joined in ((CALL, 100.0), (OTHER_CALL, 110.0)):
        await tracker.handle(newchannel(linkedid), joined - 5)
        await tracker.handle(caller_event("QueueCallerJoin", linkedid, Queue="line137"), joined)
    assert tracker.queue_waits(now=130.0)["line137"] == QueueWait(callers=2, oldest_seconds=30.0)
    await tracker.handle(agent_event("AgentConnect", CALL), 131.0)
    assert tracker.queue_waits(now=140.0)["line137"] == QueueWait(callers=1, oldest_seconds=30.0)


async def test_given_a_process_started_during_calls_when_resyncing_then_their_states_come_from_asterisk_and_records(
    tracking: Tracking,
) -> None:
    menu_call, unrecorded = "1700000000.5", "1700000000.7"
    await tracking.feed(newchannel(CALL), caller_event("QueueCallerJoin", CALL, Queue="line137"),
                        newchannel(OTHER_CALL), caller_event("QueueCallerJoin", OTHER_CALL, Queue="line137"),
                        agent_event("AgentConnect", OTHER_CALL), newchannel(menu_call))
    engine = tracking.engine
    restarted = CallTracker(records=CallRecords(engine=engine), agent_log=AgentStateLog(engine=engine),
                            notifier=Notifier(bus=InProcessBus()), metrics=Metrics(), wrapup_seconds=1)
    waiting = [{"Event": "QueueEntry", "Queue": "line137", "Position": "1", "Uniqueid": CALL, "Wait": "42"},
               {"Event": "QueueMember", "Queue": "line137", "Location": "PJSIP/1001"}]

    await restarted.resync({CALL, OTHER_CALL, menu_call, unrecorded}, waiting=waiting)

    assert restarted.live_calls == {CALL, OTHER_CALL, menu_call}  # a channel without a record is no citizen's call
    assert in_flight(restarted) == {"queued": 1, "talking": 1, "menu": 1}
    wait = restarted.queue_waits()["line137"]
    assert wait.callers == 1 and wait.oldest_seconds >= 42


async def test_given_a_queued_caller_answered_while_disconnected_when_resyncing_then_the_call_is_talking(
    tracking: Tracking,
) -> None:
    await tracking.feed(newchannel(), caller_event("QueueCallerJoin", Queue="line137"))
    await tracking.tracker.resync({CALL}, waiting=[])
    assert in_flight(tracking.tracker) == {"talking": 1}


def core_show_channel(linkedid: str, *, uniqueid: str | None = None, channel: str = "PJSIP/citizen-trunk-00000001",
                      exten: str = "137", context: str = "pasokh-inbound", bridge: str = "",
                      duration: str = "00:00:30", caller: str = CALLER) -> dict[str, str]:
    return {"Event": "CoreShowChannel", "Channel": channel, "Uniqueid": uniqueid or linkedid, "Linkedid": linkedid,
            "Context": context, "Exten": exten, "CallerIDNum": caller, "BridgeId": bridge, "Duration": duration,
            "Application": "Queue"}


async def test_given_asterisk_booted_after_calls_began_when_resyncing_then_they_are_lost_to_a_fault_and_ended(
    tracking: Tracking,
) -> None:
    """Asterisk crashed and came back: its calls (one waiting, one with an operator) cannot have outlived it; a call
    that began after the boot and ended while we were away is the caller's doing."""
    later = "1700000100.1"
    await tracking.feed(*answered_call_events()[:7],  # answered, not yet hung up
                        newchannel(OTHER_CALL), caller_event("QueueCallerJoin", OTHER_CALL, Queue="line137"))
    booted = datetime.now(UTC)
    await tracking.feed(newchannel(later), caller_event("QueueCallerJoin", later, Queue="line137"))
    tracking.published()

    await tracking.tracker.resync(set(), waiting=[], asterisk_booted_at=booted)

    cut_talking, cut_waiting, after_boot = tracking.call(CALL), tracking.call(OTHER_CALL), tracking.call(later)
    assert (cut_talking.outcome, cut_waiting.outcome) == (CallOutcome.LOST_TO_FAULT, CallOutcome.LOST_TO_FAULT)
    assert cut_talking.answered_at is not None  # the operator had answered it: still counted as answered
    assert cut_waiting.ended_at is not None and cut_waiting.ended_at <= booted
    assert after_boot.outcome == CallOutcome.ABANDONED
    ended = [e.data["call"]["id"] for e in tracking.published() if e.name == "call_ended"]
    assert sorted(ended) == sorted([cut_talking.id, cut_waiting.id, after_boot.id])  # the consoles hear each end
    assert tracking.tracker.live_calls == set()


async def test_given_calls_that_began_and_progressed_while_disconnected_when_resyncing_then_records_catch_up(
    tracking: Tracking,
) -> None:
    """The backend was down: a call arrived meanwhile (no record), one we saw in the menu joined the queue, and one
    we saw queued was answered by 1001 (their channel bridged with the caller's)."""
    arrived, queued_meanwhile = "1700000200.1", "1700000300.1"
    await tracking.feed(newchannel(CALL), caller_event("QueueCallerJoin", CALL, Queue="line137"),
                        newchannel(queued_meanwhile))
    channels = [
        core_show_channel(CALL, bridge="bridge-1"),
        core_show_channel(CALL, uniqueid="1700000000.2", channel="PJSIP/1001-00000002", exten="s",
                          context="pasokh-staff", bridge="bridge-1", duration="00:00:12"),
        core_show_channel(queued_meanwhile, channel="PJSIP/citizen-trunk-00000003", duration="00:00:20"),
        core_show_channel(arrived, channel="PJSIP/citizen-trunk-00000004", exten="1888", duration="00:00:05",
                          caller="09122222222"),
    ]
    waiting = [{"Event": "QueueEntry", "Queue": "line137", "Uniqueid": queued_meanwhile, "Wait": "8"},
               {"Event": "QueueEntry", "Queue": "line1888", "Uniqueid": arrived, "Wait": "2"}]

    await tracking.tracker.resync({CALL, queued_meanwhile, arrived}, waiting=waiting, channels=channels)

    answered, joined, adopted = tracking.call(CALL), tracking.call(queued_meanwhile), tracking.call(arrived)
    assert (answered.operator_extension, answered.answered_at is not None) == ("1001", True)
    assert (joined.queue_name, joined.queued_at is not None, joined.answered_at) == ("line137", True, None)
    assert (adopted.line, adopted.caller_number, adopted.queue_name) == ("1888", "09122222222", "line1888")
    assert adopted.started_at < adopted.queued_at  # type: ignore[operator]
    assert in_flight(tracking.tracker) == {"talking": 1, "queued": 1}
    assert tracking.tracker.live_calls == {CALL, queued_meanwhile, arrived}
