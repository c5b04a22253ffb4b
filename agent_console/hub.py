"""Websocket hub: forwards bus events to each console that should see them, in order, with a sequence."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from callcenter.complaints.events import event_complaint_id, is_complaint_event
from callcenter.platform.bus import Bus, DomainEvent
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import SESSIONS_REVOKED
from callcenter.platform.privacy import call_for_onlookers, ticket_for_outsiders
from db.models import Role, User

log = logging.getLogger(__name__)

SESSION_ENDED = 4401  # the websocket close code a console reads as "log in again"

# The call center's own staff: supervisors and admins see everything, operators their own phone's events.
CALL_CENTER = frozenset({Role.SUPERVISOR, Role.ADMIN})


# Staff outside the call center (unit liaisons, field supervisors, inspectors) hear about tickets only, as a
# doorbell (callcenter/platform/privacy.py); never about calls: those carry citizens' numbers.
TICKET_EVENTS = frozenset({"ticket_created", "ticket_changed", "ticket_escalated"})
# The mayor's office watches the wallboard: operators' states and calls, with numbers masked.
WALLBOARD_EVENT_PREFIXES = ("agent_", "call_")

# Whether the account ``user_id`` may hear of complaint ``complaint_id`` (callcenter/complaints/events.py
# ``may_hear``, i.e. access.can_see): blocking, so the hub runs it in a thread.
ComplaintAccess = Callable[[int | None, int | None], bool]


def is_for(event: DomainEvent, *, role: Role, extension: str | None) -> bool:
    """Supervisors and admins see everything; operators their own phone's events and everyone's untargeted
    ones; the mayor's office (viewer) what the wallboard shows; the service desk nothing; other staff only ticket
    events. ``resync`` goes to everyone. No role hears of a complaint: the hub asks access per recipient."""
    if is_complaint_event(event.name, event.data):
        return False
    if role in CALL_CENTER or event.name == "resync":
        return True
    if role == Role.VIEWER:
        return event.name.startswith(WALLBOARD_EVENT_PREFIXES)
    if role == Role.DESK:  # the service desk's pages are not live; it hears of no one's tickets (ADR 0059)
        return False
    if role != Role.OPERATOR:
        return event.name in TICKET_EVENTS
    target = event.data.get("extension")
    return target is None or target == extension


class WebsocketHub:
    def __init__(self, *, bus: Bus, metrics: Metrics, queue_size: int = 10_000,
                 complaint_access: ComplaintAccess | None = None) -> None:
        """Without ``complaint_access`` no complaint event reaches anyone (closed by default)."""
        self._bus = bus
        self._metrics = metrics
        self._queue_size = queue_size
        self._complaint_access = complaint_access

    async def _may_hear_of_complaint(self, event: DomainEvent, user: User) -> bool:
        if self._complaint_access is None:
            return False
        return await run_in_threadpool(self._complaint_access, user.id, event_complaint_id(event.data))

    async def serve(
        self, websocket: WebSocket, user: User, *, session_id: int | None = None,
        still_live: Callable[[], Awaitable[bool]] | None = None, check_every: float = 5.0,
    ) -> None:
        """Until the client leaves: a ``hello`` (seq 0), then deltas numbered 1, 2, 3… for this connection.
        With ``still_live``, the socket is closed (4401) once its session is revoked: at once when the bus says
        so (any worker may have revoked it), and at the latest ``check_every`` seconds after, by asking."""
        subscription = self._bus.subscribe(maxsize=self._queue_size)
        self._metrics.websocket_clients.inc()
        reader = asyncio.create_task(_wait_for_close(websocket))
        getter: asyncio.Task[DomainEvent] | None = None
        try:
            await websocket.send_json({"seq": 0, "name": "hello", "data": {"extension": user.extension}})
            seq = 0
            while not reader.done():
                getter = getter or asyncio.create_task(subscription.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED,
                                             timeout=check_every if still_live else None)
                if reader in done and getter not in done:
                    break
                if getter not in done:  # the periodic check
                    if still_live is not None and not await still_live():
                        await websocket.close(code=SESSION_ENDED)
                        break
                    continue
                event, getter = getter.result(), None
                if event.name == SESSIONS_REVOKED:  # for the hubs, never for a browser
                    if _concerns(event, user=user, session_id=session_id) and still_live and not await still_live():
                        await websocket.close(code=SESSION_ENDED)
                        break
                    continue
                if subscription.overflowed:  # this console fell behind and events were dropped: it must reload
                    subscription.overflowed = False
                    seq += 1
                    await websocket.send_json({"seq": seq, "name": "resync", "data": {}})
                if is_complaint_event(event.name, event.data):  # the conflict-of-interest rule, per recipient
                    if await self._may_hear_of_complaint(event, user):
                        seq += 1
                        await websocket.send_json({**event.as_message(), "seq": seq})
                    continue
                if not is_for(event, role=user.role, extension=user.extension):
                    continue
                seq += 1
                await websocket.send_text(encoded_message(event, seq, role=user.role))
                if event.name == "call_connected":
                    self._metrics.screen_pop.observe(time.monotonic() - event.origin)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass
        finally:
            for task in (reader, getter):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            subscription.close()
            self._metrics.websocket_clients.dec()


def _concerns(event: DomainEvent, *, user: User, session_id: int | None) -> bool:
    return event.data.get("user_id") == user.id and event.data.get("except_session") != session_id


def encoded_message(event: DomainEvent, seq: int, *, role: Role) -> str:
    """The message a console of ``role`` is sent (its ``seq``, the event's name, what the role may read), as JSON
    text encoded once per event and role: with hundreds of consoles, encoding the same
    payload for each of them was most of the hub's work (and the screen pops waited behind it)."""
    body = event.encoded.get(role.value)
    if body is None:
        body = json.dumps({"name": event.name, "data": visible_data(event, role=role)}, separators=(",", ":"),
                          ensure_ascii=False)[1:]
        event.encoded[role.value] = body
    return f'{{"seq":{seq},{body}'


def visible_data(event: DomainEvent, *, role: Role) -> dict[str, Any]:
    """What of an event's payload this role may read (``is_for`` already said it may hear the event)."""
    if role in CALL_CENTER or role == Role.OPERATOR:
        return event.data
    if role == Role.VIEWER:
        return call_for_onlookers(event.data)
    return ticket_for_outsiders(event.data) if event.name in TICKET_EVENTS else event.data


async def _wait_for_close(websocket: WebSocket) -> None:
    """Consoles only listen; reading is how we learn that the browser went away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
