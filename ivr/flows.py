"""The call flows behind each public line; each ends by telling the dialplan where the caller goes next."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath

from callcenter.lines import LINE_137, LINE_1888
from ivr.agi_server import AgiChannel, AgiServer
from ivr.prompt_catalog import PROMPTS

log = logging.getLogger(__name__)

ALL_DIGITS = "0123456789*#"
MAX_TRIES = 3
CHOICE_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Prompts:
    """Turns a prompt key into the path Asterisk plays (without extension, as Asterisk wants)."""

    sounds_dir: PurePosixPath  # as Asterisk sees it, e.g. /opt/pasokh/default/sounds/fa

    def path(self, key: str) -> str:
        if key not in PROMPTS:
            raise KeyError(f"prompt {key!r} is not in the catalog")
        return str(self.sounds_dir / key)


class Flows:
    """Registers the line flows on an :class:`AgiServer`."""

    def __init__(self, *, prompts: Prompts) -> None:
        self.prompts = prompts

    def register(self, server: AgiServer) -> None:
        server.add_route(LINE_137.agi_route, self.line_137)
        server.add_route(LINE_1888.agi_route, self.line_1888)

    async def play(self, channel: AgiChannel, key: str, *, escape: str = ALL_DIGITS) -> str | None:
        """Play a prompt; return the digit that interrupted it, if any."""
        value, _ = await channel.command("STREAM FILE", self.prompts.path(key), escape)
        code = int(value) if value.isdigit() else 0  # result is the ASCII code of the digit, 0 if none
        return chr(code) if code > 0 else None

    async def ask_digit(self, channel: AgiChannel, key: str) -> str | None:
        """Play ``key`` and wait for one digit; None on timeout."""
        value, _ = await channel.command("GET DATA", self.prompts.path(key), str(CHOICE_TIMEOUT_MS), "1")
        return value or None  # "200 result= (timeout)" parses to an empty value

    async def choose(self, channel: AgiChannel, key: str, valid: str) -> str | None:
        """Ask up to three times for one of ``valid``; None when the caller never chose."""
        for attempt in range(MAX_TRIES):
            digit = await self.ask_digit(channel, key)
            if digit and digit in valid:
                return digit
            if attempt < MAX_TRIES - 1:
                await self.play(channel, "invalid_choice", escape="")
        return None

    async def line_137(self, channel: AgiChannel) -> None:
        """Greeting, then 1 for an operator. Anyone who does not choose still reaches an operator."""
        pressed = await self.play(channel, "welcome_137")
        if pressed != "1":
            await self.choose(channel, "press_1_for_operator", valid="1")
        await self.play(channel, "connecting_to_operator", escape="")
        await channel.set_variable("PASOKH_NEXT", "queue")

    async def line_1888(self, channel: AgiChannel) -> None:
        """Criticism, suggestions, appreciation: for now straight to the 1888 operators after the greeting."""
        await self.play(channel, "welcome_1888", escape="")
        await channel.set_variable("PASOKH_NEXT", "queue")
