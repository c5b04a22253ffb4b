"""Years of demo data at a city's scale: tickets, their steps and calls, and the rows derived from them, by COPY."""

from __future__ import annotations

import enum
import logging
import math
import random
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.platform.errors import ConfigurationError
from callcenter.platform.lines import LINE_137, LINE_1888, PublicLine
from callcenter.platform.persian import normalize_text
from callcenter.tickets.lifecycle import next_status
from callcenter.tickets.store import DUPLICATE_WINDOW, address_words
from callcenter.tickets.tracking_code import verhoeff_check_digit
from callcenter.tickets.unit_receipts import rebuild_summaries
from db.engine import unit_of_work
from db.models import (
    ADDRESS_WORD_MAX_LENGTH,
    AT_A_UNIT,
    Category,
    CategoryDistrictUnit,
    FeedbackKind,
    FieldVerdict,
    Line,
    Role,
    TicketAction,
    TicketPriority,
    TicketSource,
    TicketStatus,
    Unit,
    UnitKind,
    User,
)

log = logging.getLogger(__name__)
A, S = TicketAction, TicketStatus

# --- the shape of the city's years (the realism choices are ADR 0083's) ---

TEHRAN_OFFSET = timedelta(hours=3, minutes=30)  # Iran keeps no daylight saving time since 2022
# Calls per hour of the Tehran day: quiet nights, the morning's peak, a second one after the afternoon.
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 10, 10, 11, 11, 10, 9, 8, 7, 5, 4, 3)
# Monday..Sunday (Python's weekday()): Thursday is half a working day, Friday the weekend.
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 0.8, 0.45, 1.05, 1.05)
STORM_DAY_SHARE = 0.02  # snow, floods, water cuts: a day with three times the calls
GROWTH = (0.7, 1.3)  # the line's use grows over the years: the first day's weight, the last day's

SOURCE_WEIGHTS = ((TicketSource.OPERATOR, 70), (TicketSource.WEB, 12), (TicketSource.OPEN311, 6),
                  (TicketSource.IN_PERSON, 6), (TicketSource.VOICE_MESSAGE, 6))
PRIORITY_WEIGHTS = ((TicketPriority.NORMAL, 85), (TicketPriority.HIGH, 12), (TicketPriority.URGENT, 3))
FEEDBACK_KINDS = {"انتقاد از کارکنان": FeedbackKind.CRITICISM, "پیشنهاد": FeedbackKind.SUGGESTION,
                  "قدردانی از کارکنان": FeedbackKind.APPRECIATION}
FEEDBACK_SHARE = 0.08  # of tickets, on 1888
ANONYMOUS_FEEDBACK_SHARE = 0.3
REPEAT_CALLER_SHARE = 0.3  # tickets from the few citizens who call about everything
EXTRA_CALLS_PER_TICKET = 0.25  # calls that filed nothing: abandoned, status questions, the IVR only
BACKLOG_SHARE = 0.015  # tickets a unit never finishes: they sit in its inbox, overdue, for years
MAX_STEPS_PER_TICKET = 24  # reserved ids per ticket (the longest path here is well under it)
ESCALATION_DELAY = timedelta(minutes=5)  # the escalation job's default interval

STREETS = ("فردوسی", "طالقانی", "خیام", "پیغمبریه", "نادری", "عدل", "سپه", "راه‌آهن", "نوروزیان", "بوعلی",
           "شهید بابایی", "مولوی", "تبریز", "دهخدا", "مینودر", "نواب", "ولیعصر", "امام خمینی", "سعدی", "حافظ",
           "جانبازان", "شهید رجایی", "عبید زاکانی", "شهید انصاری", "پادگان", "خرمشهر", "فلسطین", "کشاورز",
           "ملاصدرا", "شهید مطهری", "آزادی", "نخبگان", "اسدآبادی", "شهید چمران", "شهید بهشتی", "توحید",
           "بلاغی", "دانشگاه", "کوثر", "نوروزیان شمالی", "هلال احمر", "سلامگاه", "منتظری", "خاقانی", "ارشاد",
           "شهید باهنر", "بهار", "گلستان", "مدرس", "عارف قزوینی")
ALLEYS = ("لاله", "نسترن", "یاس", "شقایق", "نرگس", "اقاقیا", "سرو", "چنار", "بهارستان", "گلها", "امید",
          "مهر", "ارغوان", "صنوبر", "پروین", "شهید کاظمی", "شهید صادقی", "رضوان", "فجر", "سپیده")
