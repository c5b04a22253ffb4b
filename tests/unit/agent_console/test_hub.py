"""The websocket hub: ordered, numbered messages per console, and a resync when a slow console lost events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agent_console.hub import WebsocketHub, is_for, visible_data
from callcenter.platform.bus import DomainEvent, InProcessBus
from callcenter.platform.metrics import Metrics
from db.models import Role, User


class FakeSocket:
    """Records what the hub sends; "closes" when the test says so."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = asyncio.Event()

    async def send_text(self, text: str) -> None:
        """Events come as JSON text, encoded once for every console of a role: the test reads them back."""
        self.sent.append(json.loads(text))
        await asyncio.sleep(0)

    async def receive_text(self) -> str:
        await self.closed.wait()
        raise RuntimeError("closed")


async def serve_until(
    hub: WebsocketHub, socket: FakeSocket, count: int, *, role: Role = Role.SUPERVISOR,
) -> list[dict[str, Any]]:
    user = User(username="s", full_name="s", role=role, password_hash="-")
    task = asyncio.create_task(hub.serve(socket, user))  # type: ignore[arg-type]
    for _ in range(200):
        if len(socket.sent) >= count:
            break
        await asyncio.sleep(0.01)
    socket.closed.set()
    await asyncio.wait_for(task, 2)
    return socket.sent


async def test_given_events_when_a_console_listens_then_they_arrive_in_order_numbered_after_hello() -> None:
    bus = InProcessBus()
    hub = WebsocketHub(bus=bus, metrics=Metrics())
    socket = FakeSocket()
    serving = asyncio.create_task(serve_until(hub, socket, 4))
    while bus.subscriber_count == 0:
        await asyncio.sleep(0.01)
    for n in range(3):
        bus.publish("agent_state", {"n": n})
    sent = await serving
    assert [(m["seq"], m["name"], m["data"].get("n")) for m in sent] == [
        (0, "hello", None), (1, "agent_state", 0), (2, "agent_state", 1), (3, "agent_state", 2)]


async def test_given_consoles_of_two_roles_when_an_event_goes_out_then_each_role_s_text_is_encoded_once() -> None:
    bus = InProcessBus()
    hub = WebsocketHub(bus=bus, metrics=Metrics())
    sockets = [FakeSocket() for _ in range(3)]
    roles = [Role.SUPERVISOR, Role.SUPERVISOR, Role.VIEWER]
    serving = [asyncio.create_task(serve_until(hub, socket, 3, role=role)) for socket, role in zip(sockets, roles,
                                                                                                   strict=True)]
    while bus.subscriber_count < 3:
        await asyncio.sleep(0.01)
    first = bus.publish("call_queued", {"call": {"caller_number": "09121111111", "line": "137"}})
    bus.publish("call_queued", {"call": {"caller_number": "09122222222", "line": "137"}})
    sent = await asyncio.gather(*serving)

    assert sorted(first.encoded) == sorted({Role.SUPERVISOR.value, Role.VIEWER.value})
    for messages in sent:
        assert [m["seq"] for m in messages] == [0, 1, 2]  # each console numbers its own
    assert sent[0] == sent[1]
    assert sent[0][1]["data"]["call"]["caller_number"] == "09121111111"
    assert sent[2][1]["data"]["call"].get("caller_number") != "09121111111"  # the mayor's office sees no number


async def test_given_a_console_too_slow_for_a_burst_when_events_were_dropped_then_it_is_told_to_resync() -> None:
    bus = InProcessBus()
    hub = WebsocketHub(bus=bus, metrics=Metrics(), queue_size=2)
    socket = FakeSocket()
    serving = asyncio.create_task(serve_until(hub, socket, 4))
    while bus.subscriber_count == 0:
        await asyncio.sleep(0.01)
    for n in range(5):  # publish never waits: three of these find the console's queue full
        bus.publish("agent_state", {"n": n})
    sent = await serving
    assert [(m["seq"], m["name"]) for m in sent] == [(0, "hello"), (1, "resync"), (2, "agent_state"),
                                                       (3, "agent_state")]


@pytest.mark.parametrize("role", [Role.UNIT_LIAISON, Role.FIELD_SUPERVISOR, Role.INSPECTOR])
def test_given_staff_outside_the_call_center_when_events_flow_then_they_get_tickets_but_never_calls(
    role: Role,
) -> None:
    call = DomainEvent(seq=1, name="call_started", data={"call": {"caller_number": "09121111111"}})
    ringing = DomainEvent(seq=2, name="agent_state", data={"extension": "1001", "state": "ringing"})
    changed = DomainEvent(seq=3, name="ticket_changed", data={"ticket": {}})
    assert [is_for(e, role=role, extension=None) for e in (call, ringing, changed)] == [False, False, True]


