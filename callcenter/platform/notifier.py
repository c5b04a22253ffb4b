"""The only way events leave the core: payloads in the same shape as the REST schemas; a call's number only where
callcenter/platform/privacy.py allows it, so no console and no Redis channel ever carries an anonymous caller's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from callcenter.platform.bus import Bus
from callcenter.platform.privacy import call_as_announced
from db.models import CallbackPublic, CallPublic, TicketAction, TicketPublic, VerificationTaskPublic

SESSIONS_REVOKED = "sessions_revoked"


class Notifier:
    def __init__(self, *, bus: Bus) -> None:
        self._bus = bus

    def _publish(self, name: str, data: dict[str, Any], origin: float | None) -> None:
        self._bus.publish(name, data, origin=origin)

    @staticmethod
    def _call(call: CallPublic) -> dict[str, Any]:
        return call_as_announced(call).model_dump(mode="json")

    def call_started(self, call: CallPublic, *, origin: float | None = None) -> None:
        self._publish("call_started", {"call": self._call(call)}, origin)

    def call_queued(self, call: CallPublic, *, origin: float | None = None) -> None:
        self._publish("call_queued", {"call": self._call(call)}, origin)

    def call_ringing(self, call: CallPublic, *, extension: str, origin: float | None = None) -> None:
        self._publish("call_ringing", {"call": self._call(call), "extension": extension}, origin)

    def call_connected(
        self, call: CallPublic, *, extension: str, history: list[TicketPublic], origin: float | None = None
    ) -> None:
        """The screen pop: who is calling and what they asked before, for the operator who answered."""
        self._publish(
            "call_connected",
            {
                "call": self._call(call),
                "extension": extension,
                "history": [ticket.model_dump(mode="json") for ticket in history],
            },
            origin,
        )

    def call_ended(self, call: CallPublic, *, origin: float | None = None) -> None:
        self._publish("call_ended", {"call": self._call(call)}, origin)

    def agent_state(
        self, *, extension: str, queue: str, state: str, since: datetime, reason: str | None = None,
        origin: float | None = None,
    ) -> None:
        """Same shape as a row of the wallboard's ``agents`` (AgentStatus), minus the name."""
        self._publish("agent_state", {"extension": extension, "queue": queue, "state": state, "reason": reason,
                                      "since": since.isoformat()}, origin)

    def sessions_revoked(self, *, user_id: int, except_session: int | None = None) -> None:
        """Sessions deleted (logout, password change, deactivation): every worker's hub closes their websockets.
        Never forwarded to a browser (agent_console/hub.py)."""
        self._publish(SESSIONS_REVOKED, {"user_id": user_id, "except_session": except_session}, None)

    def ticket_created(self, ticket: TicketPublic) -> None:
        self._publish("ticket_created", {"ticket": ticket.model_dump(mode="json")}, None)

    def ticket_changed(self, ticket: TicketPublic, *, action: TicketAction) -> None:
        """A lifecycle step: consoles and inboxes showing the ticket refresh it."""
        self._publish("ticket_changed", {"ticket": ticket.model_dump(mode="json"), "action": action.value}, None)

    def ticket_escalated(self, ticket: TicketPublic, *, deadline: datetime, escalated_at: datetime) -> None:
        """An overdue ticket reported to its unit's manager: supervisors and the unit's inbox mark it."""
        self._publish("ticket_escalated", {"ticket": ticket.model_dump(mode="json"), "deadline": deadline.isoformat(),
                                           "escalated_at": escalated_at.isoformat()}, None)

    def callback_requested(self, callback: CallbackPublic) -> None:
        self._publish("callback_requested", {"callback": callback.model_dump(mode="json")}, None)

    def callback_closed(self, callback: CallbackPublic) -> None:
        self._publish("callback_closed", {"callback": callback.model_dump(mode="json")}, None)

    def verification_changed(self, task: VerificationTaskPublic) -> None:
        """A verification task moved (a call placed, a result recorded, a retry scheduled): the supervisors'
        verification list follows."""
        self._publish("verification_changed", {"task": task.model_dump(mode="json")}, None)

    def complaint_event(self, name: str, *, complaint_id: int, status: str, desk: str) -> None:
        """A complaint moved: a doorbell only (which, where it stands, whose desk). Call it through
        callcenter/complaints/events.py ``complaint_event``; the hub forwards it only to those who may see it."""
        self._publish(name, {"complaint_id": complaint_id, "status": status, "desk": desk}, None)
