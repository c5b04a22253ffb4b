"""Filing a complaint from a complete draft: every field checked together (each wrong one its own Persian message),
the tracking code of the complaints' series, the desk, the ground's due date, the linked 137 tickets, the draft's
files moved over, and the identity sealed (named) or a receipt made and only its hash kept (anonymous).

The draft's id is the idempotency key: the same draft submitted twice, even at once, files one complaint. The
steps' own checks (the form's «next» buttons) are the same functions, so a rule lives in one place (ADR 0064)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jdatetime
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from callcenter.citizens.phone_codes import PhoneCodes, mobile_number
from callcenter.citizens.web_filing import AnonymousBudget, form_refused
from callcenter.complaints import access, receipts
from callcenter.complaints.drafts import Drafts, channel_of, delete_after_filing
from callcenter.complaints.identity import Identity, seal
from callcenter.complaints.names import GROUND_NAMES
from callcenter.complaints.tracking_code import format_for_reading, new_complaint_code
from callcenter.platform.calendar import jalali_date
from callcenter.platform.errors import InvalidTrackingCode, ValidationFailed
from callcenter.platform.persian import ascii_digits, persian_digits
from callcenter.platform.service_hours import load_holidays
from callcenter.platform.settings import Settings
from callcenter.platform.working_days import working_days_after
from callcenter.tickets.tracking_code import parse_tracking_code
from db.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintChannel,
    ComplaintDraft,
    ComplaintGround,
    ComplaintGroundSla,
    ComplaintTicketLink,
    SmsMessage,
    Ticket,
    Unit,
    UnitKind,
)

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 4000
MAX_PLACE = 500
MAX_NAME = 200
MAX_PERSONNEL_CODE = 16
MAX_LINKED_TICKETS = 10
YEARS_BACK = 10  # how far back the date's year list goes
CODE_TRIES = 5

PICK_UNIT = "واحدی را که شکایت دربارهٔ آن است انتخاب کنید."
NAME_TOO_LONG = f"حداکثر {persian_digits(MAX_NAME)} نویسه بنویسید."
BAD_PERSONNEL_CODE = f"کد پرسنلی فقط رقم است و حداکثر {persian_digits(MAX_PERSONNEL_CODE)} رقم."
PICK_GROUND = "موضوع شکایت را انتخاب کنید."
WRITE_DESCRIPTION = "بنویسید چه اتفاقی افتاده است."
DESCRIPTION_TOO_LONG = f"شرح حداکثر {persian_digits(MAX_DESCRIPTION)} نویسه است."
PLACE_TOO_LONG = f"محل حداکثر {persian_digits(MAX_PLACE)} نویسه است."
BAD_DATE = "تاریخ درست نیست؛ روز، ماه و سال را انتخاب کنید یا هر سه را خالی بگذارید."
FUTURE_DATE = "تاریخ رویداد نمی‌تواند بعد از امروز باشد."
TOO_MANY_TICKETS = f"حداکثر {persian_digits(MAX_LINKED_TICKETS)} کد رهگیری ۱۳۷ می‌توانید بنویسید."
NO_SUCH_TICKET = "درخواستی با کد رهگیری {code} در سامانهٔ ۱۳۷ پیدا نشد."
PICK_IDENTITY = "انتخاب کنید که شکایت با نام ثبت شود یا بی‌نام."
WRITE_NAME = "نام و نام خانوادگی خود را بنویسید."
VERIFY_MOBILE = "شمارهٔ همراه هنوز تأیید نشده است؛ کد تأیید را بفرستید و بنویسید."
ANONYMOUS_THROTTLED = "از این اتصال شکایت‌های بی‌نام زیادی ثبت شده است؛ {wait} دیگر دوباره تلاش کنید."
FILED_SMS = "شکایت شما در مدیریت بازرسی شهرداری ثبت شد. کد پیگیری: {code}"

NAMED, ANONYMOUS = "named", "anonymous"
# Which step each field is typed in: a refusal at the review links each message to its step.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "target": ("unit_id", "person_name", "person_role", "personnel_code"),
    "ground": ("ground",),
    "story": ("description", "day", "month", "year", "place", "ticket_codes"),
    "files": (),
    "identity": ("identity", "name", "mobile"),
    "meeting": ("meeting",),
}
STEP_OF_FIELD = ({name: step for step, names in STEP_FIELDS.items() for name in names}
                 | {"code": "identity", "date": "story", "attachments": "files"})
_SEPARATORS = re.compile(r"[\s,،؛;]+")


@dataclass(frozen=True)
class UnitChoice:
    value: int
    label: str  # the unit's path in the tree: «معاونت … › منطقهٔ ۱ › …»
    kind: UnitKind


def unit_tree(session: Session) -> list[UnitChoice]:
    """Every unit in tree order (deputy → district → organisation → department), each labelled with its path."""
    units = session.exec(select(Unit).order_by(col(Unit.name))).all()
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    known = {unit.id for unit in units}
    roots = [unit for unit in units if unit.parent_id is None or unit.parent_id not in known]
    ordered: list[UnitChoice] = []

    def walk(unit: Unit, path: str, seen: frozenset[int]) -> None:
        assert unit.id is not None
        label = f"{path} › {unit.name}" if path else unit.name
        ordered.append(UnitChoice(unit.id, label, unit.kind))
        for child in children.get(unit.id, []):
            if child.id not in seen:
                walk(child, label, seen | {unit.id})

    for root in roots:
        walk(root, "", frozenset())
    return ordered


def date_years(now: datetime) -> list[int]:
    """The years the date's year list offers: this Jalali year and ``YEARS_BACK`` before it."""
    this_year = jalali_date(now).year
    return list(range(this_year, this_year - YEARS_BACK - 1, -1))


