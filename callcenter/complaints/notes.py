"""The inspectors' internal notes on a case: never shown to the complainant, nor to any unit."""

from __future__ import annotations

from sqlmodel import Session, col, select

from callcenter.complaints.lifecycle import visible_complaint
from callcenter.platform.errors import ValidationFailed
from callcenter.platform.persian import normalize_text
from db.models import ComplaintNote, User

MAX_LENGTH = 4000


def add_note(session: Session, *, complaint_id: int, by: User, text: str) -> ComplaintNote:
    """Anyone who may see the case writes on it; flushed, the caller commits."""
    visible_complaint(session, complaint_id, by)
    body = normalize_text(text).strip()
    if not body:
        raise ValidationFailed("متن یادداشت داخلی را بنویسید.", field="note_body")
    if len(body) > MAX_LENGTH:
        raise ValidationFailed("یادداشت طولانی‌تر از حد مجاز است.", field="note_body")
    assert by.id is not None  # a stored account
    note = ComplaintNote(complaint_id=complaint_id, author_id=by.id, body=body)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, complaint_id: int) -> list[ComplaintNote]:
    """The case's notes, oldest first (the caller has checked the case is visible)."""
    return list(session.exec(select(ComplaintNote).where(ComplaintNote.complaint_id == complaint_id)
                             .order_by(col(ComplaintNote.at), col(ComplaintNote.id))).all())
