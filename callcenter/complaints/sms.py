"""Texts to a named complainant: queued in the SMS outbox with the number forgotten once sent, once per key."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from callcenter.complaints.identity import unseal
from callcenter.platform.persian import persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.platform.settings import Settings
from db.models import Complaint, SmsMessage

FOLLOW_PATH = "/complaints/follow"
RESULT_TEXT = "شهرداری قزوین، مدیریت بازرسی: نتیجهٔ شکایت {code} اعلام شد؛ آن را در این نشانی ببینید:\n{link}"


def result_text(settings: Settings, complaint: Complaint) -> str:
    """The result (or the rejection) is announced; the text says only where to read it, not what it is."""
    return RESULT_TEXT.format(code=persian_digits(complaint.tracking_code), link=settings.public_url(FOLLOW_PATH))


def queue_complainant_sms(session: Session, settings: Settings, complaint: Complaint, *, key: str,
                          body: str) -> SmsMessage | None:
    """Queue ``body`` to the complainant's mobile once per ``key``; None for an anonymous complaint (no number)."""
    if complaint.anonymous or not complaint.identity_sealed:
        return None
    to = sms_number(unseal(settings, complaint.identity_sealed).mobile)
    if to is None:
        return None
    existing = _by_dedup_key(session, key)
    if existing is not None:
        return existing
    message = SmsMessage(to_number=to, body=body, dedup_key=key, forget_number=True)
    try:
        with session.begin_nested():  # a twin's row undoes only this insert, not the caller's step
            session.add(message)
    except IntegrityError:
        return _by_dedup_key(session, key)
    return message


def _by_dedup_key(session: Session, key: str) -> SmsMessage | None:
    return session.exec(select(SmsMessage).where(SmsMessage.dedup_key == key)).first()
