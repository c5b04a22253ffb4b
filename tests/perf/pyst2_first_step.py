"""The 137 menu's first step as a classic process-per-call AGI script on pyst2's ``asterisk.agi`` (ADR 0085).

Asterisk starts one process of this script per call (``AGI(<this file>,<prompts dir>,<escape keys>,<timeout ms>,
<tries>,<valid keys>,<first prompts>,<again prompts>,<invalid prompt>,<choice variable>,<waited variable>,<next
variable>,<queue>)``, rendered by tests/perf/agi_baseline.py,
which also runs the same step on our FastAGI server). It does what that step does there, command for command:
ANSWER; the welcome and the menu (STREAM FILE, any key interrupts), WAIT FOR DIGIT when none did, "invalid
choice" and the menu again up to three times; then SET VARIABLE of the key taken, of the time spent waiting on the
caller, and of PASOKH_NEXT=queue when the caller asked for an operator. It runs outside the project (in Asterisk's
chroot, with pyst2 and six copied beside it), so it imports nothing of ours: the names come as arguments.

pyst2 0.5.1's ``asterisk.agi`` runs unchanged on Python 3.11 for this step (its ``fastagi`` module does not: it
imports Python 2's SocketServer, ADR 0004); the one thing changed is where its debugging output goes (connect()).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# pyst2 and six where install_script copied them, beside this file: Asterisk's chroot has no venv.
sys.path.insert(0, str(Path(__file__).resolve().parent / "site-packages"))

from asterisk.agi import AGI

OPERATOR_KEY = "0"  # as ivr/menu.py's Menu.choose: 0 is always an operator
NEW_REQUEST_KEY = "1"  # the 137 menu's 1: a new request, taken by an operator


class CallerTime:
    """The time the commands that wait on the caller took (answer, prompts playing, a key awaited), to subtract."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, started: float) -> None:
        self.seconds += time.perf_counter() - started


def play(agi: AGI, waited: CallerTime, prompts_dir: str, keys: Sequence[str], escape: str) -> str:
    """Prompts in order; the key that interrupted them, or ""."""
    for key in keys:
        started = time.perf_counter()
        digit: str = agi.stream_file(f"{prompts_dir}/{key}", escape_digits=escape)
        waited.timed(started)
        if digit:
            return digit
    return ""


def choose(agi: AGI, waited: CallerTime, argv: Sequence[str]) -> str:
    """The menu offered up to ``tries`` times: the valid key taken, or "" for an operator (0 or no valid key)."""
    prompts_dir, escape, timeout_ms, tries, valid, first, again, invalid = argv[:8]
    keys = first.split("|")
    for attempt in range(int(tries)):
        digit = play(agi, waited, prompts_dir, keys, escape)
        if not digit:
            started = time.perf_counter()
            digit = agi.wait_for_digit(int(timeout_ms))
            waited.timed(started)
        if digit == OPERATOR_KEY:
            return ""
        if digit and digit in valid:
            return digit
        if attempt < int(tries) - 1:
            play(agi, waited, prompts_dir, [invalid], "")
        keys = again.split("|")
    return ""


def first_step(agi: AGI, argv: Sequence[str]) -> None:
    choice_variable, waited_variable, next_variable, queue = argv[8:12]
    waited = CallerTime()
    started = time.perf_counter()
    agi.answer()  # Asterisk answers when the caller's media flows: the caller's time too
    waited.timed(started)
    choice = choose(agi, waited, argv)
    agi.set_variable(choice_variable, choice)
    agi.set_variable(waited_variable, f"{waited.seconds * 1000:.3f}")
    if choice in ("", NEW_REQUEST_KEY):  # an operator: what the 137 flow goes on to
        agi.set_variable(next_variable, queue)


def connect() -> AGI:
    """pyst2's AGI, reading the session's environment. pyst2 echoes that environment (agi_callerid: the caller's
    number) and every command and answer to stderr, which Asterisk writes to its console log: sent to /dev/null,
    as our rule on callers' numbers in logs wants (pyst2 still formats them: that cost is the library's)."""
    return AGI(stderr=open(os.devnull, "w"))


def main() -> None:
    first_step(connect(), sys.argv[1:])


if __name__ == "__main__":
    main()
