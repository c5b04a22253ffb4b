"""The citizens' web forms filed as tickets: a 137 problem report with photos and an optional location, and 1888
feedback, named or anonymous. Each form's fields are checked together (every wrong field gets its own Persian
message), the mobile is verified by an SMS code, and the ticket is filed by the routing table like any channel's.

An anonymous 1888 message keeps nothing that leads to its sender: no mobile, no address, and the client address
is only counted against a budget, under a random key of the day that is deleted after two days (ADR 0056).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from callcenter.citizens.phone_codes import PhoneCodes, mobile_number, wait_in_words
from callcenter.platform.errors import RateLimited, ValidationFailed
from callcenter.platform.persian import ascii_digits, normalize_text, persian_digits
from callcenter.platform.rate_limits import RateLimiter, RateRule
from callcenter.tickets.attachments import MAX_PHOTOS, Photo, PhotoStore, Upload, check_photos
from callcenter.tickets.filing import file_from_channel
from callcenter.tickets.lifecycle import Citizen
from callcenter.tickets.sms import StatusLink
from callcenter.tickets.store import Submission
from db.models import (
    CLIENT_REQUEST_ID_PATTERN,
    AnonymousBudgetKey,
    Category,
    FeedbackKind,
    Line,
    Ticket,
    TicketAttachment,
    TicketCreate,
    TicketSource,
    Unit,
    UnitKind,
)

log = logging.getLogger(__name__)

MAX_ADDRESS = 500
MAX_DESCRIPTION = 4000
MAX_PERSONNEL_CODE = 16
# Anonymous 1888 messages per client address: a few an hour, four times that a day (ADR 0056).
ANONYMOUS_PER_HOUR = 3  # the default of PASOKH_ANONYMOUS_1888_PER_ADDRESS_HOUR
HOURS_A_DAY_ALLOWS = 4
# A day's key is kept while its windows count (the day, and the next for a window that straddles midnight).
BUDGET_KEY_DAYS = 2

SUMMARY = "فرم کامل یا درست نیست؛ پیام کنار هر خانه را ببینید."
PICK_CATEGORY = "موضوع را انتخاب کنید."
PICK_DISTRICT = "منطقهٔ شهرداری را انتخاب کنید."
WRITE_ADDRESS = "نشانی محل را بنویسید."
ADDRESS_TOO_LONG = f"نشانی حداکثر {persian_digits(MAX_ADDRESS)} نویسه است."
WRITE_DESCRIPTION = "شرح را بنویسید."
DESCRIPTION_TOO_LONG = f"شرح حداکثر {persian_digits(MAX_DESCRIPTION)} نویسه است."
BAD_LOCATION = "موقعیت روی نقشه درست نیست؛ دوباره انتخاب کنید یا خالی بگذارید."
PICK_KIND = "نوع پیام را انتخاب کنید: انتقاد، پیشنهاد یا قدردانی."
BAD_PERSONNEL_CODE = f"کد پرسنلی فقط رقم است و حداکثر {persian_digits(MAX_PERSONNEL_CODE)} رقم."
PICK_UNIT = "واحد انتخاب‌شده از واحدهای شهرداری نیست."
STALE_FORM = "این فرم کهنه است؛ صفحه را دوباره باز کنید."
ANONYMOUS_THROTTLED = "از این اتصال پیام‌های بی‌نام زیادی فرستاده شده است؛ {wait} دیگر دوباره تلاش کنید."
ABOUT_UNIT = "دربارهٔ واحد: {name}"


def form_refused(fields: Mapping[str, str]) -> ValidationFailed:
    """The form refused with a Persian message per wrong field (``details["fields"]``: field name → message)."""
    return ValidationFailed(SUMMARY, fields=dict(fields))


def field_errors(refused: ValidationFailed | RateLimited) -> dict[str, str]:
    """Field name → Persian message, for showing beside each field (``form``: about the whole form)."""
    fields = refused.details.get("fields")
    if isinstance(fields, dict):
        return {str(name): str(message) for name, message in fields.items()}
    return {str(refused.details.get("field") or "form"): refused.message}


def new_request_id() -> str:
    """The idempotency key a form is rendered with: the same form sent twice files one ticket."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Choice:
    value: int
    label: str


def report_categories(session: Session) -> list[Choice]:
    return _categories(session, Line.SERVICES)


def feedback_categories(session: Session) -> list[Choice]:
    return _categories(session, Line.FEEDBACK)


def _categories(session: Session, line: Line) -> list[Choice]:
    rows = session.exec(select(Category).where(Category.line == line).order_by(col(Category.name))).all()
    return [Choice(row.id, row.name) for row in rows if row.id is not None]


def districts(session: Session) -> list[Choice]:
    rows = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT).order_by(col(Unit.id))).all()
    return [Choice(row.id, row.name) for row in rows if row.id is not None]


def feedback_units(session: Session) -> list[Choice]:
    """Units a 1888 message may be about: every unit, the districts' offices included."""
    rows = session.exec(select(Unit).order_by(col(Unit.name))).all()
    return [Choice(row.id, row.name) for row in rows if row.id is not None]


