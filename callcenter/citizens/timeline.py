"""A ticket's public timeline, as the citizen who filed it may see it, and finding it by tracking code and the last
four digits of the mobile (guessing is rate-limited per client address and per tracking code).

The public words for each step and status are written here once. A citizen sees when and where their request
went and how it ended; never who on the staff did what, their notes, or anybody's number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlmodel import Session, col, select

from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import NotFound, PasokhError
from callcenter.platform.persian import ascii_digits, persian_digits
from callcenter.platform.rate_limits import RateLimiter, RateRule
from callcenter.tickets.lifecycle import FINAL_STATUSES
from callcenter.tickets.store import find_by_tracking_code
from callcenter.tickets.tracking_code import format_for_reading
from db.models import Category, FieldVerdict, Ticket, TicketAction, TicketStatus, TicketTransition, Unit

A, S = TicketAction, TicketStatus

FILED_LABEL = "ثبت درخواست"
# What each step means to the citizen (the staff's names are in callcenter/tickets/lifecycle.py).
PUBLIC_STEP_LABELS: Mapping[TicketAction, str] = MappingProxyType({
    A.REFER: "ارجاع به واحد مسئول",
    A.RE_REFER: "ارجاع به واحد مسئول",
    A.ACCEPT: "آغاز رسیدگی در واحد",
    A.DECLINE: "بازبینی مسیر ارجاع در مرکز تماس",
    A.REPORT_DONE: "اعلام انجام کار از سوی واحد",
    A.REQUEST_VERIFICATION: "پرسش از شما درباره رفع مشکل",
    A.VERIFY_RESOLVED: "تأیید رفع مشکل از سوی شما",
    A.VERIFY_NOT_RESOLVED: "اعلام رفع‌نشدن مشکل از سوی شما؛ بازگشت به واحد",
    A.DISPUTE: "درخواست بازدید ناظر میدانی",
    A.FIELD_VERDICT: "نتیجه بازدید ناظر میدانی",
    A.CANCEL: "لغو درخواست",
})
VERDICT_LABELS: Mapping[FieldVerdict, str] = MappingProxyType({
    FieldVerdict.CITIZEN_RIGHT: "کار باید دوباره انجام شود",
    FieldVerdict.PARTLY: "بخشی از کار باید دوباره انجام شود",
    FieldVerdict.UNIT_RIGHT: "کار انجام‌شده پذیرفته شد",
})
# Where the request stands now; for a final status, how it ended.
PUBLIC_STATUS_LABELS: Mapping[TicketStatus, str] = MappingProxyType({
    S.REGISTERED: "ثبت‌شده، در انتظار ارجاع",
    S.REFERRED: "ارجاع‌شده به واحد مسئول",
    S.ACCEPTED: "در دست رسیدگی واحد",
    S.DONE: "انجام‌شده به گزارش واحد؛ در انتظار تأیید شما",
    S.AWAITING_VERIFICATION: "در انتظار تأیید شما",
    S.VERIFIED: "مشکل با تأیید شما رفع شد",
    S.REOPENED: "بازگشایی‌شده؛ دوباره نزد واحد",
    S.DISPUTED: "در انتظار بازدید ناظر میدانی",
    S.CLOSED_ON_VERDICT: "بسته‌شده با رأی ناظر میدانی",
    S.CANCELLED: "لغوشده",
})

# Wrong tries before a minute's pause: a person mistyping a digit or two gets through; a script trying the
# 10 000 endings of one code, or many codes from one address, does not. Only failures count.
LOOKUP_BY_ADDRESS = RateRule("track-address", 5, timedelta(minutes=1))
LOOKUP_BY_CODE = RateRule("track-code", 5, timedelta(minutes=1))
NO_MATCH = "کد رهگیری یا چهار رقم آخر شماره همراه درست نیست."
TOO_MANY_TRIES = "تلاش‌های نادرست بیش از حد مجاز بود؛ یک دقیقه دیگر دوباره تلاش کنید."
DIGITS = 4


@dataclass(frozen=True)
class TimelineStep:
    date: str  # Jalali, Persian digits
    time: str
    label: str
    unit_name: str  # the unit the step handed the request to, when it did


@dataclass(frozen=True)
class Timeline:
    tracking_code: str  # for reading: Persian digits in groups of three
    category_name: str
    unit_name: str
    status_label: str
    closed: bool  # the status label is the outcome
    steps: list[TimelineStep]


def public_timeline(session: Session, ticket: Ticket) -> Timeline:
    """The citizen's view of the ticket: its filing, then each step, oldest first."""
    rows = session.exec(select(TicketTransition).where(TicketTransition.ticket_id == ticket.id)
                        .order_by(col(TicketTransition.at), col(TicketTransition.id))).all()
    steps = [_step(ticket.created_at, FILED_LABEL, "")]
    steps.extend(_step(row.at, _label(row), _unit_name(session, row.to_unit_id) if _hands_over(row) else "")
                 for row in rows)
    category = session.get(Category, ticket.category_id) if ticket.category_id else None
    return Timeline(
        tracking_code=persian_digits(format_for_reading(ticket.tracking_code)),
        category_name=category.name if category else "", unit_name=_unit_name(session, ticket.unit_id),
        status_label=PUBLIC_STATUS_LABELS[ticket.status], closed=ticket.status in FINAL_STATUSES, steps=steps,
    )


def _step(at: datetime, label: str, unit_name: str) -> TimelineStep:
    date, time = jalali_timestamp(at)
    return TimelineStep(date=date, time=time, label=label, unit_name=unit_name)


def _label(row: TicketTransition) -> str:
    label = PUBLIC_STEP_LABELS[row.action]
    return f"{label}: {VERDICT_LABELS[row.verdict]}" if row.verdict is not None else label


def _hands_over(row: TicketTransition) -> bool:
    return row.action in (A.REFER, A.RE_REFER)


def _unit_name(session: Session, unit_id: int | None) -> str:
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return unit.name if unit else ""


def look_up(
    session: Session, limiter: RateLimiter, *, tracking_code: str, mobile_digits: str, address: str, now: datetime,
) -> Ticket:
    """The ticket whose code this is and whose mobile ends in these digits (Persian or ASCII). Every failure
    (no such code, other digits, an anonymous ticket: the same answer for all) counts against the client address
    and the code; past the limit even the right digits are refused until the window ends."""
    code = "".join(ch for ch in ascii_digits(tracking_code) if ch.isdigit())
    for rule, value in ((LOOKUP_BY_ADDRESS, address), (LOOKUP_BY_CODE, code)):
        limiter.check(session, rule, value, now=now).raise_if_refused(TOO_MANY_TRIES)
    ticket = _matching(session, code, mobile_digits)
    if ticket is None:
        for rule, value in ((LOOKUP_BY_ADDRESS, address), (LOOKUP_BY_CODE, code)):
            limiter.hit(session, rule, value, now=now)
        raise NotFound(NO_MATCH)
    return ticket


def _matching(session: Session, code: str, mobile_digits: str) -> Ticket | None:
    digits = ascii_digits(mobile_digits).strip()
    if len(digits) != DIGITS or not digits.isdigit():
        return None
    try:
        ticket = find_by_tracking_code(session, code)
    except PasokhError:  # a malformed code or none: a failure like any other
        return None
    number = ticket.caller_number or ""
    if ticket.anonymous or len(number) < DIGITS or not number.isdigit():
        return None  # an anonymous ticket opens only by its link or receipt
    return ticket if number[-DIGITS:] == digits else None

