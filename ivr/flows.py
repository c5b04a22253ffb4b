"""The call flows behind each public line; each ends by telling the dialplan where the caller goes next."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from callcenter.platform.errors import InvalidTrackingCode
from callcenter.platform.lines import LINE_137, LINE_1888
from callcenter.platform.privacy import WITHHELD_CALLER_ID
from callcenter.telephony.dialplan import NextStep, Variable
from callcenter.tickets.store import PERSONNEL_CODE_MAX_DIGITS, TicketSummary
from callcenter.tickets.tracking_code import parse_tracking_code
from db.models import FeedbackKind
from ivr.agi_server import AgiServer
from ivr.menu import ALL_DIGITS, MAX_TRIES, Channel, Menu, OperatorRequested, Prompts
from ivr.operator_access import Caller, OperatorAccess
from ivr.prompts import unit_prompt_key
from ivr.speech import say_jalali_date, say_tracking_code

__all__ = ["ALL_DIGITS", "MAX_TRIES", "Flows", "Prompts", "TicketDirectory"]

log = logging.getLogger(__name__)

MAX_REPEATS = 3
CODE_MAX_DIGITS = 12  # longer than a code, so a too-long entry is caught instead of cut short
# The ticket lookups are a call's only database reads before the queue: a database that is away or slow must not
# keep a caller in silence. Past this, the menu goes on without the lookup (ADR 0087).
TICKET_LOOKUP_SECONDS = 2.0
FEEDBACK_KEYS = {"1": FeedbackKind.CRITICISM, "2": FeedbackKind.SUGGESTION, "3": FeedbackKind.APPRECIATION}


class TicketDirectory(Protocol):
    async def latest_open_for_caller(self, caller_number: str) -> TicketSummary | None: ...

    async def by_tracking_code(self, code: str) -> TicketSummary | None: ...


class Flows:
    """Registers the line flows on an :class:`AgiServer`."""

    def __init__(self, *, menu: Menu, tickets: TicketDirectory, operators: OperatorAccess,
                 lookup_seconds: float = TICKET_LOOKUP_SECONDS) -> None:
        self.menu = menu
        self.tickets = tickets
        self.operators = operators
        self.lookup_seconds = lookup_seconds

    def register(self, server: AgiServer) -> None:
        server.add_route(LINE_137.agi_route, self.line_137)
        server.add_route(LINE_1888.agi_route, self.line_1888)

    # -- 137 ----------------------------------------------------------------------------------------------------

    async def line_137(self, channel: Channel) -> None:
        """Returning callers hear their open request first; then new request, status by code, or an operator."""
        try:
            menu = ["welcome_137", "menu_137"]
            open_ticket = await self._open_ticket_of(channel.caller_number)
            if open_ticket is not None:
                if await self._offer_open_ticket(channel, open_ticket):
                    return
                menu = ["menu_137"]  # the welcome was part of the offer
            choice = await self.menu.choose(channel, menu, valid="12", again=["menu_137"])
            if choice == "2":
                await self._status_by_code(channel)
                return
            raise OperatorRequested  # 1: a new request is taken by an operator
        except OperatorRequested:
            await self.operators.reach_operator(channel, Caller(line=LINE_137, number=channel.caller_number))

    async def _open_ticket_of(self, caller_number: str) -> TicketSummary | None:
        """The caller's latest open request, or None also when the database cannot say in time."""
        try:
            async with asyncio.timeout(self.lookup_seconds):
                return await self.tickets.latest_open_for_caller(caller_number)
        except Exception as exc:  # the database away or too slow (TimeoutError): the menu goes on without it
            log.warning("IVR: a caller's open request could not be read (%s); the menu goes on without it",
                        type(exc).__name__)
            return None

    async def _offer_open_ticket(self, channel: Channel, ticket: TicketSummary) -> bool:
        """"You have an open request, code …, press 1 for its status"; True when the caller took it."""
        keys = ["welcome_137", "you_have_open_request", *say_tracking_code(ticket.tracking_code), "press_1_for_status"]
        digit = await self.menu.play(channel, keys) or await self.menu.wait_digit(channel)
        if digit == "0":
            raise OperatorRequested
        if digit != "1":
            return False
        await self._read_status(channel, ticket)
        return True

    async def _status_by_code(self, channel: Channel) -> None:
        """Code then #; a wrong check digit or an unknown code is said so, three tries, then an operator."""
        for _ in range(MAX_TRIES):
            entered = await self.menu.read_digits(channel, "enter_tracking_code", max_digits=CODE_MAX_DIGITS)
            if entered == "0":
                raise OperatorRequested
            if not entered:
                continue  # silence: ask again
            try:
                code = parse_tracking_code(entered)
            except InvalidTrackingCode:
                await self.menu.play(channel, "invalid_tracking_code", escape="")
                continue
            try:
                async with asyncio.timeout(self.lookup_seconds):
                    ticket = await self.tickets.by_tracking_code(code)
            except Exception as exc:  # the database away or too slow (TimeoutError): an operator can look it up
                log.warning("IVR: status by code unavailable (%s); the caller goes to an operator",
                            type(exc).__name__)
                raise OperatorRequested from exc
            if ticket is None:
                await self.menu.play(channel, "tracking_code_not_found", escape="")
                continue
            await self._read_status(channel, ticket)
            return
        raise OperatorRequested

    async def _read_status(self, channel: Channel, ticket: TicketSummary) -> None:
        """Status, unit and date of the last change; 1 repeats, 0 an operator, silence says goodbye."""
        unit = ["responsible_unit", unit_prompt_key(ticket.unit_name)] if ticket.unit_name else []
        keys = [
            "status_of_request", *say_tracking_code(ticket.tracking_code), f"status_{ticket.status}",
            *unit, "last_change_on", *say_jalali_date(ticket.last_change),
        ]
        for _ in range(MAX_REPEATS):
            digit = await self.menu.play(channel, [*keys, "status_options"]) or await self.menu.wait_digit(channel)
            if digit == "0":
                raise OperatorRequested
            if digit != "1":
                break
        await self.menu.play(channel, "goodbye", escape="")
        await channel.set_variable(Variable.NEXT, NextStep.HANGUP)

    # -- 1888 ---------------------------------------------------------------------------------------------------

    async def line_1888(self, channel: Channel) -> None:
        """Criticism, suggestion or appreciation; optionally about a staff member; optionally anonymous.

        Each answer goes on the channel as soon as it is given (the AMI bridge copies them to the call record), and
        anonymity also withholds the caller ID there and then: whatever happens next, the number is gone."""
        kind: FeedbackKind | None = None
        personnel_code: str | None = None
        anonymous = False
        try:
            choice = await self.menu.choose(channel, ["welcome_1888", "menu_1888"], valid="123", again=["menu_1888"])
            kind = FEEDBACK_KEYS[choice]
            await channel.set_variable(Variable.FEEDBACK_KIND, kind.value)
            personnel_code = await self._personnel_code(channel)
            if personnel_code:
                await channel.set_variable(Variable.PERSONNEL_CODE, personnel_code)
            anonymous = await self.menu.choose(channel, ["anonymity_1888"], valid="12") == "1"
            if anonymous:
                await withhold_caller_id(channel)
        except OperatorRequested:
            pass  # 0 or no answer: the operator asks what the menu did not learn
        caller = Caller(line=LINE_1888, number="" if anonymous else channel.caller_number, feedback_kind=kind,
                        personnel_code=personnel_code, anonymous=anonymous)
        await self.operators.reach_operator(channel, caller)

    async def _personnel_code(self, channel: Channel) -> str | None:
        """Digits then #, or # alone to skip; too many digits or a star is asked again."""
        for _ in range(MAX_TRIES):
            entered = await self.menu.read_digits(channel, "enter_personnel_code",
                                                  max_digits=PERSONNEL_CODE_MAX_DIGITS + 1)
            if entered == "0":
                raise OperatorRequested
            if entered.isdigit() and len(entered) <= PERSONNEL_CODE_MAX_DIGITS:
                return entered
            if not entered:
                return None
            await self.menu.play(channel, "invalid_personnel_code", escape="")
        return None


async def withhold_caller_id(channel: Channel) -> None:
    """Mark the call anonymous, then replace its caller ID (the change is what tells the AMI bridge, with the mark
    among the event's channel variables)."""
    await channel.set_variable(Variable.ANONYMOUS, "1")
    for name, value in WITHHELD_CALLER_ID:
        await channel.set_variable(name, value)