def test_given_the_service_desk_when_events_flow_then_it_hears_no_ticket_and_no_call() -> None:
    events = [DomainEvent(seq=1, name="call_started", data={"call": {"caller_number": "09121111111"}}),
              DomainEvent(seq=2, name="ticket_created", data={"ticket": {}}),
              DomainEvent(seq=3, name="ticket_changed", data={"ticket": {}}),
              DomainEvent(seq=4, name="resync", data={})]
    assert [is_for(e, role=Role.DESK, extension=None) for e in events] == [False, False, False, True]


def test_given_an_operator_when_events_flow_then_untargeted_and_own_phone_events_only() -> None:
    mine = DomainEvent(seq=1, name="call_connected", data={"extension": "1001"})
    theirs = DomainEvent(seq=2, name="call_connected", data={"extension": "1002"})
    queued = DomainEvent(seq=3, name="call_queued", data={"call": {}})
    assert [is_for(e, role=Role.OPERATOR, extension="1001") for e in (mine, theirs, queued)] == [True, False, True]


CITIZEN_TICKET = {"id": 7, "status": "referred", "unit_id": 3, "caller_number": "09121111111",
                  "address": "خیابان فردوسی، کوچه ۱۲", "description": "چراغ خاموش است", "tracking_code": "1370007"}


async def test_given_a_liaisons_console_when_a_ticket_changes_then_it_hears_which_ticket_but_not_the_citizen(
) -> None:
    bus = InProcessBus()
    hub = WebsocketHub(bus=bus, metrics=Metrics())
    socket = FakeSocket()
    serving = asyncio.create_task(serve_until(hub, socket, 2, role=Role.UNIT_LIAISON))
    while bus.subscriber_count == 0:
        await asyncio.sleep(0.01)
    bus.publish("ticket_changed", {"ticket": CITIZEN_TICKET, "action": "refer"})
    sent = await serving
    assert sent[1]["data"] == {"ticket": {"id": 7, "status": "referred", "unit_id": 3}, "action": "refer"}
    assert "09121111111" not in str(sent)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.OPERATOR, Role.ADMIN])
def test_given_call_center_staff_when_a_ticket_event_flows_then_they_read_the_whole_ticket(role: Role) -> None:
    event = DomainEvent(seq=1, name="ticket_created", data={"ticket": CITIZEN_TICKET})
    assert visible_data(event, role=role) == {"ticket": CITIZEN_TICKET}


def test_given_an_escalation_when_a_field_supervisor_hears_it_then_the_deadline_stays_and_the_citizen_goes(
) -> None:
    event = DomainEvent(seq=1, name="ticket_escalated", data={"ticket": CITIZEN_TICKET, "deadline": "d",
                                                              "escalated_at": "e"})
    assert visible_data(event, role=Role.FIELD_SUPERVISOR) == {
        "ticket": {"id": 7, "status": "referred", "unit_id": 3}, "deadline": "d", "escalated_at": "e"}


def test_given_the_mayors_office_when_events_flow_then_it_hears_the_wallboards_events_only() -> None:
    names = ["agent_state", "call_queued", "call_connected", "call_ended", "ticket_changed", "callback_requested",
             "verification_changed", "resync"]
    heard = [name for name in names
             if is_for(DomainEvent(seq=1, name=name, data={"extension": "1001"}), role=Role.VIEWER, extension=None)]
    assert heard == ["agent_state", "call_queued", "call_connected", "call_ended", "resync"]


def test_given_the_mayors_office_when_a_call_is_answered_then_the_number_is_masked_and_the_history_withheld(
) -> None:
    event = DomainEvent(seq=1, name="call_connected", data={
        "call": {"id": 3, "caller_number": "09121111111", "line": "137"}, "extension": "1001",
        "history": [CITIZEN_TICKET]})
    assert visible_data(event, role=Role.VIEWER) == {
        "call": {"id": 3, "caller_number": "***1111", "line": "137"}, "extension": "1001"}
    assert visible_data(event, role=Role.SUPERVISOR) == event.data


@pytest.mark.parametrize("role", list(Role))
def test_given_any_role_when_a_complaint_event_flows_then_the_role_rules_never_pass_it(role: Role) -> None:
    for event in (DomainEvent(seq=1, name="complaint_filed", data={"complaint_id": 1}),
                  DomainEvent(seq=2, name="ticket_changed", data={"ticket": {}, "complaint_id": 1})):
        assert not is_for(event, role=role, extension=None)  # only access.can_see, asked per recipient, may


async def test_given_a_hub_without_a_complaint_access_check_when_a_complaint_moves_then_no_one_hears_it() -> None:
    bus = InProcessBus()
    hub = WebsocketHub(bus=bus, metrics=Metrics())
    socket = FakeSocket()
    serving = asyncio.create_task(serve_until(hub, socket, 2, role=Role.ADMIN))
    while bus.subscriber_count == 0:
        await asyncio.sleep(0.01)
    bus.publish("complaint_changed", {"complaint_id": 1, "status": "received", "desk": "inspection"})
    bus.publish("agent_state", {"n": 1})
    sent = await serving
    assert [m["name"] for m in sent] == ["hello", "agent_state"]
