"""What of a citizen's data each kind of staff may read: who called, which tickets, masked numbers, doorbells,
and whose number may be shown at all (an anonymous 1888 caller's never: not to a phone, a console or a log);
what the web server's access log may keep of a citizen's request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from callcenter.platform.lines import LINE_1888
from callcenter.platform.persian import persian_digits
from db.models import CallPublic, Role, TicketPublic, TicketTransitionPublic

Step = TypeVar("Step", bound=TicketTransitionPublic)

VISIBLE_DIGITS = 4  # enough to tell two waiting callers apart, too few to call anyone back
# A ticket event as staff outside the call center hear it: which ticket moved and where it stands, not the
# citizen's number, address or words (their pages then reload over REST, which shows each only their own).
DOORBELL_TICKET_FIELDS = ("id", "status", "unit_id")
# The caller ID an anonymous caller's channel carries from the moment they choose anonymity: set by the IVR at
# once and again by the dialplan before Queue() and before a transfer's Dial (asterisk_config), so phones see
# "Anonymous", Asterisk's queue_log records "anonymous", and PJSIP sends no number (presentation prohibited).
WITHHELD_CALLER_ID = (("CALLERID(all)", "Anonymous <anonymous>"), ("CALLERID(pres)", "prohib"))


# Who may know who called (the number, the call, the personnel code a 1888 caller named): the call center, which
# calls citizens back and verifies their tickets. Units, field supervisors and the rest work on the problem, not
# on the person; their pages never showed either.
CITIZEN_IDENTITY_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
# Fields of a ticket that lead back to the citizen (or, on 1888, name the staff member they spoke of).
IDENTIFYING_TICKET_FIELDS = ("caller_number", "call_id", "personnel_code")
# A unit manager's mobile is for escalation SMS; only the administrator, who sets it, sees it.
UNIT_MANAGER_PHONE_ROLES = frozenset({Role.ADMIN})


def ticket_for_reader(ticket: TicketPublic, role: Role) -> TicketPublic:
    """The ticket as ``role`` may read it: whole for the call center, without who called for anyone else (nor
    their number where an operator typed it into the description or the address: a 1888 criticism reaches the
    criticised staff member's own unit)."""
    if role in CITIZEN_IDENTITY_ROLES:
        return ticket
    words = {field: without_number(getattr(ticket, field), ticket.caller_number)
             for field in ("description", "address")}
    return ticket.model_copy(update={**dict.fromkeys(IDENTIFYING_TICKET_FIELDS), **words})


def steps_for_reader(steps: list[Step], role: Role, caller_number: str | None) -> list[Step]:
    """A ticket's history as ``role`` may read it: outside the call center, no step's note names the caller's
    number (an operator's referral note may have quoted it)."""
    if role in CITIZEN_IDENTITY_ROLES:
        return steps
    return [step.model_copy(update={"note": without_number(step.note, caller_number)}) for step in steps]


NUMBER_HIDDEN = "[شماره حذف شد]"


def without_number(text: str, number: str | None) -> str:
    """``text`` with ``number`` (as stored, 09…, or without its leading 0, in ASCII or Persian digits) hidden."""
    if not number or len(number) < VISIBLE_DIGITS:
        return text
    for form in dict.fromkeys((number, number.lstrip("0"))):  # the longer first
        for digits in (form, persian_digits(form)):
            text = text.replace(digits, NUMBER_HIDDEN)
    return text


def ticket_read_refusal(role: Role, unit_id: int | None, *, units_that_held: Callable[[], set[int]],
                        was_disputed: Callable[[], bool]) -> str | None:
    """Why ``role`` may not read one ticket by its code (Persian), or None. The call center reads every ticket; a
    liaison those their unit holds or once held; a field supervisor those that were ever disputed (what they
    rule on, and what they ruled on). Nobody else: the inspection office reads the scorecard's aggregates."""
    if role in CITIZEN_IDENTITY_ROLES:
        return None
    if role == Role.UNIT_LIAISON:
        return None if unit_id in units_that_held() else "این درخواست هرگز به واحد شما ارجاع نشده است."
    if role == Role.FIELD_SUPERVISOR:
        return None if was_disputed() else "این درخواست هرگز برای داوری به ناظر میدانی نرسیده است."
    return "نقش شما اجازه دیدن درخواست‌ها را ندارد."


def unit_for_reader(unit: dict[str, Any], role: Role) -> dict[str, Any]:
    """A unit as the reference data gives it: without its manager's mobile for anyone but the administrator."""
    if role in UNIT_MANAGER_PHONE_ROLES:
        return unit
    return {key: value for key, value in unit.items() if key != "manager_phone"}


def masked_number(number: str | None) -> str | None:
    """``"09121234567"`` → ``"***4567"``; empty and missing numbers stay as they are."""
    if not number:
        return number
    return "***" + number[-VISIBLE_DIGITS:] if len(number) > VISIBLE_DIGITS else "***"


def ticket_for_outsiders(data: dict[str, Any]) -> dict[str, Any]:
    """A ticket event for staff outside the call center: the event's own fields (action, deadline...) and the
    ticket's doorbell fields only."""
    ticket = data.get("ticket") or {}
    return {**{key: value for key, value in data.items() if key != "ticket"},
            "ticket": {field: ticket.get(field) for field in DOORBELL_TICKET_FIELDS}}


def call_for_onlookers(data: dict[str, Any]) -> dict[str, Any]:
    """A call event for the mayor's office (the wallboard's viewers): the citizen's number masked, and no screen
    pop history (earlier tickets with addresses and words are for the operator who answers)."""
    shown = {key: value for key, value in data.items() if key != "history"}
    call = data.get("call")
    if isinstance(call, dict):
        shown["call"] = {**call, "caller_number": masked_number(call.get("caller_number"))}
    return shown


def may_show_caller_number(call: CallPublic) -> bool:
    """Whether staff may hear of this call's number: never an anonymous caller's; on 1888 not before the caller
    has decided (the menu, where they choose, ends before the call joins a queue); 137 callers' always."""
    if call.anonymous:
        return False
    return call.line != LINE_1888.number or call.queued_at is not None


def call_as_announced(call: CallPublic) -> CallPublic:
    """A call as it goes out to the consoles (and through Redis): without the number unless it may be shown."""
    return call if may_show_caller_number(call) else call.model_copy(update={"caller_number": ""})


# Paths whose last segments are a secret (a signed link's signature): the access log keeps only their prefix.
# A complaint draft's id (/complaints/new/<draft>/<step>) is its form's key: kept out of the log as a signed link is.
_SECRET_PATH_PREFIXES = ("/citizen/s/", "/citizen/a/", "/complaints/new/")
ACCESS_LOG_HIDDEN = "-"


class AccessLogWithoutCitizens(logging.Filter):
    """uvicorn's access log names every client's address and full path. An anonymous 1888 message must leave no
    address behind, and a signed link or a query (a tracking code, a mobile's digits) opens a citizen's request:
    the log keeps the method, the path without query or secret, and the status, nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # uvicorn: client, method, full path, http version, status
            _client, method, full_path, version, status = args
            record.args = (ACCESS_LOG_HIDDEN, method, loggable_path(str(full_path)), version, status)
        return True


def loggable_path(full_path: str) -> str:
    path = full_path.split("?", 1)[0]
    for prefix in _SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def hide_citizens_in_access_log() -> None:
    """Install the filter on uvicorn's access logger (idempotent; each web worker calls it when its app is made)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogWithoutCitizens) for f in access.filters):
        access.addFilter(AccessLogWithoutCitizens())