@dataclass(frozen=True)
class Verifier:
    """Who is verifying a mobile: the phone codes service and this browser session's token."""

    codes: PhoneCodes
    session_token: str


class _Checker:
    """Collects each field's first problem, so the citizen sees them all at once."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = fields
        self.errors: dict[str, str] = {}

    def text(self, name: str) -> str:
        return normalize_text(self.fields.get(name, "") or "")

    def refuse(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def choice(self, name: str, allowed: Sequence[Choice], message: str, *, required: bool = True) -> int | None:
        raw = ascii_digits(self.fields.get(name, "") or "").strip()
        if not raw:
            if required:
                self.refuse(name, message)
            return None
        if not raw.isdigit() or int(raw) not in {choice.value for choice in allowed}:
            self.refuse(name, message)
            return None
        return int(raw)

    def bounded(self, name: str, *, empty: str | None, too_long: str, limit: int) -> str:
        value = self.text(name)
        if not value and empty is not None:
            self.refuse(name, empty)
        if len(value) > limit:
            self.refuse(name, too_long)
        return value

    def request_id(self) -> str:
        value = (self.fields.get("request_id", "") or "").strip()
        if not re.fullmatch(CLIENT_REQUEST_ID_PATTERN, value):
            self.refuse("request_id", STALE_FORM)
        return value

    def mobile(self) -> str | None:
        try:
            return mobile_number(self.fields.get("mobile", "") or "")
        except ValidationFailed as refused:
            self.refuse("mobile", refused.message)
            return None

    def location(self) -> tuple[float | None, float | None]:
        raw = [ascii_digits(self.fields.get(name, "") or "").strip() for name in ("latitude", "longitude")]
        if not any(raw):
            return None, None
        try:
            latitude, longitude = float(raw[0]), float(raw[1])
        except ValueError:
            self.refuse("location", BAD_LOCATION)
            return None, None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.refuse("location", BAD_LOCATION)
            return None, None
        return latitude, longitude

    def photos(self, uploads: Sequence[Upload]) -> list[Photo]:
        try:
            return check_photos(uploads)
        except ValidationFailed as refused:
            self.refuse("photos", refused.message)
            return []

    def done(self) -> None:
        if self.errors:
            raise form_refused(self.errors)


def _already_filed(session: Session, request_id: str) -> Submission | None:
    """The ticket this very form filed already (a double click, a retried post): shown again, nothing redone."""
    ticket = session.exec(select(Ticket).where(Ticket.request_id == request_id)).first()
    return Submission(ticket, new=False) if ticket is not None else None


def _verify_mobile(session: Session, verifier: Verifier, *, mobile: str, code: str, now: datetime) -> None:
    try:
        verifier.codes.ensure_verified(session, mobile=mobile, session_token=verifier.session_token, code=code,
                                       now=now)
    except ValidationFailed as refused:
        raise form_refused({"code": refused.message}) from refused


def file_report(
    session: Session, store: PhotoStore, verifier: Verifier, *, fields: Mapping[str, str],
    uploads: Sequence[Upload], now: datetime, status_link: StatusLink | None = None,
) -> Submission:
    """A 137 problem from the web form, with its photos (rows with no step and no staff uploader), or a
    refusal naming each wrong field (:func:`form_refused`). The phone code's tries are written before the
    refusal: commit them either way.

    The ticket and its photo rows are written in a savepoint, so a refusal while filing leaves the rest of the
    caller's transaction (the verified mobile) intact, and no file behind."""
    check = _Checker(fields)
    request_id = check.request_id()
    if not check.errors and (twin := _already_filed(session, request_id)) is not None:
        return twin
    category_id = check.choice("category_id", report_categories(session), PICK_CATEGORY)
    district_id = check.choice("district_id", districts(session), PICK_DISTRICT)
    address = check.bounded("address", empty=WRITE_ADDRESS, too_long=ADDRESS_TOO_LONG, limit=MAX_ADDRESS)
    description = check.bounded("description", empty=WRITE_DESCRIPTION, too_long=DESCRIPTION_TOO_LONG,
                                limit=MAX_DESCRIPTION)
    latitude, longitude = check.location()
    mobile = check.mobile()
    photos = check.photos(uploads)
    check.done()
    assert category_id is not None and mobile is not None
    _verify_mobile(session, verifier, mobile=mobile, code=fields.get("code", "") or "", now=now)
    # unit_id is a placeholder the routing table overrides (file_from_channel).
    data = TicketCreate(category_id=category_id, unit_id=1, district_id=district_id, address=address,
                        description=description, caller_number=mobile, request_id=request_id,
                        latitude=latitude, longitude=longitude)
    saved: list[tuple[str, Photo]] = []
    try:
        with session.begin_nested():
            submission = file_from_channel(session, data=data, source=TicketSource.WEB,
                                           by=Citizen(channel=TicketSource.WEB), status_link=status_link)
            if submission.new:
                saved = [(store.save(photo), photo) for photo in photos[:MAX_PHOTOS]]
                assert submission.ticket.id is not None
                session.add_all(TicketAttachment(
                    ticket_id=submission.ticket.id, transition_id=None, uploaded_by_id=None, stored_name=name,
                    content_type=photo.content_type, size=len(photo.data), sha256=photo.sha256)
                    for name, photo in saved)
    except BaseException:
        for name, _photo in saved:
            store.remove(name)
        raise
    return submission