@dataclass
class Checked:
    """What the checks made of the typed fields (only meaningful when ``errors`` is empty)."""

    errors: dict[str, str]
    unit_id: int | None = None
    person_name: str | None = None
    person_role: str | None = None
    personnel_code: str | None = None
    ground: ComplaintGround | None = None
    description: str = ""
    occurred_on: str | None = None
    place: str | None = None
    ticket_ids: tuple[int, ...] = ()
    anonymous: bool = False
    name: str = ""
    mobile: str | None = None
    meeting: bool = False


class _Checks:
    """Each step's rules; a field's first problem is kept, so the form shows them all at once."""

    def __init__(self, session: Session, fields: Mapping[str, str], now: datetime) -> None:
        self.session = session
        self.fields = fields
        self.now = now
        self.out = Checked(errors={})

    def value(self, name: str) -> str:
        return (self.fields.get(name, "") or "").strip()

    def refuse(self, name: str, message: str) -> None:
        self.out.errors.setdefault(name, message)

    def optional(self, name: str, limit: int, message: str) -> str | None:
        value = self.value(name)
        if len(value) > limit:
            self.refuse(name, message)
        return value or None

    def target(self) -> None:
        raw = ascii_digits(self.value("unit_id"))
        if not raw.isdigit() or self.session.get(Unit, int(raw)) is None:
            self.refuse("unit_id", PICK_UNIT)
        else:
            self.out.unit_id = int(raw)
        self.out.person_name = self.optional("person_name", MAX_NAME, NAME_TOO_LONG)
        self.out.person_role = self.optional("person_role", MAX_NAME, NAME_TOO_LONG)
        code = ascii_digits(self.value("personnel_code")).replace(" ", "")
        if code and (not code.isdigit() or len(code) > MAX_PERSONNEL_CODE):
            self.refuse("personnel_code", BAD_PERSONNEL_CODE)
        self.out.personnel_code = code or None

    def ground(self) -> None:
        raw = self.value("ground")
        if raw not in {ground.value for ground in GROUND_NAMES}:
            self.refuse("ground", PICK_GROUND)
        else:
            self.out.ground = ComplaintGround(raw)

    def story(self) -> None:
        description = self.value("description")
        if not description:
            self.refuse("description", WRITE_DESCRIPTION)
        elif len(description) > MAX_DESCRIPTION:
            self.refuse("description", DESCRIPTION_TOO_LONG)
        self.out.description = description
        self.out.place = self.optional("place", MAX_PLACE, PLACE_TOO_LONG)
        self.out.occurred_on = self._date()
        self.out.ticket_ids = self._tickets()

    def _date(self) -> str | None:
        parts = [ascii_digits(self.value(name)) for name in ("year", "month", "day")]
        if not any(parts):
            return None
        try:
            day = jdatetime.date(*(int(part) for part in parts))
        except ValueError:
            self.refuse("date", BAD_DATE)
            return None
        if day > jalali_date(self.now):
            self.refuse("date", FUTURE_DATE)
            return None
        return day.togregorian().isoformat()

    def _tickets(self) -> tuple[int, ...]:
        typed = [code for code in _SEPARATORS.split(ascii_digits(self.value("ticket_codes"))) if code]
        if len(typed) > MAX_LINKED_TICKETS:
            self.refuse("ticket_codes", TOO_MANY_TICKETS)
            return ()
        found: list[int] = []
        for raw in typed:
            try:
                code = parse_tracking_code(raw)
            except InvalidTrackingCode as refused:
                self.refuse("ticket_codes", f"«{persian_digits(raw)}»: {refused.message}")
                continue
            ticket_id = self.session.exec(select(Ticket.id).where(Ticket.tracking_code == code)).first()
            if ticket_id is None:
                self.refuse("ticket_codes", NO_SUCH_TICKET.format(code=persian_digits(code)))
            elif ticket_id not in found:
                found.append(ticket_id)
        return tuple(found)

    def identity(self) -> None:
        choice = self.value("identity")
        if choice not in (NAMED, ANONYMOUS):
            self.refuse("identity", PICK_IDENTITY)
            return
        self.out.anonymous = choice == ANONYMOUS
        if self.out.anonymous:
            return
        name = self.value("name")
        if not name:
            self.refuse("name", WRITE_NAME)
        elif len(name) > MAX_NAME:
            self.refuse("name", NAME_TOO_LONG)
        self.out.name = name
        try:
            self.out.mobile = mobile_number(self.value("mobile"))
        except ValidationFailed as refused:
            self.refuse("mobile", refused.message)

    def meeting(self) -> None:
        self.out.meeting = self.value("meeting") in ("1", "on", "yes", "true")


