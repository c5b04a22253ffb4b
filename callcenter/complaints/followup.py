"""The complainant's side of a complaint after filing: opening it by tracking code and receipt (anonymous) or a
one-time SMS code to the mobile it was filed with (named), the public view of it, and the complainant's answers.

Guessing is limited as the 137 look-up is (callcenter/citizens/timeline.py): five wrong tries a minute per client
address and per tracking code, one answer for every kind of wrong. The address is counted only under the random
key of the day (``day_keyed_limiter``), so even an anonymous complainant's follow-up leaves no address behind
(ADR 0066). The public view never names an inspector and never shows an internal note.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.citizens.phone_codes import PhoneCodes, mobile_number
from callcenter.citizens.web_filing import day_keyed_limiter
from callcenter.complaints.attachments import KIND_NAMES, MB, AttachmentStore, Upload, check_attachments
from callcenter.complaints.identity import unseal
from callcenter.complaints.messages import answer_from_complainant, conversation
from callcenter.complaints.names import GROUND_NAMES, STATUS_NAMES
from callcenter.complaints.receipts import receipt_matches
from callcenter.complaints.tracking_code import format_for_reading, parse_complaint_code
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import Conflict, NotFound, RateLimited, ValidationFailed
from callcenter.platform.persian import persian_digits
from callcenter.platform.rate_limits import RateLimiter, RateRule
from callcenter.platform.settings import Settings
from db.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintMessage,
    ComplaintStatus,
    MessageDirection,
    Unit,
)

log = logging.getLogger(__name__)

# As the 137 look-up: a person mistyping a character or two gets through; a script trying receipts or mobiles
# for one code, or codes from one address, does not. Only failures count (and every «send me a code»).
FOLLOW_BY_ADDRESS = RateRule("complaint-follow-address", 5, timedelta(minutes=1))
FOLLOW_BY_CODE = RateRule("complaint-follow-code", 5, timedelta(minutes=1))
FINAL_STATUSES = frozenset({ComplaintStatus.CLOSED, ComplaintStatus.REFERRED, ComplaintStatus.REJECTED})

NO_MATCH_RECEIPT = "کد پیگیری یا رسید درست نیست."
NO_MATCH_MOBILE = ("کد پیگیری، شمارهٔ همراه یا کد تأیید درست نیست، یا اعتبار کد تأیید تمام شده است؛ "
                   "در صورت نیاز کد تازه بخواهید.")
TOO_MANY_TRIES = "تلاش‌های نادرست بیش از حد مجاز بود؛ یک دقیقه دیگر دوباره تلاش کنید."
WRITE_RECEIPT = "رسیدی را که هنگام ثبت شکایت به شما داده شد بنویسید."
CODE_MAYBE_SENT = ("اگر این شماره همان شماره‌ای باشد که شکایت با آن ثبت شد، کد تأیید به آن پیامک شد؛ "
                   "آن را در خانهٔ «کد تأیید» بنویسید.")
ANSWER_CLOSED = "رسیدگی به این شکایت پایان یافته است؛ پاسخ یا پیوست تازه پذیرفته نمی‌شود."
INSPECTION_AUTHOR = "بازرسی"
COMPLAINANT_AUTHOR = "شما"


@dataclass(frozen=True)
class Guard:
    """The two counters of wrong tries: per client address under the day's random key, per tracking code under
    the installation's secret (a code is not an identity, and its count must outlive the day's key)."""

    secret: str

    def _counters(self, session: Session, now: datetime) -> list[tuple[RateLimiter, RateRule]]:
        return [(day_keyed_limiter(session, now=now), FOLLOW_BY_ADDRESS),
                (RateLimiter(secret=self.secret), FOLLOW_BY_CODE)]

    def check(self, session: Session, *, code: str, address: str, now: datetime) -> None:
        """Refuse (with Retry-After) once either counter has used up its window."""
        for (limiter, rule), value in zip(self._counters(session, now), (address, code), strict=True):
            limiter.check(session, rule, value, now=now).raise_if_refused(TOO_MANY_TRIES)

    def count(self, session: Session, *, code: str, address: str, now: datetime) -> None:
        for (limiter, rule), value in zip(self._counters(session, now), (address, code), strict=True):
            limiter.hit(session, rule, value, now=now)


def _find(session: Session, code: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.tracking_code == code)).first()


def open_with_receipt(session: Session, guard: Guard, *, tracking_code: str, receipt: str, address: str,
                      now: datetime) -> Complaint:
    """The anonymous complaint whose code and receipt these are. A malformed code is said so (it reveals nothing);
    any other failure (no such complaint, a wrong receipt, a named complaint) is one answer and counts; past the
    limit even the right receipt is refused until the window ends. The caller commits either way."""
    code = parse_complaint_code(tracking_code)
    if not receipt.strip():
        raise ValidationFailed(WRITE_RECEIPT, field="receipt")
    guard.check(session, code=code, address=address, now=now)
    complaint = _find(session, code)
    # receipt_matches costs an argon2 verification even without a hash: no complaint and a wrong receipt take
    # the same time.
    if not receipt_matches(receipt, complaint.receipt_hash if complaint is not None else None) or complaint is None:
        guard.count(session, code=code, address=address, now=now)
        raise NotFound(NO_MATCH_RECEIPT)
    return complaint


def _filed_with(settings: Settings, complaint: Complaint | None, mobile: str) -> bool:
    if complaint is None or complaint.anonymous or not complaint.identity_sealed:
        return False
    return unseal(settings, complaint.identity_sealed).mobile == mobile


def send_mobile_code(session: Session, guard: Guard, codes: PhoneCodes, settings: Settings, *,
                     tracking_code: str, mobile: str, session_token: str, address: str, now: datetime) -> str:
    """Text a code to ``mobile`` if the complaint was filed with it; the answer is the same either way (a notice),
    so the page never tells whether a number filed a complaint. Every request counts as a try. The caller
    commits either way."""
    code = parse_complaint_code(tracking_code)
    number = mobile_number(mobile)
    guard.check(session, code=code, address=address, now=now)
    guard.count(session, code=code, address=address, now=now)
    if _filed_with(settings, _find(session, code), number):
        try:
            codes.send(session, mobile=number, session_token=session_token, address=address, now=now)
        except RateLimited:
            # Said aloud, "this number was sent a code a moment ago" would confirm the number filed it; the
            # code sent then is still valid.
            log.info("A complaint follow-up code was not sent again: the number's or address's limit")
    return CODE_MAYBE_SENT


def open_with_mobile_code(session: Session, guard: Guard, codes: PhoneCodes, settings: Settings, *,
                          tracking_code: str, mobile: str, code: str, session_token: str, address: str,
                          now: datetime) -> Complaint:
    """The named complaint filed with ``mobile``, once the SMS code is right. Every failure (no such complaint, an
    anonymous one, another mobile, a wrong or expired code) is one answer and counts."""
    tracking = parse_complaint_code(tracking_code)
    number = mobile_number(mobile)
    guard.check(session, code=tracking, address=address, now=now)
    complaint = _find(session, tracking)
    if complaint is not None and _filed_with(settings, complaint, number):
        try:
            codes.verify(session, mobile=number, session_token=session_token, code=code, now=now)
        except ValidationFailed:
            pass
        else:
            return complaint
    guard.count(session, code=tracking, address=address, now=now)
    raise NotFound(NO_MATCH_MOBILE)


# --- the public view ---


@dataclass(frozen=True)
class PublicAttachment:
    id: int
    kind_name: str
    size_label: str  # «۱٫۲ مگابایت», «۳۴ کیلوبایت»


@dataclass(frozen=True)
class PublicMessage:
    author: str  # «بازرسی» or «شما»: never an inspector's name
    from_complainant: bool
    is_result: bool
    body: str
    date: str
    time: str
    attachments: list[PublicAttachment]


@dataclass(frozen=True)
class CaseView:
    tracking_code: str  # for reading, Persian digits
    status_label: str
    final: bool
    filed_date: str
    closed_date: str
    unit_name: str
    ground_name: str
    description: str
    result: str  # the announced result (or reason), once there is one
    attachments: list[PublicAttachment]  # sent with the complaint itself
    messages: list[PublicMessage]

    @property
    def can_answer(self) -> bool:
        return not self.final


def _size_label(size: int) -> str:
    if size >= MB:
        return f"{persian_digits(f'{size / MB:.1f}').replace('.', '٫')} مگابایت"
    return f"{persian_digits(max(1, size // 1024))} کیلوبایت"


def _public_attachment(row: ComplaintAttachment) -> PublicAttachment:
    assert row.id is not None
    return PublicAttachment(id=row.id, kind_name=KIND_NAMES[row.kind], size_label=_size_label(row.size))


def complainants_files(session: Session, complaint_id: int) -> list[ComplaintAttachment]:
    """The files the complainant sent: with the complaint, or with one of their answers (not a draft's)."""
    answers = select(ComplaintMessage.id).where(ComplaintMessage.complaint_id == complaint_id,
                                                ComplaintMessage.direction == MessageDirection.FROM_COMPLAINANT)
    return list(session.exec(select(ComplaintAttachment).where(
        ComplaintAttachment.complaint_id == complaint_id,
        sa.or_(col(ComplaintAttachment.message_id).is_(None), col(ComplaintAttachment.message_id).in_(answers)))
        .order_by(col(ComplaintAttachment.id))).all())


def complainants_file(session: Session, complaint_id: int, attachment_id: int) -> ComplaintAttachment:
    """One of those files by id, or not found (another complaint's file is not found either)."""
    for row in complainants_files(session, complaint_id):
        if row.id == attachment_id:
            return row
    raise NotFound("پیوست پیدا نشد.")


def case_view(session: Session, complaint: Complaint) -> CaseView:
    """What the complainant sees: where the case stands, the conversation, their own files, the result."""
    assert complaint.id is not None
    files = complainants_files(session, complaint.id)
    by_message: dict[int, list[PublicAttachment]] = {}
    with_complaint: list[PublicAttachment] = []
    for row in files:
        target = with_complaint if row.message_id is None else by_message.setdefault(row.message_id, [])
        target.append(_public_attachment(row))
    messages = [_public_message(message, by_message.get(message.id or 0, []))
                for message in conversation(session, complaint.id)]
    final = complaint.status in FINAL_STATUSES
    results = [message.body for message in messages if message.is_result]
    unit = session.get(Unit, complaint.target_unit_id)
    return CaseView(
        tracking_code=persian_digits(format_for_reading(complaint.tracking_code)),
        status_label=STATUS_NAMES[complaint.status], final=final,
        filed_date=jalali_timestamp(complaint.created_at)[0],
        closed_date=jalali_timestamp(complaint.closed_at)[0] if final and complaint.closed_at else "",
        unit_name=unit.name if unit else "", ground_name=GROUND_NAMES[complaint.ground],
        description=complaint.description,
        result=results[-1] if results else (complaint.result or "" if final else ""),
        attachments=with_complaint, messages=messages)


def _public_message(message: ComplaintMessage, attachments: list[PublicAttachment]) -> PublicMessage:
    mine = message.direction == MessageDirection.FROM_COMPLAINANT
    date, time = jalali_timestamp(message.at)
    return PublicMessage(author=COMPLAINANT_AUTHOR if mine else INSPECTION_AUTHOR, from_complainant=mine,
                         is_result=message.is_result, body=message.body, date=date, time=time,
                         attachments=attachments)


# --- the complainant's answer ---


def answer(session: Session, store: AttachmentStore, complaint: Complaint, *, text: str,
           uploads: Sequence[Upload]) -> ComplaintMessage:
    """The complainant's answer with its files (checked by their bytes, metadata stripped), flushed; refused once
    the case is closed, referred or rejected. Files are written before the caller commits: if the commit fails,
    the caller removes them (``stored_names``)."""
    if complaint.status in FINAL_STATUSES:
        raise Conflict(ANSWER_CLOSED)
    checked = check_attachments(uploads)
    message = answer_from_complainant(session, complaint, text=text)
    for file in checked:
        session.add(ComplaintAttachment(complaint_id=complaint.id, message_id=message.id, kind=file.kind,
                                        content_type=file.content_type, size=file.size, sha256=file.sha256,
                                        stored_name=store.save(file)))
    session.flush()
    log.info("A complainant answered on complaint %d with %d file(s)", complaint.id or 0, len(checked))
    return message


def stored_names(session: Session, message: ComplaintMessage) -> list[str]:
    """The files an answer wrote (to remove them when its transaction did not commit)."""
    return list(session.exec(select(ComplaintAttachment.stored_name)
                             .where(ComplaintAttachment.message_id == message.id)).all())
