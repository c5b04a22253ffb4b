"""What the inspectors and a complainant say to each other: an inspector's question, the complainant's answer,
the result announced at closing. Internal notes are not messages (ComplaintNote, never shown to the complainant).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from callcenter.platform.errors import ValidationFailed
from callcenter.platform.persian import normalize_text
from db.models import Complaint, ComplaintMessage, MessageDirection, User

MAX_LENGTH = 4000
EMPTY = "متن پیام را بنویسید."
TOO_LONG = "متن پیام طولانی‌تر از حد مجاز است."


def _id(complaint: Complaint) -> int:
    assert complaint.id is not None  # a stored complaint
    return complaint.id


def _body(text: str) -> str:
    body = normalize_text(text).strip()
    if not body:
        raise ValidationFailed(EMPTY, field="body")
    if len(body) > MAX_LENGTH:
        raise ValidationFailed(TOO_LONG, field="body")
    return body


def ask_complainant(session: Session, complaint: Complaint, *, by: User, text: str) -> ComplaintMessage:
    """An inspector's question (or word) to the complainant; flushed, the caller commits."""
    message = ComplaintMessage(complaint_id=_id(complaint), direction=MessageDirection.TO_COMPLAINANT,
                               author_id=by.id, body=_body(text))
    session.add(message)
    session.flush()
    return message


def answer_from_complainant(session: Session, complaint: Complaint, *, text: str) -> ComplaintMessage:
    """The complainant's answer through the follow-up page (no author: no account, no identity kept)."""
    message = ComplaintMessage(complaint_id=_id(complaint), direction=MessageDirection.FROM_COMPLAINANT,
                               body=_body(text))
    session.add(message)
    session.flush()
    return message


def announce_result(session: Session, complaint: Complaint, *, by: User, text: str) -> ComplaintMessage:
    """The result the complainant reads on the follow-up page (closing the case also sends it by SMS)."""
    message = ComplaintMessage(complaint_id=_id(complaint), direction=MessageDirection.TO_COMPLAINANT,
                               author_id=by.id, body=_body(text), is_result=True)
    session.add(message)
    session.flush()
    return message


def conversation(session: Session, complaint_id: int) -> list[ComplaintMessage]:
    """The messages both sides see, oldest first."""
    return list(session.exec(select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint_id)
                             .order_by(col(ComplaintMessage.at), col(ComplaintMessage.id))).all())