LANDMARKS = ("روبروی مدرسه", "جنب نانوایی", "نبش پارک", "کنار مسجد", "روبروی درمانگاه", "جنب بانک")
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "جمع‌آوری زباله": ("سطل زباله پر است و زباله‌ها در کوچه ریخته", "زباله از دیروز جمع‌آوری نشده",
                       "بوی بد مخزن زباله آزاردهنده است"),
    "نظافت و رفت‌وروب معابر": ("پیاده‌رو کثیف است و جارو نشده", "برگ و خاک جوی را پر کرده"),
    "نخاله و مصالح ساختمانی رهاشده": ("نخاله ساختمانی کنار خیابان رها شده", "مصالح ساختمانی پیاده‌رو را بسته"),
    "فضای سبز و پارک‌ها": ("چمن پارک آبیاری نمی‌شود", "وسایل بازی کودکان پارک شکسته"),
    "قطع و هرس درختان": ("شاخه درخت روی سیم برق افتاده", "درخت خشکیده خطر سقوط دارد"),
    "روشنایی معابر و پارک‌ها": ("چراغ روشنایی کوچه خاموش است", "تیر چراغ برق خم شده و روشن نمی‌شود",
                                "چراغ‌های پارک شب‌ها خاموش‌اند"),
    "آسفالت، چاله و ترمیم معابر": ("چاله بزرگ وسط خیابان است", "آسفالت بعد از حفاری ترمیم نشده"),
    "ترافیک، علائم و چراغ راهنمایی": ("چراغ راهنمایی چهارراه کار نمی‌کند", "تابلوی ایست افتاده"),
    "آب‌گرفتگی معابر و جوی‌ها": ("جوی آب گرفته و آب به خیابان آمده", "آب‌گرفتگی زیرگذر بعد از باران"),
    "سد معبر و دستفروشی": ("دستفروش‌ها پیاده‌رو را بسته‌اند", "مغازه اجناس را روی پیاده‌رو چیده"),
    "حیوانات بلاصاحب": ("سگ‌های بلاصاحب در کوچه هستند", "گربه مرده در جوی افتاده"),
    "انتقاد از کارکنان": ("مأمور شهرداری با شهروند بدرفتاری کرد", "کارمند دفتر منطقه پاسخگو نبود"),
    "پیشنهاد": ("پیشنهاد ایجاد پارک محله در زمین خالی", "پیشنهاد نصب سرعت‌گیر جلوی مدرسه"),
    "قدردانی از کارکنان": ("از رفتار خوب پاکبان محله تشکر می‌کنم", "از پیگیری سریع کارشناس منطقه سپاسگزارم"),
}
SINCE = ("", "", " از دیروز", " چند روز است", " از هفته پیش", " هر شب")
DONE_NOTES = tuple(normalize_text(n) for n in ("کار انجام شد و محل بازدید شد", "اکیپ اعزام و مشکل رفع شد",
                                               "تعمیر انجام شد"))
NOTES: dict[TicketAction, str] = {
    A.DECLINE: "این درخواست در حوزه این واحد نیست",
    A.CANCEL: "درخواست تکراری است؛ همان مورد پیش‌تر ثبت شده",
    A.VERIFY_NOT_RESOLVED: "شهروند می‌گوید مشکل هنوز برطرف نشده",
    A.DISPUTE: "کار طبق دستورالعمل انجام شده است",
}
NOTES = {action: normalize_text(note) for action, note in NOTES.items()}
PARTLY_NOTE = normalize_text("بخشی از کار مانده است")
MOBILE_PREFIXES = ("0912", "0919", "0935", "0936", "0901", "0990", "0921", "0939", "0913", "0937")
CALL_CHANNEL = "PJSIP/trunk-{:08x}"

# Tracking codes: the ticket id through an affine permutation of the eight-digit bodies (first digit never 0),
# then the Verhoeff digit. Distinct ids give distinct codes (the multiplier is prime to the space), so a batch
# needs no round trip to learn which codes are free; those the app's random codes already took are replaced.
_CODE_SPACE = 90_000_000
_CODE_MULTIPLIER = 48_271_003  # prime to 2, 3 and 5, the space's factors
_CODE_OFFSET = 31_415_926


def tracking_code_of(ticket_id: int) -> str:
    """The generated ticket's tracking code (nine digits, valid check digit), distinct for distinct ids."""
    body = str(10_000_000 + (ticket_id * _CODE_MULTIPLIER + _CODE_OFFSET) % _CODE_SPACE)
    return body + verhoeff_check_digit(body)


