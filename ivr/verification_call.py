"""The automatic verification call: the citizen hears their code and answers "solved" (1) or "not solved" (2)."""

from __future__ import annotations

import logging
from typing import Protocol

from callcenter.platform.errors import Conflict
from callcenter.telephony.dialplan import VERIFICATION_AGI_ROUTE, Variable
from ivr.agi_server import AgiServer
from ivr.menu import MAX_TRIES, Channel, Menu
from ivr.speech import say_tracking_code

log = logging.getLogger(__name__)

ANSWER_KEYS = "12"
THANKS = {"1": "verify_thanks_resolved", "2": "verify_thanks_not_resolved"}


class VerificationAnswers(Protocol):
    async def tracking_code_for(self, attempt_id: int) -> str | None: ...

    async def key_pressed(self, attempt_id: int, key: str) -> None: ...


class VerificationCall:
    """Registered on the FastAGI server; the dialplan sends the answered citizen here."""

    def __init__(self, *, menu: Menu, answers: VerificationAnswers) -> None:
        self.menu = menu
        self.answers = answers

    def register(self, server: AgiServer) -> None:
        server.add_route(VERIFICATION_AGI_ROUTE, self.ask)

    async def ask(self, channel: Channel) -> None:
        """Greeting with the tracking code, then the question up to three times; silence ends the call (the
        attempt then counts as unanswered and the dialer tries again later)."""
        attempt_text = await self.menu.evaluate(channel, f"${{{Variable.VERIFY_ATTEMPT}}}")
        code = await self.answers.tracking_code_for(int(attempt_text)) if attempt_text.isdigit() else None
        if code is None:  # unknown, manual, finished or no longer live: nothing is asked, nothing recorded
            log.warning("automatic verification call for an attempt that is not a live automatic call (%r)",
                        attempt_text[:20])
            await self.menu.play(channel, "goodbye", escape="")
            return
        keys = ["verify_greeting", *say_tracking_code(code), "verify_question"]
        for _ in range(MAX_TRIES):
            digit = await self.menu.play(channel, keys, escape=ANSWER_KEYS) or await self.menu.wait_digit(channel)
            if digit is not None and digit in ANSWER_KEYS:
                try:
                    await self.answers.key_pressed(int(attempt_text), digit)
                except Conflict:  # the attempt ended meanwhile (a supervisor recorded a result): not counted
                    log.warning("automatic verification attempt %s no longer live; key not recorded", attempt_text)
                    await self.menu.play(channel, "goodbye", escape="")
                    return
                await self.menu.play(channel, THANKS[digit], escape="")
                return
            keys = ["invalid_choice", "verify_question"] if digit is not None else ["verify_question"]
        await self.menu.play(channel, "verify_no_answer", escape="")
