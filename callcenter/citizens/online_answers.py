"""Closing the loop online: when a unit reports a ticket done, the citizen gets an SMS link to answer "solved / not
solved" (with words and a photo if they like); the answer settles the verification task as a call would. While the
link is open the task's calls wait; after it expires the calls go ahead; an answer is recorded once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.citizens.links import ANSWER, answer_link, signature_matches
from callcenter.platform.errors import Conflict, NotFound
from callcenter.platform.persian import normalize_text
from callcenter.platform.settings import Settings
from callcenter.tickets.attachments import PhotoStore, Upload, check_photos
from callcenter.tickets.lifecycle import OPEN_VERIFICATION_STATUSES, Citizen
from callcenter.tickets.sms import answer_link_text, queue_ticket_sms
from callcenter.verification.tasks import record_citizen_answer
from db.models import (
    OnlineAnswer,
    OnlineAnswerPublic,
    Ticket,
    TicketAttachment,
    TicketSource,
    TicketTransition,
    Unit,
    VerificationOutcome,
    VerificationTask,
    VerificationTaskStatus,
)

ONLINE = Citizen(channel=TicketSource.WEB)
# The step's note when the citizen says "solved" without words, and when they say "not solved" without words
# (the unit must be told something; a call's note would carry what the citizen said).
RESOLVED_NOTE = "شهروند با پیوند پیامکی پاسخ داد: مشکل رفع شده است."
NOT_RESOLVED_NOTE = "شهروند با پیوند پیامکی پاسخ داد: مشکل رفع نشده است."
ALREADY_RECORDED = "پاسخ شما درباره این درخواست پیش‌تر ثبت شده است؛ نیازی به پاسخ دوباره نیست."
EXPIRED = "مهلت پاسخ از این پیوند گذشته است؛ همکاران ما برای پرسیدن نتیجه با شما تماس می‌گیرند."
NO_SUCH_LINK = "این پیوند معتبر نیست؛ نشانی را همان‌گونه که در پیامک آمده باز کنید."


class AnswerState(enum.StrEnum):
    OPEN = "open"            # the form: solved / not solved
    EXPIRED = "expired"      # too late: a call will ask
    RECORDED = "recorded"    # answered (online, or on a call)


@dataclass(frozen=True)
class Offer:
    answer: OnlineAnswer
    ticket: Ticket
    state: AnswerState


def offer_online_answer(session: Session, settings: Settings, *, ticket: Ticket, now: datetime) -> OnlineAnswer | None:
    """After a report that the work is done: the link for the ticket's open verification task, its SMS queued,
    and the task's calls put off until the link expires. None for a ticket without a mobile (no task, no SMS)."""
    task = session.exec(select(VerificationTask).where(
        VerificationTask.ticket_id == ticket.id, col(VerificationTask.status).in_(OPEN_VERIFICATION_STATUSES))).first()
    if task is None or task.id is None or ticket.id is None or ticket.anonymous:
        return None
    existing = session.exec(select(OnlineAnswer).where(OnlineAnswer.task_id == task.id)).first()
    if existing is not None:
        return existing
    answer = OnlineAnswer(ticket_id=ticket.id, task_id=task.id, offered_at=now,
                          expires_at=now + timedelta(hours=settings.online_answer_hours))
    session.add(answer)
    session.flush()
    assert answer.id is not None
    if queue_ticket_sms(session, ticket=ticket, key=f"online-answer:{answer.id}",
                        body=answer_link_text(ticket, answer_link(settings, answer.id))) is None:
        session.delete(answer)  # no number to text after all: the calls go ahead as before
        session.flush()
        return None
    task.next_attempt_at = max(task.next_attempt_at, answer.expires_at)
    session.add(task)
    session.flush()
    return answer


def open_offer(session: Session, secret: str, *, answer_id: int, sig: str, now: datetime) -> Offer:
    """The answer a signed link names, and whether it may still be answered."""
    answer = session.get(OnlineAnswer, answer_id)
    if answer is None or not signature_matches(secret, sig, ANSWER, str(answer_id)):
        raise NotFound(NO_SUCH_LINK)
    ticket = session.get(Ticket, answer.ticket_id)
    task = session.get(VerificationTask, answer.task_id)
    assert ticket is not None and task is not None
    return Offer(answer=answer, ticket=ticket, state=_state(answer, task, now))


