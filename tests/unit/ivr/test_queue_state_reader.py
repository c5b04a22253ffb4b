"""The queue state read over the caller's AGI channel in a few commands, whatever the number of operators."""

from __future__ import annotations

import re

from callcenter.intake.routing import QueueState
from ivr.operator_access import AsteriskQueueState

QUEUE = "line137"
MEMBERS = [f"PJSIP/{1000 + n}" for n in range(1, 41)]
PAUSED_PRESENT = {"PJSIP/1003", "PJSIP/1007"}
PAUSED_GONE = {"PJSIP/1009"}  # paused, and the phone is unreachable
AGI_BUF_LEN = 2048  # Asterisk's AGI line buffer


class FakeAsterisk:
    """Answers GET FULL VARIABLE as Asterisk does: each ${...} substituted left to right, QUEUE_VARIABLES setting
    QUEUEHOLDTIME as a side effect."""

    def __init__(self, members: list[str]) -> None:
        self.members = members
        self.commands: list[str] = []
        self.variables: dict[str, str] = {}

    def function(self, call: str) -> str:
        paused = PAUSED_PRESENT | PAUSED_GONE
        fixed = {f"QUEUE_MEMBER({QUEUE},logged)": "40", f"QUEUE_MEMBER({QUEUE},ready)": "0",
                 f"QUEUE_WAITING_COUNT({QUEUE})": "4", f"QUEUE_MEMBER_LIST({QUEUE})": ",".join(self.members)}
        if call == f"QUEUE_VARIABLES({QUEUE})":
            self.variables["QUEUEHOLDTIME"] = "37"
            return "0"
        if call in fixed:
            return fixed[call]
        if match := re.fullmatch(rf"QUEUE_MEMBER\({QUEUE},paused,(.+)\)", call):
            return "1" if match.group(1) in paused else "0"
        if match := re.fullmatch(r"DEVICE_STATE\((.+)\)", call):
            return "UNAVAILABLE" if match.group(1) in PAUSED_GONE else "NOT_INUSE"
        return self.variables.get(call, "")

    async def command(self, name: str, *args: str) -> tuple[str, str]:
        line = " ".join((name, *(f'"{arg}"' for arg in args)))
        self.commands.append(line)
        assert name == "GET FULL VARIABLE"
        return "1", re.sub(r"\$\{([^}]*)\}", lambda found: self.function(found.group(1)), args[0])


async def test_given_forty_operators_when_the_queue_is_read_then_four_commands_each_within_the_agi_line() -> None:
    asterisk = FakeAsterisk(MEMBERS)

    state = await AsteriskQueueState().read(asterisk, QUEUE)  # type: ignore[arg-type]

    assert state == QueueState(logged_in=40, ready=0, paused=2, waiting=4, average_hold_seconds=37)
    assert len(asterisk.commands) == 4  # the counts and the member list, then 16 + 16 + 8 members
    assert all(len(line.encode()) < AGI_BUF_LEN - 100 for line in asterisk.commands)


async def test_given_an_empty_queue_when_it_is_read_then_one_command_and_nobody_paused() -> None:
    asterisk = FakeAsterisk([])

    state = await AsteriskQueueState().read(asterisk, QUEUE)  # type: ignore[arg-type]

    assert (state.paused, len(asterisk.commands)) == (0, 1)
