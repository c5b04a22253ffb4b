"""The complaint lifecycle: one transition table, who may take each step, and the compare-and-set that applies it
(with the result or the reason told to the complainant)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.complaints import access, messages
from callcenter.complaints.names import ACTION_NAMES, STATUS_NAMES
from callcenter.complaints.sms import queue_complainant_sms, result_text
from callcenter.platform.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from callcenter.platform.persian import normalize_text
from callcenter.platform.settings import Settings
from db.engine import all_or_nothing
from db.models import (
    Complaint,
    ComplaintAction,
    ComplaintDesk,
    ComplaintStatus,
    ComplaintTransition,
    Role,
    User,
    utcnow,
)

S, A = ComplaintStatus, ComplaintAction

OPEN_STATUSES = (S.RECEIVED, S.UNDER_REVIEW, S.INVESTIGATING, S.FINDINGS)
FINAL_STATUSES = frozenset({S.CLOSED, S.REFERRED, S.REJECTED})

# Every edge of the graph; anything not here is refused. Assigning keeps the status (it names who works the case).
TRANSITIONS: Mapping[tuple[ComplaintStatus, ComplaintAction], ComplaintStatus] = MappingProxyType({
    **{(status, A.ASSIGN): status for status in OPEN_STATUSES},
    (S.RECEIVED, A.START_REVIEW): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, A.INVESTIGATE): S.INVESTIGATING,
    (S.INVESTIGATING, A.RECORD_FINDINGS): S.FINDINGS,
    (S.FINDINGS, A.CLOSE): S.CLOSED,
    (S.UNDER_REVIEW, A.REFER): S.REFERRED,
    (S.INVESTIGATING, A.REFER): S.REFERRED,
    (S.FINDINGS, A.REFER): S.REFERRED,
    (S.RECEIVED, A.REJECT): S.REJECTED,
    (S.UNDER_REVIEW, A.REJECT): S.REJECTED,
})

# Steps that mean nothing without words: the findings, the result, where it went, why it was rejected.
_WORDS_REQUIRED: Mapping[ComplaintAction, str] = MappingProxyType({
    A.RECORD_FINDINGS: "یافته‌های بازرسی را بنویسید.",
    A.CLOSE: "نتیجه‌ای را که به شاکی اعلام می‌شود بنویسید.",
    A.REFER: "بنویسید شکایت به کدام مرجع ارجاع می‌شود.",
    A.REJECT: "دلیل رد شکایت را بنویسید؛ به شاکی اعلام می‌شود.",
})
NOTE_MAX_LENGTH = 4000
REJECTED_TEXT = "دلیل رد شکایت: {reason}"
REFERRED_NOTE = "ارجاع به: {where}"


def _moved_on(complaint_id: int, status: ComplaintStatus) -> Conflict:
    return Conflict(f"کس دیگری در این فاصله این شکایت را جابه‌جا کرده و اکنون «{STATUS_NAMES[status]}» است؛ "
                    "صفحه را تازه کنید و دوباره تصمیم بگیرید.", complaint_id=complaint_id, status=status.value)


def next_status(status: ComplaintStatus, action: ComplaintAction) -> ComplaintStatus:
    """Where ``action`` takes a complaint in ``status``; refuses anything that is not an edge of the graph."""
    outcome = TRANSITIONS.get((status, action))
    if outcome is None:
        raise InvalidTransition(f"این شکایت در وضعیت «{STATUS_NAMES[status]}» است و «{ACTION_NAMES[action]}» "
                                "برای آن ممکن نیست.", status=status.value, action=action.value)
    return outcome


def leads_desk(user: User, desk: ComplaintDesk) -> bool:
    """Who leads a desk: the head of inspection, or (for its own desk) the mayor's office."""
    if desk == ComplaintDesk.MAYOR_OFFICE:
        return user.role in access.MAYOR_OFFICE_ROLES
    return user.role == Role.HEAD_OF_INSPECTION


def is_head(user: User, complaint: Complaint) -> bool:
    return leads_desk(user, complaint.desk)


def may_take(user: User, complaint: Complaint, action: ComplaintAction) -> bool:
    """The rule of who acts (the caller has checked ``access.can_see``): the desk's head does anything; an
    inspector takes an unassigned complaint for themself and works the steps of the ones assigned to them."""
    if action == A.ASSIGN and not is_head(user, complaint):
        return user.role == Role.INSPECTOR and complaint.assigned_to_id is None
    return works_on(user, complaint)


def works_on(user: User, complaint: Complaint) -> bool:
    """Who works a visible complaint's steps (and asks units for information): its head, or its inspector."""
    return is_head(user, complaint) or (user.role == Role.INSPECTOR and complaint.assigned_to_id == user.id)


def steps_open_to(user: User, complaint: Complaint) -> list[ComplaintAction]:
    """The steps out of the complaint's status that ``user`` may take, in the table's order (the page's forms)."""
    return [action for (source, action) in TRANSITIONS
            if source == complaint.status and may_take(user, complaint, action)]


