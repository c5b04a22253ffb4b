"""Complaint events over the real websocket: only whom access.can_see allows hears of a complaint (item 6)."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import sqlalchemy as sa
import websockets
from sqlmodel import Session

from callcenter.complaints.events import ComplaintEvent, complaint_event
from db.models import Complaint, Role
from tests.support.complaints import COMPLAINANT, file_complaint
from tests.support.console import logged_in_client
from tests.support.fixtures import WebBackend
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff

INSPECTION = "مدیریت بازرسی"
SENTINEL = "ticket_changed"  # an event every one of these consoles hears, published after the complaint's


async def _connect(stack: AsyncExitStack, backend: WebBackend, username: str) -> Any:
    client = await logged_in_client(backend.url, username, PASSWORD)
    stack.push_async_callback(client.aclose)
    cookie = f"pasokh_session={client.cookies['pasokh_session']}"
    ws = await stack.enter_async_context(websockets.connect(backend.url.replace("http", "ws") + "/ws",
                                                            additional_headers={"Cookie": cookie}))
    assert json.loads(await ws.recv())["name"] == "hello"
    return ws


async def _until_sentinel(ws: Any) -> list[dict[str, Any]]:
    """Everything the console got up to the sentinel; events arrive in order, so nothing is still on its way."""
    received: list[dict[str, Any]] = []
    while True:
        message = json.loads(await ws.recv())
        if message["name"] == SENTINEL:
            return received
        received.append(message)


async def test_given_a_complaint_event_when_consoles_listen_then_only_a_permitted_inspector_hears_it(
    web_backend: WebBackend, engine: sa.Engine,
) -> None:
    settings = web_backend.services.settings
    filed = file_complaint(engine, settings, target=WASTE)
    listeners = {
        "ev.liaison": add_staff(engine, "ev.liaison", Role.UNIT_LIAISON, unit=WASTE),
        "ev.operator": add_staff(engine, "ev.operator", Role.OPERATOR),
        "ev.admin": add_staff(engine, "ev.admin", Role.ADMIN),
        "ev.supervisor": add_staff(engine, "ev.supervisor", Role.SUPERVISOR),
        "ev.conflicted": add_staff(engine, "ev.conflicted", Role.INSPECTOR, unit=WASTE),
        "ev.inspector": add_staff(engine, "ev.inspector", Role.INSPECTOR, unit=INSPECTION),
    }
    async with AsyncExitStack() as stack:
        sockets = {name: await _connect(stack, web_backend, name) for name in listeners}
        with Session(engine) as session:
            complaint = session.get(Complaint, filed.id)
            assert complaint is not None
            complaint_event(web_backend.services.web.notifier, ComplaintEvent.CHANGED, complaint)
        # A careless event naming a complaint under another name is filtered the same way.
        web_backend.services.bus.publish("information_request_asked", {"complaint_id": filed.id, "unit_id": 1})
        web_backend.services.bus.publish(SENTINEL, {"ticket": {"id": 0}, "action": "refer"})
        heard = {name: await _until_sentinel(ws) for name, ws in sockets.items()}
    permitted = heard.pop("ev.inspector")
    assert [(m["name"], m["data"]) for m in permitted] == [
        ("complaint_changed", {"complaint_id": filed.id, "status": "received", "desk": "inspection"}),
        ("information_request_asked", {"complaint_id": filed.id, "unit_id": 1})]
    for name, messages in heard.items():
        assert messages == [], name
    every_word = json.dumps(permitted, ensure_ascii=False)
    for secret in (filed.tracking_code, filed.description, COMPLAINANT.name, COMPLAINANT.mobile):
        assert secret not in every_word  # a doorbell: the page reloads the case over HTTP


async def test_given_an_inspector_moved_to_the_target_unit_while_connected_when_the_complaint_moves_then_nothing(
    web_backend: WebBackend, engine: sa.Engine,
) -> None:
    filed = file_complaint(engine, None, target=WASTE)
    inspector = add_staff(engine, "ev.leaving", Role.INSPECTOR, unit=INSPECTION)
    async with AsyncExitStack() as stack:
        ws = await _connect(stack, web_backend, "ev.leaving")
        with Session(engine) as session:
            session.execute(sa.text("UPDATE staff_user SET unit_id = (SELECT id FROM unit WHERE name = :n) "
                                    "WHERE id = :id"), {"n": WASTE, "id": inspector.id})
            session.commit()  # moved to the unit the complaint is about, socket still open
            complaint = session.get(Complaint, filed.id)
            assert complaint is not None
            complaint_event(web_backend.services.web.notifier, ComplaintEvent.ANSWERED, complaint)
        web_backend.services.bus.publish(SENTINEL, {"ticket": {"id": 0}, "action": "refer"})
        assert await _until_sentinel(ws) == []