def check_step(session: Session, step: str, fields: Mapping[str, str], *, now: datetime) -> Checked:
    """One step's checks (the form's «next»): the same rules the filing applies."""
    checks = _Checks(session, fields, now)
    rule = getattr(checks, step, None) if step in STEP_FIELDS else None
    if callable(rule):
        rule()
    return checks.out


def check_all(session: Session, fields: Mapping[str, str], *, now: datetime) -> Checked:
    checks = _Checks(session, fields, now)
    for rule in (checks.target, checks.ground, checks.story, checks.identity, checks.meeting):
        rule()
    return checks.out


@dataclass(frozen=True)
class Filed:
    """The complaint a draft filed; ``receipt`` only on the one response that filed an anonymous complaint."""

    complaint: Complaint
    new: bool
    receipt: str | None = None


def complaint_by_request(session: Session, request_id: str) -> Complaint | None:
    """The complaint a draft already filed (its id is the request id), if any."""
    return session.exec(select(Complaint).where(Complaint.request_id == request_id)).first()


def complaint_by_code(session: Session, tracking_code: str) -> Complaint | None:
    """The complaint with this tracking code (ASCII digits, as :func:`parse_complaint_code` returns it)."""
    return session.exec(select(Complaint).where(Complaint.tracking_code == tracking_code)).first()


def phone_codes(settings: Settings) -> PhoneCodes:
    return PhoneCodes(secret=settings.secret_key, per_address_hour=settings.phone_codes_per_address_hour)


def anonymous_budget(settings: Settings) -> AnonymousBudget:
    return AnonymousBudget(per_hour=settings.anonymous_complaints_per_address_hour, scope="anon-complaint",
                           refusal=ANONYMOUS_THROTTLED)


