"""The only place a named complainant's identity is shown: ``reveal`` checks the access rule and writes the audit
row in the caller's transaction; ``audit_log`` is what the head of inspection reads of those rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.complaints import access
from callcenter.complaints.identity import Identity, unseal
from callcenter.platform.errors import NotFound, PermissionDenied, ValidationFailed
from callcenter.platform.persian import normalize_text
from callcenter.platform.settings import Settings
from db.models import Complaint, IdentityAccess, User, utcnow

# Why an inspector opens a complainant's identity: the form's choices, as stored in the audit row.
PURPOSES: dict[str, str] = {
    "meeting": "تماس برای هماهنگی جلسه حضوری",
    "information": "درخواست اطلاعات بیشتر از شاکی",
    "result": "اعلام نتیجه رسیدگی",
    "other": "سایر",
}
OTHER = "other"
PURPOSE_MAX = 200
_OTHER_MIN = 3
AUDIT_PAGE_SIZE = 50

NOT_ALLOWED = "شما اجازه دیدن هویت شاکی این شکایت را ندارید."
ANONYMOUS = "این شکایت بی‌نام ثبت شده است و هویتی از شاکی نگه داشته نمی‌شود."
PURPOSE_MISSING = "هدف دیدن هویت شاکی را انتخاب کنید."
OTHER_MISSING = "برای «سایر»، هدف را در چند کلمه بنویسید."


def purpose_text(choice: str, other: str = "") -> str:
    """The purpose as the audit row keeps it: one of ``PURPOSES``, «سایر» with the typed words; refused in Persian."""
    if choice not in PURPOSES:
        raise ValidationFailed(PURPOSE_MISSING, field="purpose")
    if choice != OTHER:
        return PURPOSES[choice]
    typed = normalize_text(other)
    if len(typed) < _OTHER_MIN:
        raise ValidationFailed(OTHER_MISSING, field="purpose_other")
    return f"{PURPOSES[OTHER]}: {typed}"[:PURPOSE_MAX]


def reveal(session: Session, settings: Settings, user: User, complaint: Complaint, purpose: str) -> Identity:
    """The complainant's name and mobile for ``user``, recorded (who, when, which complaint, why) in the same
    transaction: if the caller's unit of work rolls back, nothing was shown either."""
    if complaint.id is None or user.id is None or not access.can_see(session, user, complaint):
        raise PermissionDenied(NOT_ALLOWED, complaint=complaint.id, username=user.username)
    if complaint.anonymous or complaint.identity_sealed is None:
        raise NotFound(ANONYMOUS, complaint=complaint.id)
    reason = normalize_text(purpose)[:PURPOSE_MAX]
    if not reason:
        raise ValidationFailed(PURPOSE_MISSING, field="purpose")
    identity = unseal(settings, complaint.identity_sealed)
    session.add(IdentityAccess(complaint_id=complaint.id, user_id=user.id, purpose=reason, at=utcnow()))
    session.flush()  # the row is written before the identity leaves this function
    return identity


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    username: str
    full_name: str
    tracking_code: str
    purpose: str


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: int | None  # the last entry's id when there may be more (keyset: (at, id) below it)


def audit_log(
    session: Session, reader: User, *, tracking_code: str | None = None, username: str | None = None,
    after: int | None = None, limit: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """Identity views, newest first, ``limit`` at a time after the entry ``after``; only of complaints ``reader``
    may see (the head of inspection does not learn of complaints about the inspection office this way)."""
    query = (
        select(IdentityAccess, User, Complaint)
        .join(User, col(User.id) == col(IdentityAccess.user_id))
        .join(Complaint, col(Complaint.id) == col(IdentityAccess.complaint_id))
        .where(access.visible_to(session, reader))
    )
    if tracking_code:
        query = query.where(col(Complaint.tracking_code) == tracking_code)
    if username:
        query = query.where(col(User.username) == username)
    if after is not None:
        anchor = session.get(IdentityAccess, after)
        if anchor is not None:
            query = query.where(sa.or_(col(IdentityAccess.at) < anchor.at,
                                       sa.and_(col(IdentityAccess.at) == anchor.at, col(IdentityAccess.id) < after)))
    rows = session.exec(
        query.order_by(col(IdentityAccess.at).desc(), col(IdentityAccess.id).desc()).limit(limit + 1)
    ).all()
    entries = [AuditEntry(id=row.id or 0, at=row.at, username=who.username, full_name=who.full_name,
                          tracking_code=complaint.tracking_code, purpose=row.purpose)
               for row, who, complaint in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(entries=entries, next_cursor=entries[-1].id if more and entries else None)
