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
from callcenter.platform.bus import Bus, DomainEvent, Subscription
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import SESSIONS_REVOKED
from callcenter.platform.privacy import call_for_onlookers, ticket_for_outsiders
from db.models import Role, User

log = logging.getLogger(__name__)

SESSION_ENDED = 4401  # the websocket close code a console reads as "log in again"
# What a console's own queue may hold besides events: the browser left; time to ask whether the session lives.
_CLOSED = DomainEvent(seq=0, name="", data={})
_CHECK = DomainEvent(seq=0, name="", data={})

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
        # The client's leaving and the periodic check arrive in the console's own queue, behind the events: one
        # await per event, not a task and a wait on two of them (ADR 0088: it was most of a console's cost).
        watchers = [asyncio.create_task(_offer_when_closed(websocket, subscription))]
        if still_live is not None:
            watchers.append(asyncio.create_task(_offer_checks(subscription, check_every)))
        try:
            await websocket.send_text(_text(0, _body("hello", {"extension": user.extension})))
            seq = 0
            while True:
                event = await subscription.get()
                if event is _CLOSED:
                    break
                if event is _CHECK or event.name == SESSIONS_REVOKED:  # the revocation is for hubs, not browsers
                    asks = event is _CHECK or _concerns(event, user=user, session_id=session_id)
                    if asks and still_live is not None and not await still_live():
                        await websocket.close(code=SESSION_ENDED)
                        break
                    continue
                if subscription.overflowed:  # this console fell behind and events were dropped: it must reload
                    subscription.overflowed = False
                    seq += 1
                    await websocket.send_text(_text(seq, _body("resync", {})))
                if not await self._hears(event, user):
                    continue
                seq += 1
                await websocket.send_text(_text(seq, self._encoded(event, user.role)))
                sent = time.monotonic() - event.origin
                self._metrics.event_delivery.observe(sent)
                if event.name == "call_connected":
                    self._metrics.screen_pop.observe(sent)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass
        finally:
            for task in watchers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            subscription.close()
            self._metrics.websocket_clients.dec()

    async def _hears(self, event: DomainEvent, user: User) -> bool:
        if is_complaint_event(event.name, event.data):  # the conflict-of-interest rule, per recipient
            return await self._may_hear_of_complaint(event, user)
        return is_for(event, role=user.role, extension=user.extension)

    def _encoded(self, event: DomainEvent, role: Role) -> str:
        """The message after its seq, encoded once per event and role for all this worker's consoles (kept on the
        event itself, so it lives exactly as long as some console may still send it): each console's copy differs
        only by the seq spliced in front (ADR 0088)."""
        body = event.encoded.get(role.value)
        if body is None:
            data = event.data if is_complaint_event(event.name, event.data) else visible_data(event, role=role)
            body = event.encoded[role.value] = _body(event.name, data)
        return body


def _concerns(event: DomainEvent, *, user: User, session_id: int | None) -> bool:
    return event.data.get("user_id") == user.id and event.data.get("except_session") != session_id


def _body(name: str, data: dict[str, Any]) -> str:
    """A message without its opening ``{"seq":N,``, as compact as Starlette's ``send_json`` writes it."""
    return json.dumps({"name": name, "data": data}, ensure_ascii=False, separators=(",", ":"))[1:]


def _text(seq: int, body: str) -> str:
    return f'{{"seq":{seq},{body}'


def visible_data(event: DomainEvent, *, role: Role) -> dict[str, Any]:
    """What of an event's payload this role may read (``is_for`` already said it may hear the event)."""
    if role in CALL_CENTER or role == Role.OPERATOR:
        return event.data
    if role == Role.VIEWER:
        return call_for_onlookers(event.data)
    return ticket_for_outsiders(event.data) if event.name in TICKET_EVENTS else event.data


async def _offer_when_closed(websocket: WebSocket, subscription: Subscription) -> None:
    """Consoles only listen; reading is how we learn that the browser went away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
    subscription.offer(_CLOSED)


async def _offer_checks(subscription: Subscription, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        subscription.offer(_CHECK)