def file_complaint(
    session: Session, settings: Settings, draft: ComplaintDraft, *, session_token: str, address: str,
    now: datetime,
) -> Filed:
    """File ``draft``, or refuse with a Persian message per wrong field (``details["fields"]``).

    On the web a named complainant's mobile must have been verified by this browser session (the identity step);
    staff filing for a caller or a visitor type the number the citizen gives (ADR 0065). An anonymous web
    complaint spends the client address's budget (counted under the day's random key, never stored); staff's
    address is not counted. The caller commits."""
    if (twin := complaint_by_request(session, draft.id)) is not None:
        return Filed(twin, new=False)
    fields = Drafts(settings).fields(draft)
    checked = check_all(session, fields, now=now)
    if checked.errors:
        raise form_refused(checked.errors)
    channel = channel_of(draft)
    if not checked.anonymous and channel == ComplaintChannel.WEB:
        assert checked.mobile is not None
        if not phone_codes(settings).is_verified(session, mobile=checked.mobile, session_token=session_token,
                                                 now=now):
            raise form_refused({"code": VERIFY_MOBILE})
    if checked.anonymous and channel == ComplaintChannel.WEB:
        anonymous_budget(settings).spend(session, address=address, now=now)
    receipt = receipts.new_receipt() if checked.anonymous else None
    complaint = _insert(session, settings, draft, checked, channel=channel, receipt=receipt, now=now)
    if complaint is None:  # the twin of this very submit filed it a moment ago
        twin = complaint_by_request(session, draft.id)
        assert twin is not None
        return Filed(twin, new=False)
    assert complaint.id is not None
    session.add_all(ComplaintTicketLink(complaint_id=complaint.id, ticket_id=ticket_id)
                    for ticket_id in checked.ticket_ids)
    session.execute(sa.update(ComplaintAttachment).where(col(ComplaintAttachment.draft_id) == draft.id)
                    .values(draft_id=None, complaint_id=complaint.id))
    if checked.mobile is not None and not checked.anonymous:
        session.add(SmsMessage(
            to_number=checked.mobile, forget_number=True, dedup_key=f"complaint-code:{complaint.id}",
            body=FILED_SMS.format(code=persian_digits(format_for_reading(complaint.tracking_code))),
            created_at=now, next_attempt_at=now))
    delete_after_filing(session, draft)
    session.flush()
    log.info("Complaint %s filed (%s, %s)", complaint.tracking_code, channel.value,
             "anonymous" if checked.anonymous else "named")
    return Filed(complaint, new=True, receipt=receipt)


def _insert(session: Session, settings: Settings, draft: ComplaintDraft, checked: Checked, *,
            channel: ComplaintChannel, receipt: str | None, now: datetime) -> Complaint | None:
    """The complaint row under a fresh tracking code (another on the rare clash); None when a twin submit of the
    same draft holds the request id."""
    assert checked.unit_id is not None and checked.ground is not None
    sla = session.get(ComplaintGroundSla, checked.ground)
    due_at = (working_days_after(now, sla.working_days, load_holidays(settings.holidays_file))
              if sla is not None else None)
    sealed = (None if checked.anonymous or checked.mobile is None
              else seal(settings, Identity(name=checked.name, mobile=checked.mobile)))
    for _ in range(CODE_TRIES):
        complaint = Complaint(
            tracking_code=new_complaint_code(), desk=access.desk_for_target(session, checked.unit_id),
            target_unit_id=checked.unit_id, target_person_name=checked.person_name,
            target_person_role=checked.person_role, target_personnel_code=checked.personnel_code,
            ground=checked.ground, description=checked.description, occurred_on=checked.occurred_on,
            occurred_place=checked.place, channel=channel, anonymous=checked.anonymous, identity_sealed=sealed,
            receipt_hash=receipts.hash_receipt(receipt) if receipt is not None else None,
            meeting_requested=checked.meeting, filed_by_id=draft.filed_by_id, created_at=now, due_at=due_at,
            request_id=draft.id)
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
        except IntegrityError:
            if complaint_by_request(session, draft.id) is not None:
                return None
            continue  # the tracking code was taken: draw another
        return complaint
    raise RuntimeError("no free complaint tracking code after several tries")
