"""Voice-menu building blocks over an AGI channel: play prompts, read keys, offer a choice three times."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from ivr.prompt_catalog import PROMPTS
from ivr.prompts import DATA_PROMPT_KEY

ALL_DIGITS = "0123456789*#"
MAX_TRIES = 3
CHOICE_TIMEOUT_MS = 5000
ENTRY_TIMEOUT_MS = 10000


class Channel(Protocol):
    """The part of :class:`ivr.agi_server.AgiChannel` the flows use (tests script it)."""

    @property
    def caller_number(self) -> str: ...

    async def command(self, name: str, *args: str) -> tuple[str, str]: ...

    async def set_variable(self, name: str, value: str) -> None: ...


class OperatorRequested(Exception):
    """The caller pressed 0, or could not be served by the menu: the flow ends with an operator (or the options
    offered when none can answer)."""


@dataclass(frozen=True)
class Prompts:
    """Turns a prompt key into the path Asterisk plays (without extension, as Asterisk wants)."""

    sounds_dir: PurePosixPath  # as Asterisk sees it, e.g. /opt/pasokh/default/sounds/fa

    def path(self, key: str) -> str:
        if key not in PROMPTS and not re.fullmatch(DATA_PROMPT_KEY, key):
            raise KeyError(f"prompt {key!r} is not in the catalog")
        return str(self.sounds_dir / key)


def _digit_of(value: str) -> str | None:
    code = int(value) if value.isdigit() else 0  # results carry the ASCII code of the key, 0 if none
    return chr(code) if code > 0 else None


@dataclass(frozen=True)
class Menu:
    prompts: Prompts

    async def play(self, channel: Channel, keys: str | Sequence[str], *, escape: str = ALL_DIGITS) -> str | None:
        """Play prompts in order; return the key that interrupted them, if any."""
        for key in [keys] if isinstance(keys, str) else keys:
            value, _ = await channel.command("STREAM FILE", self.prompts.path(key), escape)
            digit = _digit_of(value)
            if digit is not None:
                return digit
        return None

    async def wait_digit(self, channel: Channel) -> str | None:
        value, _ = await channel.command("WAIT FOR DIGIT", str(CHOICE_TIMEOUT_MS))
        return _digit_of(value)

    async def choose(
        self, channel: Channel, first: Sequence[str], valid: str, *, again: Sequence[str] | None = None
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

    async def read_digits(self, channel: Channel, prompt: str, *, max_digits: int) -> str:
        """Keys typed after ``prompt`` until ``#``, the limit or a pause ("" for none)."""
        entered, _ = await channel.command("GET DATA", self.prompts.path(prompt), str(ENTRY_TIMEOUT_MS),
                                           str(max_digits))
        return entered

    @staticmethod
    async def evaluate(channel: Channel, expression: str) -> str:
        """A dialplan expression (variables, functions) evaluated on the channel; "" when it has no value."""
        found, value = await channel.command("GET FULL VARIABLE", expression)
        return value if found == "1" else ""
