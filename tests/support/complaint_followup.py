"""Complaints as the follow-up tests need them, made by the domain code: an anonymous one with its receipt, a named
one sealed with its mobile, an inspector who asks and announces the result, and the complaint closed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import select

from callcenter.complaints.identity import Identity, seal
from callcenter.complaints.messages import announce_result, ask_complainant
from callcenter.complaints.receipts import hash_receipt, new_receipt
from callcenter.complaints.tracking_code import new_complaint_code
from callcenter.platform.settings import Settings
from db.engine import unit_of_work
from db.models import Complaint, ComplaintGround, ComplaintStatus, Role, User, utcnow
from tests.support.ticket_flow import WASTE, add_staff, unit_id

DESCRIPTION = "مأمور پسماند برای جمع‌آوری زباله از کسبه پول می‌گیرد"
QUESTION = "لطفاً بنویسید این اتفاق در کدام روزهای هفته و چه ساعتی رخ داده است."
RESULT = "تخلف مأمور تأیید شد و پرونده برای رسیدگی انضباطی به هیئت تخلفات فرستاده شد."


@dataclass(frozen=True)
class Filed:
    id: int
    tracking_code: str
    receipt: str  # "" for a named complaint


def anonymous_complaint(engine: sa.Engine, *, about: str = WASTE) -> Filed:
    receipt = new_receipt()
    with unit_of_work(engine) as session:
        complaint = Complaint(tracking_code=new_complaint_code(), target_unit_id=unit_id(engine, about),
                              ground=ComplaintGround.OTHER_MISCONDUCT, description=DESCRIPTION, anonymous=True,
                              receipt_hash=hash_receipt(receipt))
        session.add(complaint)
        session.commit()
        assert complaint.id is not None
        return Filed(complaint.id, complaint.tracking_code, receipt)


def named_complaint(engine: sa.Engine, settings: Settings, *, mobile: str, about: str = WASTE) -> Filed:
    with unit_of_work(engine) as session:
        complaint = Complaint(tracking_code=new_complaint_code(), target_unit_id=unit_id(engine, about),
                              ground=ComplaintGround.DELAY, description=DESCRIPTION,
                              identity_sealed=seal(settings, Identity(name="مریم احمدی", mobile=mobile)))
        session.add(complaint)
        session.commit()
        assert complaint.id is not None
        return Filed(complaint.id, complaint.tracking_code, "")


def inspector(engine: sa.Engine, username: str = "followup.inspector") -> User:
    with unit_of_work(engine) as session:
        found = session.exec(select(User).where(User.username == username)).first()
        if found is not None:
            session.expunge(found)
            return found
    return add_staff(engine, username, Role.INSPECTOR, unit="مدیریت بازرسی")


def ask(engine: sa.Engine, filed: Filed, text: str = QUESTION) -> None:
    by = inspector(engine)
    with unit_of_work(engine) as session:
        complaint = session.get(Complaint, filed.id)
        assert complaint is not None
        ask_complainant(session, complaint, by=by, text=text)
        session.commit()


def close_with_result(engine: sa.Engine, filed: Filed, text: str = RESULT) -> None:
    """As case work closes a case: the result message, the status, the result column, the closing time."""
    by = inspector(engine)
    with unit_of_work(engine) as session:
        complaint = session.get(Complaint, filed.id)
        assert complaint is not None
        announce_result(session, complaint, by=by, text=text)
        complaint.status, complaint.result, complaint.closed_at = ComplaintStatus.CLOSED, text, utcnow()
        session.add(complaint)
        session.commit()


def in_one_rate_window(tries_take_seconds: int = 20) -> None:
    """Wait for the next minute when the tries might straddle one: the limits count in fixed one-minute windows."""
    if datetime.now(UTC).second > 60 - tries_take_seconds:
        time.sleep(61 - datetime.now(UTC).second)
