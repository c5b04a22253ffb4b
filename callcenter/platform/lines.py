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

def line_by_queue(queue: str) -> PublicLine | None:
    return next((line for line in LINES if line.queue == queue), None)


def line_by_number(number: str) -> PublicLine | None:
    return next((line for line in LINES if line.number == number), None)
