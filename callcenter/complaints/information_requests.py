"""An inspector's question to a unit, and the unit's answer. The unit's liaison sees only the request itself (its
number, question and due date): never the complaint, its text, code or ground, nor anything of the complainant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.complaints.lifecycle import FINAL_STATUSES, visible_complaint, works_on
from callcenter.platform.calendar import in_tehran, tehran_midnight
from callcenter.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from callcenter.platform.persian import normalize_text
from db.models import InformationRequest, Role, Unit, User, utcnow

MAX_LENGTH = 4000
NO_QUESTION = "پرسش از واحد را بنویسید."
NO_ANSWER = "پاسخ را بنویسید."
TOO_LONG = "متن طولانی‌تر از حد مجاز است."
BAD_DUE = "مهلت پاسخ باید روزی پس از امروز باشد."


@dataclass(frozen=True)
class LiaisonRequest:
    """All a unit learns of a complaint: the request's number, the question, when it is due, and its answer."""

    number: int
    question: str
    asked_at: datetime
    due_at: datetime
    answer: str | None
    answered_at: datetime | None


def _text(text: str, *, empty: str, field: str) -> str:
    clean = normalize_text(text).strip()
    if not clean:
        raise ValidationFailed(empty, field=field)
    if len(clean) > MAX_LENGTH:
        raise ValidationFailed(TOO_LONG, field=field)
    return clean


def ask(session: Session, *, complaint_id: int, by: User, unit_id: int, question: str, due_on: date,
        now: datetime | None = None) -> InformationRequest:
    """The assigned inspector (or the desk's head) asks a unit; due at the end of ``due_on`` (Tehran)."""
    complaint = visible_complaint(session, complaint_id, by)
    if complaint.status in FINAL_STATUSES:
        raise Conflict("این شکایت پایان یافته است؛ درخواست اطلاعات تازه ممکن نیست.", complaint_id=complaint_id)
    if not works_on(by, complaint):
        raise PermissionDenied("فقط بازرس مسئول این شکایت یا مدیر بازرسی از واحدها اطلاعات می‌خواهد.")
    if session.get(Unit, unit_id) is None:
        raise ValidationFailed("واحد انتخاب‌شده وجود ندارد.", field="unit_id")
    clean = _text(question, empty=NO_QUESTION, field="question")
    if due_on <= in_tehran(now or utcnow()).date():
        raise ValidationFailed(BAD_DUE, field="due_on")
    assert by.id is not None  # a stored account
    request = InformationRequest(complaint_id=complaint_id, unit_id=unit_id, question=clean,
                                 asked_by_id=by.id, due_at=tehran_midnight(due_on + timedelta(days=1)))
    session.add(request)
    session.flush()
    return request


def for_liaison(session: Session, user: User) -> list[LiaisonRequest]:
    """The requests to the liaison's own unit, unanswered first, then by due date; nothing for anyone else."""
    if user.role != Role.UNIT_LIAISON or user.unit_id is None or not user.is_active:
        return []
    rows = session.exec(select(InformationRequest).where(InformationRequest.unit_id == user.unit_id)
                        .order_by(col(InformationRequest.answered_at).is_not(None), col(InformationRequest.due_at),
                                  col(InformationRequest.id))).all()
    return [_liaison_view(row) for row in rows]


def _liaison_view(row: InformationRequest) -> LiaisonRequest:
    assert row.id is not None
    return LiaisonRequest(number=row.id, question=row.question, asked_at=row.asked_at, due_at=row.due_at,
                          answer=row.answer, answered_at=row.answered_at)


def answer(session: Session, *, request_number: int, by: User, text: str) -> LiaisonRequest:
    """The liaison of the asked unit answers, once (a second answer, or a twin click, is a conflict)."""
    row = session.get(InformationRequest, request_number)
    if row is None or by.role != Role.UNIT_LIAISON or by.unit_id != row.unit_id or not by.is_active:
        raise NotFound("درخواست اطلاعات پیدا نشد.", request_number=request_number)
    clean = _text(text, empty=NO_ANSWER, field="answer")
    moved = session.exec(sa.update(InformationRequest)
                         .where(col(InformationRequest.id) == request_number, col(InformationRequest.answer).is_(None))
                         .values(answer=clean, answered_by_id=by.id, answered_at=utcnow()))
    if moved.rowcount != 1:
        raise Conflict("به این درخواست پیش‌تر پاسخ داده شده است.", request_number=request_number)
    session.refresh(row)
    return _liaison_view(row)


def for_case(session: Session, complaint_id: int) -> list[InformationRequest]:
    """The case page's list (the caller has checked the complaint is visible), oldest first."""
    return list(session.exec(select(InformationRequest).where(InformationRequest.complaint_id == complaint_id)
                             .order_by(col(InformationRequest.asked_at), col(InformationRequest.id))).all())