def _state(answer: OnlineAnswer, task: VerificationTask, now: datetime) -> AnswerState:
    if answer.answered_at is not None or task.status == VerificationTaskStatus.DONE:
        return AnswerState.RECORDED
    return AnswerState.EXPIRED if now >= answer.expires_at else AnswerState.OPEN


def record_answer(
    session: Session, store: PhotoStore, *, offer: Offer, resolved: bool, words: str, photo: Upload | None,
    now: datetime,
) -> TicketTransition:
    """The citizen's answer, once: the task done and the ticket verified, or back at its unit with their words
    (the photo on that step). A second answer, or one after a call recorded it, raises :class:`Conflict`."""
    if offer.state == AnswerState.RECORDED:
        raise Conflict(ALREADY_RECORDED, answer_id=offer.answer.id)
    if offer.state == AnswerState.EXPIRED:
        raise Conflict(EXPIRED, answer_id=offer.answer.id)
    photos = check_photos([photo] if photo is not None else [])
    _claim(session, offer.answer, now)
    outcome = VerificationOutcome.RESOLVED if resolved else VerificationOutcome.NOT_RESOLVED
    note = normalize_text(words) or (RESOLVED_NOTE if resolved else NOT_RESOLVED_NOTE)
    saved = [(store.save(one), one) for one in photos]

    def attach(step_session: Session, step: TicketTransition) -> None:
        assert step.id is not None
        step_session.add_all(TicketAttachment(
            ticket_id=offer.ticket.id or 0, transition_id=step.id, stored_name=name, content_type=one.content_type,
            size=len(one.data), sha256=one.sha256, uploaded_by_id=None) for name, one in saved)

    try:
        step = record_citizen_answer(session, task_id=offer.answer.task_id, outcome=outcome, citizen=ONLINE,
                                     note=note, now=now, with_step=attach if saved else None)
    except BaseException:
        for name, _one in saved:
            store.remove(name)
        raise
    offer.answer.outcome, offer.answer.transition_id = outcome, step.id
    session.add(offer.answer)
    session.flush()
    return step


def _claim(session: Session, answer: OnlineAnswer, now: datetime) -> None:
    """Compare-and-set on the answer's time: of two submits at once, one records the answer."""
    claimed = session.exec(sa.update(OnlineAnswer).where(col(OnlineAnswer.id) == answer.id,
                                                         col(OnlineAnswer.answered_at).is_(None))
                           .values(answered_at=now))
    if claimed.rowcount != 1:
        raise Conflict(ALREADY_RECORDED, answer_id=answer.id)
    session.refresh(answer)


RECENT_ANSWERS = 50


def recent_answers(session: Session, *, limit: int = RECENT_ANSWERS) -> list[OnlineAnswerPublic]:
    """The latest answers citizens gave online, newest first: the supervisors see what no call of theirs
    recorded (the verification list shows only open tasks)."""
    rows = session.exec(
        select(OnlineAnswer, Ticket, TicketTransition)
        .join(Ticket, col(Ticket.id) == OnlineAnswer.ticket_id)
        .join(TicketTransition, col(TicketTransition.id) == OnlineAnswer.transition_id)
        .where(col(OnlineAnswer.answered_at).is_not(None))
        .order_by(col(OnlineAnswer.answered_at).desc(), col(OnlineAnswer.id).desc()).limit(limit)
    ).all()
    answers = []
    for online, ticket, step in rows:
        unit = session.get(Unit, ticket.unit_id) if ticket.unit_id else None
        assert online.outcome is not None and online.answered_at is not None
        answers.append(OnlineAnswerPublic(tracking_code=ticket.tracking_code, unit_name=unit.name if unit else "",
                                          outcome=online.outcome, answered_at=online.answered_at, note=step.note))
    return answers