def assignees(session: Session, complaint: Complaint) -> list[User]:
    """Who a complaint may be assigned to: the desk's own staff who may see it (no conflict of interest)."""
    roles = access.INSPECTION_ROLES if complaint.desk == ComplaintDesk.INSPECTION else access.MAYOR_OFFICE_ROLES
    users = session.exec(select(User).where(col(User.role).in_(roles), col(User.is_active))
                         .order_by(col(User.full_name))).all()
    return [user for user in users if access.can_see(session, user, complaint)]


def visible_complaint(session: Session, complaint_id: int, user: User) -> Complaint:
    """The complaint, if ``user`` may see it; otherwise "not found", as if it did not exist."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or not access.can_see(session, user, complaint):
        raise NotFound("شکایت پیدا نشد.", complaint_id=complaint_id)
    return complaint


@dataclass(frozen=True)
class Step:
    """What a step carries besides its action: the words, where it is referred to, who it is assigned to."""

    note: str = ""
    referred_to: str = ""
    assignee_id: int | None = None


def _words(action: ComplaintAction, step: Step) -> str:
    note = normalize_text(step.note).strip()
    if action == A.REFER:
        where = normalize_text(step.referred_to).strip()
        if not where:
            raise ValidationFailed(_WORDS_REQUIRED[A.REFER], field="referred_to")
        note = REFERRED_NOTE.format(where=where) + (f"\n{note}" if note else "")
    elif not note and action in _WORDS_REQUIRED:
        raise ValidationFailed(_WORDS_REQUIRED[action], field="note")
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationFailed("متن بیش از اندازه طولانی است.", field="note")
    return note


def _assignee(session: Session, complaint: Complaint, by: User, step: Step) -> int:
    """The inspector named by the head, or the inspector taking it themself."""
    wanted = step.assignee_id if is_head(by, complaint) else by.id
    if wanted is None:
        raise ValidationFailed("بازرسی را که شکایت به او واگذار می‌شود انتخاب کنید.", field="assignee_id")
    if wanted not in {user.id for user in assignees(session, complaint)}:
        raise ValidationFailed("این شکایت را نمی‌توان به این کاربر واگذار کرد.", field="assignee_id")
    return wanted


@all_or_nothing
def apply(
    session: Session, complaint_id: int, action: ComplaintAction, by: User, expected_status: ComplaintStatus, *,
    settings: Settings, note: str = "", referred_to: str = "", assignee_id: int | None = None,
) -> ComplaintTransition:
    """Take one step by compare-and-set on the status the caller saw, and record it in the caller's transaction.
    Closing stores and announces the result, rejecting announces the reason (a message, and an SMS to a named
    complainant). A complaint the user may not see is "not found"."""
    complaint = visible_complaint(session, complaint_id, by)
    if complaint.status != expected_status:
        raise _moved_on(complaint_id, complaint.status)
    to_status = next_status(complaint.status, action)
    if not may_take(by, complaint, action):
        raise PermissionDenied(f"شما اجازهٔ «{ACTION_NAMES[action]}» را برای این شکایت ندارید.",
                               action=action.value)
    step = Step(note=note, referred_to=referred_to, assignee_id=assignee_id)
    words = _words(action, step)
    values: dict[str, object] = {"status": to_status}
    where = [col(Complaint.id) == complaint_id, col(Complaint.status) == expected_status]
    if action == A.ASSIGN:
        values["assigned_to_id"] = _assignee(session, complaint, by, step)
        previous = complaint.assigned_to_id  # two inspectors taking it at once: one gets it
        where.append(col(Complaint.assigned_to_id).is_(None) if previous is None
                     else col(Complaint.assigned_to_id) == previous)
    if to_status in FINAL_STATUSES:
        values["closed_at"] = utcnow()
    if action == A.CLOSE:
        values["result"] = words
    moved = session.exec(sa.update(Complaint).where(*where).values(**values))
    if moved.rowcount != 1:
        current = session.get(Complaint, complaint_id, populate_existing=True)
        raise _moved_on(complaint_id, current.status if current else expected_status)
    transition = ComplaintTransition(complaint_id=complaint_id, action=action, from_status=expected_status,
                                     to_status=to_status, actor_id=by.id, note=words)
    session.add(transition)
    session.flush()
    session.refresh(complaint)
    if action in (A.CLOSE, A.REJECT):
        _tell_complainant(session, settings, complaint, action, by=by, words=words)
    session.refresh(transition)
    return transition


def _tell_complainant(session: Session, settings: Settings, complaint: Complaint, action: ComplaintAction, *,
                      by: User, words: str) -> None:
    """The result (or the reason of a rejection) on the follow-up page, and by SMS to a named complainant."""
    text = words if action == A.CLOSE else REJECTED_TEXT.format(reason=words)
    messages.announce_result(session, complaint, by=by, text=text)
    queue_complainant_sms(session, settings, complaint, key=f"complaint-{action.value}:{complaint.id}",
                          body=result_text(settings, complaint))


def history(session: Session, complaint_id: int) -> list[ComplaintTransition]:
    """Every step the complaint took, oldest first."""
    return list(session.exec(select(ComplaintTransition).where(ComplaintTransition.complaint_id == complaint_id)
                             .order_by(col(ComplaintTransition.at), col(ComplaintTransition.id))).all())