def caller_number_of(index: int) -> str:
    """The ``index``-th citizen's mobile (ASCII digits, national form); distinct for distinct indexes."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    return prefix + f"{(index // len(MOBILE_PREFIXES) * 7_919_993 + 4_242_424) % 10_000_000:07d}"


def busiest_caller_number() -> str:
    """The citizen who called most (the first of the repeat callers): a long screen-pop history."""
    return caller_number_of(0)


@dataclass(frozen=True)
class DemoDataOptions:
    tickets: int
    years: float = 2.0
    seed: int = 137
    batch: int = 20_000  # tickets per COPY transaction
    now: datetime | None = None


@dataclass
class DemoDataReport:
    tickets: int = 0
    transitions: int = 0
    calls: int = 0
    address_words: int = 0
    verification_tasks: int = 0
    escalations: int = 0
    first_ticket_id: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{self.tickets} tickets, {self.transitions} steps, {self.calls} calls, {self.address_words} "
                f"address words, {self.verification_tasks} verification tasks, {self.escalations} escalations "
                f"in {self.seconds:.0f} s")


# --- what the seed and the staff give the generator ---


@dataclass(frozen=True)
class _CategoryInfo:
    id: int
    name: str
    line: str
    sla: timedelta
    default_unit_id: int
    descriptions: tuple[str, ...]


@dataclass(frozen=True)
class _Reference:
    categories: tuple[_CategoryInfo, ...]
    feedback: tuple[_CategoryInfo, ...]
    districts: tuple[int, ...]
    overrides: dict[tuple[int, int], int]
    other_units: tuple[int, ...]
    staff: dict[Role, tuple[tuple[int, str | None], ...]]  # (id, extension) of active accounts per role
    liaisons: dict[int, int]  # unit id → a liaison's account id

    @classmethod
    def load(cls, session: Session) -> _Reference:
        rows = session.exec(select(Category).where(col(Category.default_unit_id).is_not(None))).all()
        infos = [_CategoryInfo(id=c.id, name=c.name, line=c.line.value, sla=timedelta(hours=c.sla_hours),
                               default_unit_id=c.default_unit_id,
                               descriptions=tuple(normalize_text(d) for d in DESCRIPTIONS.get(c.name, (c.name,))))
                 for c in rows if c.id is not None and c.default_unit_id is not None]
        units = session.exec(select(Unit)).all()
        districts = tuple(u.id for u in units if u.kind == UnitKind.DISTRICT and u.id is not None)
        if not infos or not districts:
            raise ConfigurationError("demo-data needs the reference data first: run `python -m callcenter seed`")
        staff: dict[Role, list[tuple[int, str | None]]] = {}
        liaisons: dict[int, int] = {}
        for user in session.exec(select(User).where(col(User.is_active))).all():
            assert user.id is not None
            staff.setdefault(user.role, []).append((user.id, user.extension))
            if user.role == Role.UNIT_LIAISON and user.unit_id is not None:
                liaisons.setdefault(user.unit_id, user.id)
        overrides = {(o.category_id, o.district_id): o.unit_id for o in session.exec(select(CategoryDistrictUnit))}
        return cls(categories=tuple(i for i in infos if i.line == Line.SERVICES.value),
                   feedback=tuple(i for i in infos if i.line == Line.FEEDBACK.value) or tuple(infos),
                   districts=districts, overrides=overrides,
                   other_units=tuple(u.id for u in units if u.id is not None and u.kind != UnitKind.DEPUTY),
                   staff={role: tuple(accounts) for role, accounts in staff.items()}, liaisons=liaisons)

    def actor(self, rng: random.Random, role: Role) -> tuple[int, str | None] | None:
        accounts = self.staff.get(role)
        return rng.choice(accounts) if accounts else None


# --- one ticket's life ---


@dataclass
class _Step:
    action: TicketAction
    at: datetime
    role: Role
    to_unit: int | None = None  # a referral's unit; None keeps the ticket's
    note: str = ""
    verdict: str | None = None


@dataclass
class _Life:
    """The steps a ticket will take, planned without regard to now (the plan is cut at now afterwards)."""

    steps: list[_Step] = field(default_factory=list)
    gave_up: bool = False  # the verification calls found nobody, the last round

    def add(self, action: TicketAction, at: datetime, role: Role, **extra: Any) -> datetime:
        self.steps.append(_Step(action, at, role, **extra))
        return at


def _hours(rng: random.Random, median: float, sigma: float = 0.8) -> timedelta:
    return timedelta(hours=median * math.exp(rng.gauss(0, sigma)))


def _plan_life(rng: random.Random, *, filed: datetime, referral_role: Role, sla: timedelta, unit: int,
               has_caller: bool, online: bool, other_unit: Callable[[], int]) -> _Life:
    life = _Life()
    sla_h = sla.total_seconds() / 3600
    at = life.add(A.REFER, filed + timedelta(seconds=rng.uniform(1, 20)), referral_role, to_unit=unit)
    draw = rng.random()
    if draw < 0.05:  # a duplicate, withdrawn by a supervisor
        life.add(A.CANCEL, at + _hours(rng, 6), Role.SUPERVISOR, note=NOTES[A.CANCEL])
        return life
    if draw < 0.09:  # not this unit's: handed back, then referred where it belongs
        at = life.add(A.DECLINE, at + _hours(rng, 3), Role.UNIT_LIAISON, note=NOTES[A.DECLINE])
        at = life.add(A.REFER, at + _hours(rng, 1), Role.OPERATOR, to_unit=other_unit())
    elif draw < 0.11:  # the call center moves it before the unit looked
        at = life.add(A.RE_REFER, at + _hours(rng, 2), Role.SUPERVISOR, to_unit=other_unit())
    if rng.random() < BACKLOG_SHARE:
        if rng.random() < 0.5:
            life.add(A.ACCEPT, at + _hours(rng, sla_h * 0.1), Role.UNIT_LIAISON)
        return life
    for verification_round in range(3):
        at = life.add(A.ACCEPT, at + _hours(rng, sla_h * 0.1), Role.UNIT_LIAISON)
        at = life.add(A.REPORT_DONE, at + _hours(rng, sla_h * 0.4, 0.7), Role.UNIT_LIAISON, note=rng.choice(DONE_NOTES))
        if not has_caller:
            return life  # nobody to ask: it stays "done"
        asker = Role.CITIZEN if online else Role.OPERATOR
        at = life.add(A.REQUEST_VERIFICATION, at + _hours(rng, 8, 0.6), asker)
        if rng.random() < 0.04:
            life.gave_up = True
            return life
        at += timedelta(minutes=rng.uniform(1, 240) if online else rng.uniform(0.5, 4))
        if verification_round == 2 or rng.random() < 0.86:
            life.add(A.VERIFY_RESOLVED, at, asker)
            return life
        at = life.add(A.VERIFY_NOT_RESOLVED, at, asker, note=NOTES[A.VERIFY_NOT_RESOLVED])
        if rng.random() < 0.3:  # the unit objects; a field supervisor goes to see
            at = life.add(A.DISPUTE, at + _hours(rng, 10), Role.UNIT_LIAISON, note=NOTES[A.DISPUTE])
            verdict = rng.choice(("unit_right", "unit_right", "citizen_right", "partly"))
            at = life.add(A.FIELD_VERDICT, at + _hours(rng, 48), Role.FIELD_SUPERVISOR, verdict=verdict,
                          note=PARTLY_NOTE if verdict == "partly" else "")
            if verdict == "unit_right":
                return life
    return life


# --- the rows of a batch, as COPY's text format ---


def _copy_value(value: object) -> str:
    """One value in COPY's text format (most are strings and ints: tested first)."""
    kind = value.__class__
    if kind is str or kind is int or isinstance(value, enum.StrEnum):
        text = str(value)
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return text
    if value is None:
        return "\\N"
    if kind is datetime:
        return value.isoformat(" ")  # type: ignore[attr-defined]
    if kind is bool:
        return "t" if value else "f"
    return str(value)


