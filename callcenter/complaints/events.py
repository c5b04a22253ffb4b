"""Complaint events on the websocket: the one way code tells consoles a complaint moved, as a doorbell (its id,
status and desk, never its text, code or complainant), delivered by the hub only to whom access.can_see allows."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Engine

from callcenter.complaints import access
from callcenter.platform.notifier import Notifier
from db.engine import unit_of_work
from db.models import Complaint, User

# Every complaint event's name starts so; the hub treats any event so named, or carrying a ``complaint_id``, as one.
COMPLAINT_EVENT_PREFIX = "complaint_"


class ComplaintEvent(enum.StrEnum):
    FILED = "complaint_filed"                  # a new complaint on a desk's queue
    CHANGED = "complaint_changed"              # a lifecycle step, an assignment, a note
    ANSWERED = "complaint_answered"            # the complainant wrote back or added a file
    ESCALATED = "complaint_escalated"          # past its ground's SLA: the head of inspection is told
    INFORMATION_ANSWERED = "complaint_information_answered"  # the unit answered an information request
    MEETING_CHANGED = "complaint_meeting_changed"  # a meeting booked, moved or cancelled


def complaint_event(notifier: Notifier, kind: ComplaintEvent, complaint: Complaint) -> None:
    """Tell the consoles of whoever may see ``complaint`` that it changed; their pages reload it over HTTP."""
    if complaint.id is None:
        raise ValueError("a complaint event needs a saved complaint")
    notifier.complaint_event(kind.value, complaint_id=complaint.id, status=complaint.status.value,
                             desk=complaint.desk.value)


def is_complaint_event(name: str, data: Mapping[str, Any]) -> bool:
    """Whether the hub must ask access before forwarding this event (a careless event naming a complaint counts)."""
    return name.startswith(COMPLAINT_EVENT_PREFIX) or "complaint_id" in data


def event_complaint_id(data: Mapping[str, Any]) -> int | None:
    complaint_id = data.get("complaint_id")
    return complaint_id if isinstance(complaint_id, int) and not isinstance(complaint_id, bool) else None


def may_hear(engine: Engine, user_id: int | None, complaint_id: int | None) -> bool:
    """``access.can_see`` for an event's recipient, read afresh (a deactivated or moved account stops hearing at
    once, whatever its websocket was opened with); an event without a complaint id is heard by no one."""
    if user_id is None or complaint_id is None:
        return False
    with unit_of_work(engine) as session:
        user = session.get(User, user_id)
        return user is not None and access.may_see_id(session, user, complaint_id)
