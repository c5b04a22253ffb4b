"""The call flows behind each public line; each ends by telling the dialplan where the caller goes next."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from callcenter.errors import InvalidTrackingCode
from callcenter.lines import LINE_137, LINE_1888
from callcenter.tickets import TicketSummary
from callcenter.tracking_code import parse_tracking_code
from ivr.agi_server import AgiChannel, AgiServer
from ivr.prompt_catalog import PROMPTS
from ivr.prompts import DATA_PROMPT_KEY, unit_prompt_key
from ivr.speech import say_jalali_date, say_tracking_code

log = logging.getLogger(__name__)

ALL_DIGITS = "0123456789*#"
MAX_TRIES = 3
MAX_REPEATS = 3
CHOICE_TIMEOUT_MS = 5000
CODE_TIMEOUT_MS = 10000
CODE_MAX_DIGITS = 12  # longer than a code, so a too-long entry is caught instead of cut short


@dataclass(frozen=True)
class Prompts:
    """Turns a prompt key into the path Asterisk plays (without extension, as Asterisk wants)."""

    sounds_dir: PurePosixPath  # as Asterisk sees it, e.g. /opt/pasokh/default/sounds/fa

    def path(self, key: str) -> str:
        if key not in PROMPTS and not re.fullmatch(DATA_PROMPT_KEY, key):
            raise KeyError(f"prompt {key!r} is not in the catalog")
        return str(self.sounds_dir / key)


class TicketDirectory(Protocol):
    async def latest_open_for_caller(self, caller_number: str) -> TicketSummary | None: ...

    async def by_tracking_code(self, code: str) -> TicketSummary | None: ...


class OperatorRequested(Exception):
    """The caller pressed 0, or could not be served by the menu: the flow ends in the operators' queue."""


class Flows:
    """Registers the line flows on an :class:`AgiServer`."""

    def __init__(self, *, prompts: Prompts, tickets: TicketDirectory) -> None:
        self.prompts = prompts
        self.tickets = tickets

    def register(self, server: AgiServer) -> None:
        server.add_route(LINE_137.agi_route, self.line_137)
        server.add_route(LINE_1888.agi_route, self.line_1888)

    # -- building blocks -------------------------------------------------------------------------------------

    async def play(self, channel: AgiChannel, keys: str | Sequence[str], *, escape: str = ALL_DIGITS) -> str | None:
        """Play prompts in order; return the digit that interrupted them, if any."""
        for key in [keys] if isinstance(keys, str) else keys:
            value, _ = await channel.command("STREAM FILE", self.prompts.path(key), escape)
            code = int(value) if value.isdigit() else 0  # result is the ASCII code of the digit, 0 if none
            if code > 0:
                return chr(code)
        return None

    async def wait_digit(self, channel: AgiChannel) -> str | None:
        value, _ = await channel.command("WAIT FOR DIGIT", str(CHOICE_TIMEOUT_MS))
        code = int(value) if value.isdigit() else 0
        return chr(code) if code > 0 else None

    async def choose(
        self, channel: AgiChannel, first: Sequence[str], valid: str, *, again: Sequence[str] | None = None
    ) -> str:
        """Offer a menu up to three times; 0 (or three failures) means an operator."""
        keys = first
        for attempt in range(MAX_TRIES):
            digit = await self.play(channel, keys) or await self.wait_digit(channel)
            if digit == "0":
                raise OperatorRequested
            if digit is not None and digit in valid:
                return digit
            if attempt < MAX_TRIES - 1:
                await self.play(channel, "invalid_choice", escape="")
            keys = again if again is not None else first
        raise OperatorRequested

    async def to_queue(self, channel: AgiChannel) -> None:
        await self.play(channel, "connecting_to_operator", escape="")
        await channel.set_variable("PASOKH_NEXT", "queue")

    # -- 137 ----------------------------------------------------------------------------------------------------

    async def line_137(self, channel: AgiChannel) -> None:
        """Returning callers hear their open request first; then new request, status by code, or an operator."""
        try:
            menu = ["welcome_137", "menu_137"]
            open_ticket = await self.tickets.latest_open_for_caller(channel.caller_number)
            if open_ticket is not None:
                if await self._offer_open_ticket(channel, open_ticket):
                    return
                menu = ["menu_137"]  # the welcome was part of the offer
            choice = await self.choose(channel, menu, valid="12", again=["menu_137"])
            if choice == "2":
                await self._status_by_code(channel)
                return
            raise OperatorRequested  # 1: a new request is taken by an operator
        except OperatorRequested:
            await self.to_queue(channel)

    async def _offer_open_ticket(self, channel: AgiChannel, ticket: TicketSummary) -> bool:
        """"You have an open request, code …, press 1 for its status"; True when the caller took it."""
        keys = ["welcome_137", "you_have_open_request", *say_tracking_code(ticket.tracking_code), "press_1_for_status"]
        digit = await self.play(channel, keys) or await self.wait_digit(channel)
        if digit == "0":
            raise OperatorRequested
        if digit != "1":
            return False
        await self._read_status(channel, ticket)
        return True

    async def _status_by_code(self, channel: AgiChannel) -> None:
        """Code then #; a wrong check digit or an unknown code is said so, three tries, then an operator."""
        for _ in range(MAX_TRIES):
            entered, _ = await channel.command(
                "GET DATA", self.prompts.path("enter_tracking_code"), str(CODE_TIMEOUT_MS), str(CODE_MAX_DIGITS)
            )
            if entered == "0":
                raise OperatorRequested
            if not entered:
                continue  # silence: ask again
            try:
                code = parse_tracking_code(entered)
            except InvalidTrackingCode:
                await self.play(channel, "invalid_tracking_code", escape="")
                continue
            ticket = await self.tickets.by_tracking_code(code)
            if ticket is None:
                await self.play(channel, "tracking_code_not_found", escape="")
                continue
            await self._read_status(channel, ticket)
            return
        raise OperatorRequested

    async def _read_status(self, channel: AgiChannel, ticket: TicketSummary) -> None:
        """Status, unit and date of the last change; 1 repeats, 0 an operator, silence says goodbye."""
        keys = [
            "status_of_request", *say_tracking_code(ticket.tracking_code), f"status_{ticket.status}",
            "responsible_unit", unit_prompt_key(ticket.unit_name), "last_change_on",
            *say_jalali_date(ticket.last_change),
        ]
        for _ in range(MAX_REPEATS):
            digit = await self.play(channel, [*keys, "status_options"]) or await self.wait_digit(channel)
            if digit == "0":
                raise OperatorRequested
            if digit != "1":
                break
        await self.play(channel, "goodbye", escape="")
        await channel.set_variable("PASOKH_NEXT", "hangup")

    # -- 1888 ---------------------------------------------------------------------------------------------------

    async def line_1888(self, channel: AgiChannel) -> None:
        """Criticism, suggestions, appreciation: for now straight to the 1888 operators after the greeting."""
        await self.play(channel, "welcome_1888", escape="")
        await channel.set_variable("PASOKH_NEXT", "queue")
