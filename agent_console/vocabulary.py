"""What the pages need to know of the rules, built from the modules that own them and embedded in every page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jdatetime

from callcenter.platform.calendar import JALALI_MONTHS
from callcenter.platform.lines import LINES
from callcenter.platform.persian import persian_digits
from callcenter.platform.service_hours import TEHRAN
from callcenter.reports.scorecard_export import PALETTE
from callcenter.telephony.agent_states import PAUSE_REASON_NAMES, STATE_NAMES
from callcenter.telephony.asterisk_actions import SPY_MODE_NAMES
from callcenter.tickets import attachments
from callcenter.tickets.channels import CHANNEL_NAMES, SOURCE_NAMES
from callcenter.tickets.lifecycle import (
    ACTION_NAMES,
    NOTE_MAX_LENGTH,
    STATUS_NAMES,
    VERDICT_NAMES,
    note_required,
    steps_open_to,
)
from callcenter.verification import tasks as verification
from db.models import FeedbackKind, FieldVerdict, Role, TicketAction, TicketPriority, TicketStatus

# Labels that belong to no rule module: how the pages name a ticket's priority and a 1888 caller's choice.
PRIORITY_NAMES = {TicketPriority.NORMAL: "عادی", TicketPriority.HIGH: "بالا", TicketPriority.URGENT: "فوری"}
FEEDBACK_NAMES = {FeedbackKind.CRITICISM: "انتقاد", FeedbackKind.SUGGESTION: "پیشنهاد",
                  FeedbackKind.APPRECIATION: "قدردانی"}


def page_vocabulary(role: Role | None, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything a page of ``role`` shows or checks that a rule module decides, as JSON-ready data.

    The pages restate none of it: the buttons of each ticket status (lifecycle's table for this role), which need a
    note, the photo limits, the lines and their queues, the names of states, reasons, priorities,
    channels and months."""
    return {
        "lines": [{"number": line.number, "queue": line.queue, "name": persian_digits(line.number)} for line in LINES],
        "statuses": {status.value: STATUS_NAMES[status] for status in TicketStatus},
        "steps": {} if role is None else _steps(role),
        "verdicts": {verdict.value: VERDICT_NAMES[verdict] for verdict in FieldVerdict},
        "note_max_length": NOTE_MAX_LENGTH,
        "priorities": {priority.value: name for priority, name in PRIORITY_NAMES.items()},
        "feedback_kinds": {kind.value: name for kind, name in FEEDBACK_NAMES.items()},
        "sources": {source.value: name for source, name in SOURCE_NAMES.items()},
        # A list: the reports' order (the phone first), which a JSON object's sorted keys would lose.
        "channels": [{"channel": channel.value, "name": name} for channel, name in CHANNEL_NAMES.items()],
        "agent_states": {state.value: name for state, name in STATE_NAMES.items()},
        "pause_reasons": {reason.value: name for reason, name in PAUSE_REASON_NAMES.items()},
        "spy_modes": [{"mode": mode, "name": name} for mode, name in SPY_MODE_NAMES.items()],
        "photos": {
            "with_action": attachments.PHOTO_ACTION.value,
            "max_count": attachments.MAX_PHOTOS,
            "max_bytes": attachments.MAX_PHOTO_BYTES,
            "types": list(attachments.PHOTO_TYPES),
            "too_many": attachments.TOO_MANY,
            "too_big": attachments.TOO_BIG,
            "not_a_photo": attachments.NOT_A_PHOTO,
        },
        "verification": {
            "states": {status.value: name for status, name in verification.STATUS_NAMES.items()},
            "outcomes": {outcome.value: name for outcome, name in verification.OUTCOME_NAMES.items()},
            "recorded": [{"outcome": outcome.value, "label": verification.OUTCOME_NAMES[outcome],
                          "note_required": None if action is None else note_required(action)}
                         for outcome, action in verification.RECORDED_OUTCOMES.items()],
        },
        "months": list(JALALI_MONTHS),
        "this_month": _this_jalali_month(now or datetime.now(UTC)),
        "palette": [f"#{red:02x}{green:02x}{blue:02x}" for red, green, blue in PALETTE],
    }


def _steps(role: Role) -> dict[str, list[dict[str, Any]]]:
    """Per status, the steps ``role`` may take: a button each (a verdict is its own button, named by it)."""
    steps: dict[str, list[dict[str, Any]]] = {}
    for status in TicketStatus:
        open_steps = steps_open_to(role, status)
        if open_steps:
            steps[status.value] = [_step(action, verdict) for action, verdict in open_steps]
    return steps


def _step(action: TicketAction, verdict: FieldVerdict | None) -> dict[str, Any]:
    return {
        "action": action.value,
        "verdict": verdict.value if verdict is not None else None,
        "label": VERDICT_NAMES[verdict] if verdict is not None else ACTION_NAMES[action],
        "note_required": note_required(action, verdict),
    }


def _this_jalali_month(now: datetime) -> dict[str, int]:
    today = jdatetime.date.fromgregorian(date=now.astimezone(TEHRAN).date())
    return {"year": today.year, "month": today.month}