def file_feedback(
    session: Session, verifier: Verifier, budget: AnonymousBudget, *, fields: Mapping[str, str], address: str,
    now: datetime, status_link: StatusLink | None = None,
) -> Submission:
    """A 1888 message from the web form, or a refusal naming each wrong field (:func:`form_refused`).
    Anonymous (``anonymous`` ticked): no mobile is asked for or kept, and ``address`` is only counted against the
    anonymous budget under the day's key; named: the mobile verified by its code. ``address`` is never stored or
    logged either way."""
    check = _Checker(fields)
    request_id = check.request_id()
    if not check.errors and (twin := _already_filed(session, request_id)) is not None:
        return twin
    kind_value = (fields.get("feedback_kind", "") or "").strip()
    kind = FeedbackKind(kind_value) if kind_value in {k.value for k in FeedbackKind} else None
    if kind is None:
        check.refuse("feedback_kind", PICK_KIND)
    category_id = check.choice("category_id", feedback_categories(session), PICK_CATEGORY)
    units = feedback_units(session)
    unit_id = check.choice("about_unit_id", units, PICK_UNIT, required=False)
    personnel_code = ascii_digits(check.text("personnel_code")).replace(" ", "")
    if personnel_code and (not personnel_code.isdigit() or len(personnel_code) > MAX_PERSONNEL_CODE):
        check.refuse("personnel_code", BAD_PERSONNEL_CODE)
    description = check.bounded("description", empty=WRITE_DESCRIPTION, too_long=DESCRIPTION_TOO_LONG,
                                limit=MAX_DESCRIPTION - 250)
    anonymous = (fields.get("anonymous", "") or "") in ("1", "on", "yes", "true")
    mobile = None if anonymous else check.mobile()
    check.done()
    assert category_id is not None
    if anonymous:
        budget.spend(session, address=address, now=now)
    else:
        assert mobile is not None
        _verify_mobile(session, verifier, mobile=mobile, code=fields.get("code", "") or "", now=now)
    about = next((choice.label for choice in units if choice.value == unit_id), None)
    text = f"{ABOUT_UNIT.format(name=about)}\n{description}" if about else description
    data = TicketCreate(category_id=category_id, unit_id=1, description=text, caller_number=mobile,
                        request_id=request_id, feedback_kind=kind, personnel_code=personnel_code or None)
    with session.begin_nested():
        return file_from_channel(session, data=data, source=TicketSource.WEB, by=Citizen(channel=TicketSource.WEB),
                                 anonymous=anonymous, status_link=status_link)


class AnonymousBudget:
    """How many anonymous messages of one kind one client address may send, counted under a random key of the day.

    The rate-limit table's keys are HMACs; here the HMAC's key is not the installation's secret but a random one
    per UTC day, deleted when the day's windows no longer count, so no later copy of the database, even with
    the secret, can tell which address sent anything (ADR 0056). ``scope`` names what is counted: 1888 messages
    by default, anonymous complaints (callcenter/complaints/filing.py) under their own scope."""

    def __init__(self, *, per_hour: int = ANONYMOUS_PER_HOUR, scope: str = "anon-1888",
                 refusal: str = ANONYMOUS_THROTTLED) -> None:
        self.refusal = refusal
        self.rules = (RateRule(f"{scope}-hour", per_hour, timedelta(hours=1)),
                      RateRule(f"{scope}-day", per_hour * HOURS_A_DAY_ALLOWS, timedelta(days=1)))

    def spend(self, session: Session, *, address: str, now: datetime) -> None:
        limiter = day_keyed_limiter(session, now=now)
        for rule in self.rules:
            verdict = limiter.hit(session, rule, address, now=now)
            if not verdict.allowed:
                raise RateLimited(self.refusal.format(wait=wait_in_words(verdict.retry_after)),
                                  retry_after=max(1, int(verdict.retry_after.total_seconds())))


def day_keyed_limiter(session: Session, *, now: datetime) -> RateLimiter:
    """A limiter keyed by the random secret of ``now``'s UTC day (created by the day's first use; the keys of
    older days deleted): what it counts per client address cannot be tied to an address once the day's key is
    gone (ADR 0056). The anonymous 1888 budget and the complaints' follow-up (ADR 0066) count with it."""
    day = now.date().isoformat()
    table = AnonymousBudgetKey.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    # Two first messages of the day at once: one key wins, both use it.
    session.execute(insert.values(day=day, secret=secrets.token_hex(32)).on_conflict_do_nothing())
    key = session.exec(select(AnonymousBudgetKey.secret).where(AnonymousBudgetKey.day == day)).one()
    oldest_kept = (now - timedelta(days=BUDGET_KEY_DAYS - 1)).date().isoformat()
    session.execute(table.delete().where(table.c.day < oldest_kept))
    return RateLimiter(secret=key)
