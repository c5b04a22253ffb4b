"""The public lines (137, 1888): their queue and the FastAGI route that greets their callers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublicLine:
    number: str
    queue: str
    agi_route: str
    title: str


LINE_137 = PublicLine(number="137", queue="line137", agi_route="line137", title="سامانه ۱۳۷")
LINE_1888 = PublicLine(number="1888", queue="line1888", agi_route="line1888", title="سامانه ۱۸۸۸")
LINES = (LINE_137, LINE_1888)

# What the 1888 menu learnt, set on the channel by the IVR and copied to the call record by the AMI bridge
# (listed in manager.conf ``channelvars`` so that Asterisk puts them in every event of the channel).
FEEDBACK_KIND_VARIABLE = "PASOKH_FEEDBACK_KIND"
PERSONNEL_CODE_VARIABLE = "PASOKH_PERSONNEL_CODE"
ANONYMOUS_VARIABLE = "PASOKH_ANONYMOUS"
# The file the dialplan's MixMonitor writes the conversation to (set before Queue, read at AgentConnect).
RECORDING_VARIABLE = "PASOKH_RECORDING"
# The 1888 menu sets these three, in this order; the dialplan sets the recording's name.
MENU_CHANNEL_VARIABLES = (FEEDBACK_KIND_VARIABLE, PERSONNEL_CODE_VARIABLE, ANONYMOUS_VARIABLE)
IVR_CHANNEL_VARIABLES = (*MENU_CHANNEL_VARIABLES, RECORDING_VARIABLE)


def line_by_queue(queue: str) -> PublicLine | None:
    return next((line for line in LINES if line.queue == queue), None)


def line_by_number(number: str) -> PublicLine | None:
    return next((line for line in LINES if line.number == number), None)
