"""Callback requests: a caller who chose "call me back" keeps their turn in a list operators work in order."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from callcenter.platform.errors import CallbackAlreadyClosed, NotFound, ValidationFailed
from callcenter.platform.persian import normalize_phone_number
from db.models import Call, CallbackPublic, CallbackRequest, CallbackStatus, User, utcnow

MIN_CALLBACK_DIGITS = 5  # shorter than any reachable number: an empty or withheld caller ID cannot be called back


def can_call_back(caller_number: str | None) -> bool:
    number = normalize_phone_number(caller_number or "")
    return number.isdigit() and len(number) >= MIN_CALLBACK_DIGITS


def request_callback(session: Session, *, line: str, caller_number: str, linkedid: str) -> CallbackRequest:
    """Record the request once per call, and once per caller while one is pending: the earliest turn is kept."""
    number = normalize_phone_number(caller_number)
    if not can_call_back(number):
        raise ValidationFailed("شماره تماس‌گیرنده برای تماس برگشتی معتبر نیست.", field="caller_number")
    existing = _same_call_or_pending(session, line=line, caller_number=number, linkedid=linkedid)
    if existing is not None:
        return existing
    call = session.exec(select(Call).where(Call.linkedid == linkedid)).first()
    request = CallbackRequest(line=line, caller_number=number, linkedid=linkedid, call_id=call.id if call else None,
                              waiting_since=call.started_at if call else utcnow())
    try:
        with session.begin_nested():  # a savepoint: a twin's row undoes only this insert
            session.add(request)
    except IntegrityError:  # the same IVR step, retried concurrently: the first one stands
        twin = _same_call_or_pending(session, line=line, caller_number=number, linkedid=linkedid)
        if twin is None:
            raise
        return twin
    session.refresh(request)
    return request


def _same_call_or_pending(session: Session, *, line: str, caller_number: str, linkedid: str) -> CallbackRequest | None:
    same_call = session.exec(select(CallbackRequest).where(CallbackRequest.linkedid == linkedid)).first()
    if same_call is not None:
        return same_call
    return session.exec(
        select(CallbackRequest).where(
            CallbackRequest.line == line, CallbackRequest.caller_number == caller_number,
            CallbackRequest.status == CallbackStatus.PENDING,
        )
    ).first()


def position_in_line(session: Session, request: CallbackRequest) -> int:
    """1 for the first pending request of its line; the IVR reads it to the caller."""
    ahead = session.exec(
        select(func.count()).select_from(CallbackRequest).where(
            CallbackRequest.line == request.line, CallbackRequest.status == CallbackStatus.PENDING,
            col(CallbackRequest.waiting_since) < request.waiting_since,
        )
    ).one()
    return int(ahead) + 1


def pending_callbacks(session: Session, *, line: str | None = None) -> list[CallbackPublic]:
    """Pending requests in the order the callers first called."""
    query = select(CallbackRequest).where(CallbackRequest.status == CallbackStatus.PENDING)
    if line is not None:
        query = query.where(CallbackRequest.line == line)
    rows = session.exec(query.order_by(col(CallbackRequest.waiting_since), col(CallbackRequest.id))).all()
    return [CallbackPublic.model_validate(row) for row in rows]


def close_callback(
    session: Session, *, callback_id: int, status: CallbackStatus, by: User, at: datetime | None = None
) -> CallbackRequest:
    """An operator called back (done) or gave up on it (cancelled); a request is closed once.

    Compare-and-set in one statement: of two operators closing the same request at the same moment, exactly one
    changes the row; the other is told it was already closed (a read-then-write would let both "win")."""
    if status == CallbackStatus.PENDING:
        raise ValidationFailed("وضعیت پایانی تماس برگشتی را انتخاب کنید.", field="status")
    closed = session.exec(
        sa.update(CallbackRequest)
        .where(col(CallbackRequest.id) == callback_id, col(CallbackRequest.status) == CallbackStatus.PENDING)
        .values(status=status, handled_by_id=by.id, handled_at=at or utcnow())
    )
    request = session.get(CallbackRequest, callback_id, populate_existing=True)  # the row as the update left it
    if request is None:
        raise NotFound("درخواست تماس برگشتی پیدا نشد.", callback_id=callback_id)
    if closed.rowcount != 1:
        raise CallbackAlreadyClosed("این درخواست تماس برگشتی را همکار دیگری پیش‌تر بسته است.",
                                    callback_id=callback_id, status=request.status.value)
    session.refresh(request)
    return request