class _Table:
    """A table's rows of one batch, kept as COPY text lines."""

    def __init__(self, name: str, columns: Sequence[str]) -> None:
        self.name, self.columns = name, tuple(columns)
        self.lines: list[str] = []

    def add(self, *values: object) -> None:
        self.lines.append("\t".join(_copy_value(v) for v in values) + "\n")

    def copy_into(self, cursor: Any) -> int:
        if not self.lines:
            return 0
        with cursor.copy(f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN") as copy:
            for start in range(0, len(self.lines), 5000):
                copy.write("".join(self.lines[start:start + 5000]))
        count = len(self.lines)
        self.lines.clear()
        return count


def _tables() -> dict[str, _Table]:
    return {
        "call": _Table("call", ("id", "linkedid", "line", "caller_number", "channel", "started_at", "queue_name",
                                "queued_at", "answered_at", "ended_at", "operator_id", "operator_extension",
                                "outcome", "feedback_kind", "personnel_code", "anonymous", "recording",
                                "transferred_to")),
        "ticket": _Table("ticket", ("id", "tracking_code", "address", "description", "category_id", "unit_id", "line",
                                    "source", "caller_number", "call_id", "created_by_id", "status", "created_at",
                                    "request_id", "feedback_kind", "personnel_code", "anonymous", "recording",
                                    "district_id", "priority", "latitude", "longitude", "referred_at",
                                    "unit_deadline")),
        "ticket_transition": _Table("ticket_transition", (
            "id", "ticket_id", "from_status", "to_status", "action", "actor_id", "actor_role", "note", "from_unit_id",
            "to_unit_id", "verdict", "at")),
        "ticket_address_word": _Table("ticket_address_word", ("ticket_id", "word", "category_id", "created_at")),
        "verification_task": _Table("verification_task", (
            "id", "ticket_id", "status", "mode", "requested_by_id", "attempts", "next_attempt_at", "created_at",
            "closed_at", "outcome")),
        "ticket_escalation": _Table("ticket_escalation", ("id", "ticket_id", "unit_id", "round_step_id", "deadline",
                                                          "escalated_at")),
    }


# Tables whose ids the generator assigns itself, and how many ids it reserves per ticket for each.
_ID_TABLES = {"ticket": 1, "call": 2, "ticket_transition": MAX_STEPS_PER_TICKET, "verification_task": 4,
              "ticket_escalation": 8}


class _Ids:
    def __init__(self, starts: dict[str, int]) -> None:
        self._next = dict(starts)

    def peek(self, table: str) -> int:
        return self._next[table]

    def take(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value


# --- the generator ---


@dataclass(frozen=True)
class _Standing:
    """Where a generated ticket stands after its steps up to now."""

    status: TicketStatus
    unit: int
    referred_at: datetime | None


class _Generator:
    def __init__(self, reference: _Reference, options: DemoDataOptions, now: datetime, ids: _Ids) -> None:
        self.ref, self.options, self.now, self.ids = reference, options, now, ids
        self.rng = random.Random(options.seed)
        self.tables = _tables()
        self.report = DemoDataReport()
        self.word_window_start = now - DUPLICATE_WINDOW
        self.heavy_callers = max(1000, options.tickets // 50)
        self.callers = max(100, options.tickets // 2)

    # The filing moments, oldest first: days weighted by growth, weekday and storms, hours by the Tehran day (today
    # only the hours gone by).
    def moments(self) -> Iterator[datetime]:
        rng, total = self.rng, self.options.tickets
        days = max(1, round(self.options.years * 365))
        local_now = self.now + TEHRAN_OFFSET
        today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        hours_today = [w if hour <= local_now.hour else 0 for hour, w in enumerate(HOUR_WEIGHTS)]
        weights = []
        for day in range(days + 1):
            local = today - timedelta(days=days - day)
            growth = GROWTH[0] + (GROWTH[1] - GROWTH[0]) * day / days
            storm = 3.0 if rng.random() < STORM_DAY_SHARE else 1.0
            elapsed = sum(hours_today) / sum(HOUR_WEIGHTS) if day == days else 1.0
            weights.append(growth * WEEKDAY_WEIGHTS[local.weekday()] * storm * elapsed)
        scale = total / sum(weights)
        produced, carry = 0, 0.0
        for day, weight in enumerate(weights):
            carry += weight * scale
            count = min(int(carry) if day < days else total - produced, total - produced)
            carry -= count
            start = today - timedelta(days=days - day) - TEHRAN_OFFSET
            hour_weights = hours_today if day == days else HOUR_WEIGHTS
            produced += count
            yield from sorted(
                min(start + timedelta(hours=hour, seconds=rng.uniform(0, 3600)), self.now - timedelta(seconds=1))
                for hour in rng.choices(range(24), weights=hour_weights, k=count))

    def caller(self) -> str:
        rng = self.rng
        if rng.random() < REPEAT_CALLER_SHARE:  # a few citizens, the first ones most of all
            return caller_number_of(int(self.heavy_callers * rng.random() ** 2))
        return caller_number_of(self.heavy_callers + rng.randrange(self.callers))

    def address(self) -> str:
        rng = self.rng
        parts = [f"خیابان {rng.choice(STREETS)}"]
        if rng.random() < 0.8:
            parts.append(f"کوچه {rng.choice(ALLEYS)}" if rng.random() < 0.6 else f"کوچه {rng.randint(1, 40)}")
        if rng.random() < 0.3:
            parts.append(rng.choice(LANDMARKS))
        elif rng.random() < 0.6:
            parts.append(f"پلاک {rng.randint(1, 180)}")
        return normalize_text("، ".join(parts))

    def unit_for(self, category: _CategoryInfo, district: int) -> int:
        return self.ref.overrides.get((category.id, district), category.default_unit_id)

    def other_unit(self, avoid: int) -> Callable[[], int]:
        def pick() -> int:
            choices = [u for u in self.ref.other_units if u != avoid] or [avoid]
            return self.rng.choice(choices)
        return pick

    def ticket(self, filed: datetime) -> None:
        rng, ref = self.rng, self.ref
        feedback = rng.random() < FEEDBACK_SHARE
        category = rng.choice(ref.feedback if feedback else ref.categories)
        source = TicketSource.OPERATOR if feedback else rng.choices(
            [s for s, _ in SOURCE_WEIGHTS], weights=[w for _, w in SOURCE_WEIGHTS])[0]
        anonymous = feedback and rng.random() < ANONYMOUS_FEEDBACK_SHARE
        caller = None if anonymous or (source == TicketSource.OPEN311 and rng.random() < 0.5) else self.caller()
        district = rng.choice(ref.districts)
        unit = self.unit_for(category, district)
        ticket_id = self.ids.take("ticket")
        call_id = self.call_for(filed, category, source, caller, anonymous, feedback) \
            if source in (TicketSource.OPERATOR, TicketSource.VOICE_MESSAGE) else None
        creator = ref.actor(rng, Role.DESK if source == TicketSource.IN_PERSON else Role.OPERATOR)
        # The citizens' channels and the IVR's recorded messages file with nobody's account.
        creator_id = creator[0] if creator and source in (TicketSource.OPERATOR, TicketSource.IN_PERSON) else None
        referral_role = {TicketSource.WEB: Role.CITIZEN, TicketSource.OPEN311: Role.CITIZEN,
                         TicketSource.IN_PERSON: Role.DESK}.get(source, Role.OPERATOR)
        created = filed
        if source == TicketSource.VOICE_MESSAGE:  # classified and referred by an operator later
            filed = filed + _hours(rng, 2)
        life = _plan_life(rng, filed=filed, referral_role=referral_role, sla=category.sla, unit=unit,
                          has_caller=caller is not None, online=source == TicketSource.WEB and rng.random() < 0.5,
                          other_unit=self.other_unit(unit))
        final = self.steps(ticket_id, life, category, unit, has_caller=caller is not None)
        address = self.address()
        description = normalize_text(rng.choice(category.descriptions) + rng.choice(SINCE))
        located = source in (TicketSource.WEB, TicketSource.OPEN311)
        self.tables["ticket"].add(
            ticket_id, tracking_code_of(ticket_id), address, description, category.id, final.unit, category.line,
            source.value, caller, call_id, creator_id,
            final.status.value, created, None, FEEDBACK_KINDS.get(category.name), None, anonymous, None, district,
            rng.choices([p for p, _ in PRIORITY_WEIGHTS], weights=[w for _, w in PRIORITY_WEIGHTS])[0].value,
            round(36.27 + rng.uniform(-0.03, 0.03), 6) if located else None,
            round(50.00 + rng.uniform(-0.05, 0.05), 6) if located else None,
            final.referred_at, final.referred_at + category.sla if final.referred_at else None)
        if created >= self.word_window_start:
            for word in sorted({w[:ADDRESS_WORD_MAX_LENGTH] for w in address_words(address)}):
                self.tables["ticket_address_word"].add(ticket_id, word, category.id, created)
                self.report.address_words += 1
        for _ in range(int(EXTRA_CALLS_PER_TICKET) + (rng.random() < EXTRA_CALLS_PER_TICKET % 1)):
            self.unfiled_call(filed)
        self.report.tickets += 1

    def call_for(self, filed: datetime, category: _CategoryInfo, source: TicketSource, caller: str | None,
                 anonymous: bool, feedback: bool) -> int:
        rng = self.rng
        line = LINE_1888 if feedback else LINE_137
        if source == TicketSource.VOICE_MESSAGE:  # nobody free: the caller left a message after waiting
            queued = filed - timedelta(seconds=rng.uniform(60, 200))
            return self.call(line, caller or "", queued - timedelta(seconds=rng.uniform(15, 40)), queued, None,
                             filed, "voice_message", anonymous, feedback)
        answered = filed - timedelta(seconds=rng.uniform(40, 240))
        queued = answered - timedelta(seconds=rng.expovariate(1 / 25))
        return self.call(line, caller or "", queued - timedelta(seconds=rng.uniform(15, 45)), queued, answered,
                         filed + timedelta(seconds=rng.uniform(5, 90)), "answered", anonymous, feedback)

    def unfiled_call(self, around: datetime) -> None:
        rng = self.rng
        started = min(around + timedelta(minutes=rng.uniform(-60, 60)), self.now - timedelta(seconds=5))
        outcome = rng.choices(("abandoned", "answered", "ivr_only", "callback", "lines_busy"),
                              weights=(35, 40, 17, 5, 3))[0]
        queued = started + timedelta(seconds=rng.uniform(15, 45)) if outcome in ("abandoned", "answered",
                                                                                   "callback") else None
        answered = queued + timedelta(seconds=rng.expovariate(1 / 25)) if queued and outcome == "answered" else None
        ended = (answered + timedelta(seconds=rng.uniform(30, 200)) if answered
                 else (queued or started) + timedelta(seconds=rng.uniform(5, 90)))
        self.call(LINE_137, self.caller(), started, queued, answered, ended, outcome, False, False)

    def call(self, line: PublicLine, caller: str, started: datetime, queued: datetime | None, answered: datetime | None,
             ended: datetime, outcome: str, anonymous: bool, feedback: bool) -> int:
        call_id = self.ids.take("call")
        operator = self.ref.actor(self.rng, Role.OPERATOR) if answered else None
        self.tables["call"].add(
            call_id, f"{started.timestamp():.0f}.{call_id}", line.number, "" if anonymous else caller,
            CALL_CHANNEL.format(call_id), started, line.queue if queued else None, queued,
            answered, min(ended, self.now), operator[0] if operator else None,
            (operator[1] if operator else None) or ("1001" if answered else None), outcome,
            self.rng.choice(list(FeedbackKind)).value if feedback else None, None, anonymous, None, None)
        self.report.calls += 1
        return call_id

    def steps(self, ticket_id: int, life: _Life, category: _CategoryInfo, unit: int, *,
              has_caller: bool) -> _Standing:
        """Write the planned steps that happened by now (and the verification tasks and escalations they imply);
        return where the ticket stands."""
        status, holder, referred_at = S.REGISTERED, unit, None
        task: list[Any] | None = None  # the open verification task's row, written when it closes or at the end
        round_start: tuple[int, datetime] | None = None  # (step id, deadline) of the round at the unit
        transitions = self.tables["ticket_transition"]
        for step in life.steps:
            if step.at > self.now:
                break
            to_status = next_status(status, step.action, None if step.verdict is None else FieldVerdict(step.verdict))
            to_unit = step.to_unit if step.to_unit is not None else holder
            if round_start is not None and (to_status not in AT_A_UNIT or step.action in (A.REFER, A.RE_REFER)):
                self.escalation(ticket_id, holder, round_start, left_at=step.at)
                round_start = None
            actor = self.actor(step.role, to_unit)
            step_id = self.ids.take("ticket_transition")
            transitions.add(step_id, ticket_id, status, to_status, step.action, actor, step.role, step.note, holder,
                            to_unit, step.verdict, step.at)
            self.report.transitions += 1
            if step.action in (A.REFER, A.RE_REFER):
                referred_at = step.at
            if to_status in (S.REFERRED, S.REOPENED) and referred_at is not None:
                round_start = (step_id, referred_at + category.sla)
            if step.action == A.REPORT_DONE and has_caller and task is None:
                task = [self.ids.take("verification_task"), ticket_id, "pending", "manual", None, 0, step.at,
                        step.at, None, None]
            elif step.action == A.REQUEST_VERIFICATION and task is not None:
                task[5], task[6] = 1, step.at + timedelta(hours=2)
            elif step.action in (A.VERIFY_RESOLVED, A.VERIFY_NOT_RESOLVED) and task is not None:
                task[2], task[8] = "done", step.at
                task[9] = "resolved" if step.action == A.VERIFY_RESOLVED else "not_resolved"
                self.tables["verification_task"].add(*task)
                self.report.verification_tasks += 1
                task = None
            status, holder = to_status, to_unit
        if round_start is not None:
            self.escalation(ticket_id, holder, round_start, left_at=None)
        if task is not None:
            if life.gave_up and task[6] + timedelta(days=2) < self.now:
                task[2], task[5], task[9] = "gave_up", 3, "unreachable"
            self.tables["verification_task"].add(*task)
            self.report.verification_tasks += 1
        return _Standing(status=status, unit=holder, referred_at=referred_at)

    def actor(self, role: Role, unit: int) -> int | None:
        if role == Role.CITIZEN:
            return None
        if role == Role.UNIT_LIAISON:
            return self.ref.liaisons.get(unit)
        account = self.ref.actor(self.rng, role)
        return account[0] if account else None

    def escalation(self, ticket_id: int, unit: int, round_start: tuple[int, datetime], *,
                   left_at: datetime | None) -> None:
        """The escalation job's row for a round the unit let run past its deadline (once per round)."""
        step_id, deadline = round_start
        escalated_at = deadline + timedelta(seconds=self.rng.uniform(1, ESCALATION_DELAY.total_seconds()))
        if escalated_at > self.now or (left_at is not None and left_at <= escalated_at):
            return
        self.tables["ticket_escalation"].add(self.ids.take("ticket_escalation"), ticket_id, unit, step_id, deadline,
                                             escalated_at)
        self.report.escalations += 1


def generate_demo_data(engine: Engine, options: DemoDataOptions,
                       progress: Callable[[str], None] = log.info) -> DemoDataReport:
    """Fill a PostgreSQL database with ``options.tickets`` tickets filed over ``options.years`` up to now, their
    steps, calls, and every row the app's writers keep beside them; then ``rebuild_derived_summaries``.

    Ids are reserved first (each table's sequence moved past the range the generator will use), so the backend may
    keep running; each batch is one transaction, COPY per table."""
    if engine.dialect.name != "postgresql":
        raise ConfigurationError("demo-data writes millions of rows with PostgreSQL's COPY; on SQLite use "
                                 "`python -m callcenter seed --demo` (point DATABASE_URL at PostgreSQL for this)")
    if options.tickets < 1:
        raise ConfigurationError("--tickets must be at least 1")
    started = time.monotonic()
    now = (options.now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    with unit_of_work(engine) as session:
        reference = _Reference.load(session)
    ids = _Ids(_reserve_ids(engine, options.tickets))
    generator = _Generator(reference, options, now, ids)
    report = generator.report
    report.first_ticket_id = ids.peek("ticket")
    raw = engine.raw_connection()
    try:
        pending = 0
        for moment in generator.moments():
            generator.ticket(moment)
            pending += 1
            if pending >= options.batch:
                _write_batch(raw, generator.tables)
                pending = 0
                progress(f"{report.tickets}/{options.tickets} tickets ({time.monotonic() - started:.0f} s)")
        _write_batch(raw, generator.tables)
    finally:
        raw.close()
    rebuild_derived_summaries(engine)
    report.seconds = time.monotonic() - started
    return report


def _reserve_ids(engine: Engine, tickets: int) -> dict[str, int]:
    """Each table's first free id, its sequence moved past what this run may take (so the app's own inserts, if
    any meanwhile, draw ids above the range); the code space bounds the tickets."""
    starts: dict[str, int] = {}
    with engine.begin() as connection:
        for table, per_ticket in _ID_TABLES.items():
            connection.execute(sa.text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
            sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar()
            highest = connection.execute(sa.text(
                f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), "
                f"(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {sequence}))")).scalar_one()
            starts[table] = int(highest) + 1
            connection.execute(sa.text("SELECT setval(:s, :v)"), {"s": sequence, "v": highest + per_ticket * tickets})
    if starts["ticket"] + tickets > _CODE_SPACE:
        raise ConfigurationError("ticket ids would pass the nine-digit tracking codes' space")
    return starts


def _write_batch(raw: Any, tables: dict[str, _Table]) -> None:
    """One batch in one transaction; the ticket codes the app's random codes already took are replaced first."""
    cursor = raw.cursor()
    try:
        _replace_taken_codes(cursor, tables["ticket"])
        for name in ("call", "ticket", "ticket_transition", "ticket_address_word", "verification_task",
                     "ticket_escalation"):
            tables[name].copy_into(cursor)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        cursor.close()


def _replace_taken_codes(cursor: Any, tickets: _Table) -> None:
    codes = [line.split("\t", 2)[1] for line in tickets.lines]
    if not codes:
        return
    cursor.execute("SELECT tracking_code FROM ticket WHERE tracking_code = ANY(%s)", (codes,))
    taken = {row[0] for row in cursor.fetchall()}
    if not taken:
        return
    used = set(codes) | taken
    for index, line in enumerate(tickets.lines):
        ticket_id, code, rest = line.split("\t", 2)
        if code in taken:
            fresh = _random_code(used)
            used.add(fresh)
            tickets.lines[index] = f"{ticket_id}\t{fresh}\t{rest}"


def _random_code(used: set[str]) -> str:
    while True:
        body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(7))
        code = body + verhoeff_check_digit(body)
        if code not in used:
            return code


def rebuild_derived_summaries(engine: Engine) -> None:
    """After a bulk load: whatever the reports keep derived from the facts is rebuilt here (the
    scorecard's unit receipts, ADR 0082, from the steps just copied), then each table written is vacuumed and
    analysed. VACUUM, not only ANALYZE: rows just copied are not yet marked all-visible, so until autovacuum passes,
    every index-only scan (the inbox's counts per tab) reads the table's pages too, which a database years old would
    not do."""
    with unit_of_work(engine) as session:
        rebuild_summaries(session)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("call", "ticket", "ticket_transition", "ticket_address_word", "verification_task",
                      "ticket_escalation", "unit_receipt"):
            connection.execute(sa.text(f"VACUUM (ANALYZE) {table}"))
