"""Retention of who complained: some years after a case closed, its sealed identity, its anonymous receipt and its
files are erased; the case itself (target, ground, text, result) stays for the analytics (ADR 0073)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.complaints.attachments import AttachmentStore
from db.engine import unit_of_work
from db.models import Complaint, ComplaintAttachment, ComplaintStatus, utcnow

FINAL_STATUSES = frozenset({ComplaintStatus.CLOSED, ComplaintStatus.REFERRED, ComplaintStatus.REJECTED})
RETENTION_EVERY = timedelta(days=1)
DAYS_A_YEAR = 365.25


@dataclass(frozen=True)
class Erased:
    identities: int        # named complainants' identities and anonymous receipts dropped
    files: list[str]       # stored names of the attachments whose rows were deleted (the bytes go after commit)


def retention_cutoff(now: datetime, years: int) -> datetime:
    return now - timedelta(days=round(DAYS_A_YEAR * years))


def erase_expired(session: Session, *, now: datetime, years: int) -> Erased:
    """In this unit of work: clear identity and receipt of cases closed before the cutoff, delete their
    attachments' rows (the caller removes the files once this is committed)."""
    expired = sa.and_(col(Complaint.status).in_(sorted(FINAL_STATUSES)), col(Complaint.closed_at).is_not(None),
                      col(Complaint.closed_at) < retention_cutoff(now, years))
    holders = session.exec(select(Complaint).where(expired, sa.or_(col(Complaint.identity_sealed).is_not(None),
                                                                    col(Complaint.receipt_hash).is_not(None)))).all()
    for complaint in holders:
        complaint.identity_sealed = None
        complaint.receipt_hash = None
        session.add(complaint)
    expired_ids = select(Complaint.id).where(expired)
    files = session.exec(select(ComplaintAttachment)
                         .where(col(ComplaintAttachment.complaint_id).in_(expired_ids))).all()
    names = [attachment.stored_name for attachment in files]
    for attachment in files:
        session.delete(attachment)
    session.flush()
    return Erased(identities=len(holders), files=names)


def retention_job(*, engine: Engine, store: AttachmentStore, years: int,
                  now: Callable[[], datetime] = utcnow) -> Callable[[], Erased]:
    """The scheduler's job: one unit of work, then the files (a failed transaction keeps every file)."""
    def run() -> Erased:
        with unit_of_work(engine) as session:
            erased = erase_expired(session, now=now(), years=years)
        for name in erased.files:
            store.remove(name)
        return erased
    return run
