"""The ticket lifecycle: one transition table, who may take each action, and the append-only history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.platform.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from callcenter.platform.persian import normalize_text
from callcenter.tickets.reference_names import staff_full_name, unit_name
from callcenter.tickets.unit_receipts import record_step
from db.engine import all_or_nothing
from db.models import (
    OPEN_VERIFICATION,
    Category,
    FieldVerdict,
    Role,
    Ticket,
    TicketAction,
    TicketSource,
    TicketStatus,
    TicketTransition,
    TicketTransitionPublic,
    Unit,
    User,
    VerificationTask,
    utcnow,
)

S, A, V = TicketStatus, TicketAction, FieldVerdict

# Every edge of the graph, keyed by (from status, action, verdict); the verdict is part of the key only for
# the field supervisor's ruling, whose outcome depends on it. Anything not here is refused.
TRANSITIONS: Mapping[tuple[TicketStatus, TicketAction, FieldVerdict | None], TicketStatus] = MappingProxyType({
    (S.REGISTERED, A.REFER, None): S.REFERRED,
    (S.REGISTERED, A.CANCEL, None): S.CANCELLED,
    (S.REFERRED, A.ACCEPT, None): S.ACCEPTED,
    (S.REFERRED, A.DECLINE, None): S.REGISTERED,
    (S.REFERRED, A.RE_REFER, None): S.REFERRED,
    (S.REFERRED, A.CANCEL, None): S.CANCELLED,
    (S.ACCEPTED, A.REPORT_DONE, None): S.DONE,
    (S.ACCEPTED, A.RE_REFER, None): S.REFERRED,
    (S.ACCEPTED, A.CANCEL, None): S.CANCELLED,
    (S.DONE, A.REQUEST_VERIFICATION, None): S.AWAITING_VERIFICATION,
    (S.AWAITING_VERIFICATION, A.VERIFY_RESOLVED, None): S.VERIFIED,
    (S.AWAITING_VERIFICATION, A.VERIFY_NOT_RESOLVED, None): S.REOPENED,
    (S.REOPENED, A.ACCEPT, None): S.ACCEPTED,
    (S.REOPENED, A.DISPUTE, None): S.DISPUTED,
    (S.REOPENED, A.RE_REFER, None): S.REFERRED,
    (S.REOPENED, A.CANCEL, None): S.CANCELLED,
    (S.DISPUTED, A.FIELD_VERDICT, V.CITIZEN_RIGHT): S.REOPENED,
    (S.DISPUTED, A.FIELD_VERDICT, V.UNIT_RIGHT): S.CLOSED_ON_VERDICT,
    (S.DISPUTED, A.FIELD_VERDICT, V.PARTLY): S.REOPENED,
})
_ALLOWED_PAIRS = frozenset((status, action) for status, action, _ in TRANSITIONS)

FINAL_STATUSES = frozenset({S.VERIFIED, S.CLOSED_ON_VERDICT, S.CANCELLED})

# Operators and supervisors talk to citizens: they refer, and they make the verification call. Only the
# ticket's own unit speaks for the unit; only a field supervisor, who has seen the place, settles a dispute;
# withdrawing a ticket (a duplicate) is a supervisor's call. Admins, inspectors and viewers only read.
# A service desk files for the citizen in front of it, and a citizen filing online refers by the routing table
# (callcenter/tickets/filing.py); a citizen answers "solved / not solved" online as they would on the phone.
ACTION_ROLES: Mapping[TicketAction, frozenset[Role]] = MappingProxyType({
    A.REFER: frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.DESK, Role.CITIZEN}),
    A.RE_REFER: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    A.ACCEPT: frozenset({Role.UNIT_LIAISON}),
    A.DECLINE: frozenset({Role.UNIT_LIAISON}),
    A.REPORT_DONE: frozenset({Role.UNIT_LIAISON}),
    A.DISPUTE: frozenset({Role.UNIT_LIAISON}),
    A.REQUEST_VERIFICATION: frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.CITIZEN}),
    A.VERIFY_RESOLVED: frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.CITIZEN}),
    A.VERIFY_NOT_RESOLVED: frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.CITIZEN}),
    A.FIELD_VERDICT: frozenset({Role.FIELD_SUPERVISOR}),
    A.CANCEL: frozenset({Role.SUPERVISOR}),
})
_UNIT_ACTIONS = frozenset({A.ACCEPT, A.DECLINE, A.REPORT_DONE, A.DISPUTE})
_REFERRALS = frozenset({A.REFER, A.RE_REFER})

# Actions that mean nothing without words: what the citizen said, why the unit objects, why it is withdrawn, and
# what the unit did (the operator reads it to the citizen when asking whether the problem is really solved).
_NOTE_REQUIRED: Mapping[TicketAction, str] = MappingProxyType({
    A.REPORT_DONE: "بنویسید چه کاری انجام شد.",
    A.VERIFY_NOT_RESOLVED: "سخن شهروند درباره رفع‌نشدن مشکل را بنویسید.",
    A.DISPUTE: "دلیل اعتراض واحد را بنویسید.",
    A.DECLINE: "بنویسید چرا این درخواست به این واحد مربوط نیست.",
    A.CANCEL: "دلیل لغو درخواست را بنویسید (مثلاً کد رهگیری درخواست تکراری).",
})
_PARTLY_NOTE = "بنویسید کدام بخش از کار هنوز مانده است."
NOTE_MAX_LENGTH = 4000

VERDICT_NAMES: Mapping[FieldVerdict, str] = MappingProxyType({
    V.CITIZEN_RIGHT: "حق با شهروند",
    V.UNIT_RIGHT: "حق با واحد",
    V.PARTLY: "تا حدی",
})

STATUS_NAMES: Mapping[TicketStatus, str] = MappingProxyType({
    S.REGISTERED: "ثبت‌شده",
    S.REFERRED: "ارجاع‌شده به واحد",
    S.ACCEPTED: "در دست اقدام واحد",
    S.DONE: "انجام‌شده به گزارش واحد",
    S.AWAITING_VERIFICATION: "در انتظار تأیید شهروند",
    S.VERIFIED: "بسته‌شده با تأیید شهروند",
    S.REOPENED: "بازگشایی‌شده",
    S.DISPUTED: "در انتظار رأی ناظر میدانی",
    S.CLOSED_ON_VERDICT: "بسته‌شده با رأی ناظر میدانی",
    S.CANCELLED: "لغوشده",
})
ACTION_NAMES: Mapping[TicketAction, str] = MappingProxyType({
    A.REFER: "ارجاع",
    A.ACCEPT: "پذیرش",
    A.DECLINE: "بازگرداندن به مرکز تماس",
    A.REPORT_DONE: "اعلام انجام کار",
    A.REQUEST_VERIFICATION: "درخواست تأیید از شهروند",
    A.VERIFY_RESOLVED: "ثبت رفع مشکل",
    A.VERIFY_NOT_RESOLVED: "ثبت رفع‌نشدن مشکل",
    A.DISPUTE: "اعتراض واحد",
    A.FIELD_VERDICT: "رأی ناظر میدانی",
    A.RE_REFER: "ارجاع دوباره",
    A.CANCEL: "لغو",
})


@dataclass(frozen=True)
class Citizen:
    """The citizen themself, acting through a public channel: no account, so the step records no actor id and
    the role CITIZEN. Whoever passes one has checked that this citizen may act on this ticket (a verified
    mobile, a signed link)."""

    channel: TicketSource
    role: Role = Role.CITIZEN
    is_active: bool = True
    id: None = None


Actor = User | Citizen
CITIZEN_ACTOR_NAME = "شهروند"


def note_required(action: TicketAction, verdict: FieldVerdict | None = None) -> str | None:
    """What to ask for when the step is taken without a note, or None when a note is optional."""
    if action in _NOTE_REQUIRED:
        return _NOTE_REQUIRED[action]
    return _PARTLY_NOTE if verdict == FieldVerdict.PARTLY else None


def steps_open_to(role: Role, status: TicketStatus) -> list[tuple[TicketAction, FieldVerdict | None]]:
    """The steps of the graph out of ``status`` that ``role`` may take, in the table's order (the pages' buttons)."""
    return [(action, verdict) for (source, action, verdict) in TRANSITIONS
            if source == status and role in ACTION_ROLES[action]]


def next_status(status: TicketStatus, action: TicketAction, verdict: FieldVerdict | None = None) -> TicketStatus:
    """Where ``action`` takes a ticket in ``status``; refuses anything that is not an edge of the graph."""
    if (status, action) not in _ALLOWED_PAIRS:
        raise InvalidTransition(
            f"این درخواست در وضعیت «{STATUS_NAMES[status]}» است و «{ACTION_NAMES[action]}» برای آن ممکن نیست.",
            status=status.value, action=action.value,
        )
    outcome = TRANSITIONS.get((status, action, verdict))
    if outcome is not None:
        return outcome
    if verdict is None:
        raise ValidationFailed("نتیجه بازدید ناظر میدانی را انتخاب کنید.", field="verdict")
    raise ValidationFailed("نتیجه بازدید فقط همراه با رأی ناظر میدانی ثبت می‌شود.", field="verdict")


@all_or_nothing
def apply_action(
    session: Session,
    *,
    ticket_id: int,
    action: TicketAction,
    actor: Actor,
    note: str = "",
    unit_id: int | None = None,
    verdict: FieldVerdict | None = None,
    expected_status: TicketStatus | None = None,
    with_step: Callable[[Session, TicketTransition], None] | None = None,
) -> TicketTransition:
    """Move the ticket one step and record it in the caller's transaction; refuses a stale, invalid or
    unauthorised step (raising, so the edge rolls back whatever the step had written).

    ``expected_status`` is the status the caller saw on screen: if someone else has moved the ticket since,
    the step is refused instead of being applied to a ticket the caller has not seen. ``with_step`` adds rows
    that belong to the step (its photos) once the step has an id, so they commit or roll back with it.
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("درخواست پیدا نشد.", ticket_id=ticket_id)
    from_status, from_unit_id = ticket.status, ticket.unit_id
    if expected_status is not None and from_status != expected_status:
        raise _moved_on(ticket_id, from_status)
    to_status = next_status(from_status, action, verdict)
    actor_id = _permitted_actor_id(actor, action, ticket)
    clean_note = _checked_note(action, verdict, note)
    to_unit_id = _target_unit(session, action, ticket, unit_id)
    at = utcnow()
    _move(session, ticket_id=ticket_id, from_status=from_status, from_unit_id=from_unit_id,
          to_status=to_status, to_unit_id=to_unit_id,
          clock=_unit_clock(session, ticket, at) if action in _REFERRALS else {})
    transition = TicketTransition(
        ticket_id=ticket_id, from_status=from_status, to_status=to_status, action=action,
        actor_id=actor_id, actor_role=actor.role, note=clean_note,
        from_unit_id=from_unit_id, to_unit_id=to_unit_id, verdict=verdict, at=at,
    )
    session.add(transition)
    session.flush()
    if with_step is not None:
        with_step(session, transition)
    record_step(session, ticket, transition)
    if action == TicketAction.REPORT_DONE:
        _open_verification_task(session, ticket)
    session.flush()
    session.refresh(transition)
    return transition


OPEN_VERIFICATION_STATUSES = OPEN_VERIFICATION


def _open_verification_task(session: Session, ticket: Ticket) -> None:
    """Work reported done is asked about: a verification task in the same transaction (callcenter.verification.tasks
    works it). None without a number to call (an anonymous message), or when one is already open."""
    if not ticket.caller_number or ticket.id is None:
        return
    already = session.exec(
        select(VerificationTask).where(VerificationTask.ticket_id == ticket.id,
                                       col(VerificationTask.status).in_(OPEN_VERIFICATION_STATUSES))
    ).first()
    if already is None:
        session.add(VerificationTask(ticket_id=ticket.id))


def _moved_on(ticket_id: int, status: TicketStatus) -> Conflict:
    return Conflict(f"وضعیت این درخواست در این فاصله تغییر کرده و اکنون «{STATUS_NAMES[status]}» است؛ "
                    "صفحه را تازه کنید و دوباره تصمیم بگیرید.", ticket_id=ticket_id, status=status.value)


def _permitted_actor_id(actor: Actor, action: TicketAction, ticket: Ticket) -> int | None:
    """The actor's id (None for a citizen), if their role (and, for a liaison, their unit) lets them act."""
    if isinstance(actor, Citizen):
        if Role.CITIZEN not in ACTION_ROLES[action]:
            raise PermissionDenied(f"«{ACTION_NAMES[action]}» از سوی شهروند ممکن نیست.", action=action.value)
        return None
    if actor.id is None or not actor.is_active:
        raise PermissionDenied("این حساب کاربری فعال نیست.")
    if actor.role not in ACTION_ROLES[action]:
        raise PermissionDenied(f"نقش شما اجازه «{ACTION_NAMES[action]}» را ندارد.",
                               action=action.value, role=actor.role.value)
    if action in _UNIT_ACTIONS and (actor.unit_id is None or actor.unit_id != ticket.unit_id):
        raise PermissionDenied("این درخواست به واحد شما ارجاع نشده است.", action=action.value)
    return actor.id


def _checked_note(action: TicketAction, verdict: FieldVerdict | None, note: str) -> str:
    clean = normalize_text(note)
    if len(clean) > NOTE_MAX_LENGTH:
        raise ValidationFailed("توضیح بیش از اندازه طولانی است.", field="note")
    if clean:
        return clean
    missing = note_required(action, verdict)
    if missing is not None:
        raise ValidationFailed(missing, field="note")
    return clean


def _target_unit(session: Session, action: TicketAction, ticket: Ticket, unit_id: int | None) -> int | None:
    """The unit the ticket is with after the action: a referral names one, every other action keeps it."""
    if action not in _REFERRALS:
        if unit_id is not None:
            raise ValidationFailed("واحد فقط هنگام ارجاع تعیین می‌شود.", field="unit_id")
        return ticket.unit_id
    if unit_id is None:
        raise ValidationFailed("واحدی را که درخواست به آن ارجاع می‌شود انتخاب کنید.", field="unit_id")
    if session.get(Unit, unit_id) is None:
        raise ValidationFailed("واحد انتخاب‌شده وجود ندارد.", field="unit_id")
    if action == TicketAction.RE_REFER and unit_id == ticket.unit_id:
        raise ValidationFailed("درخواست هم‌اکنون نزد همین واحد است؛ واحد دیگری انتخاب کنید.", field="unit_id")
    if ticket.category_id is None:
        # A recorded message nobody has listened to yet: the unit cannot act on it before it is classified.
        raise ValidationFailed("پیش از ارجاع، دسته‌بندی پیام صوتی را تعیین کنید.", field="category_id")
    return unit_id


def unit_deadline(session: Session, ticket: Ticket, referred_at: datetime) -> datetime:
    """The deadline of a unit the ticket reached at ``referred_at``: that plus its category's ``sla_hours``. A
    reopening does not restart the clock; only a referral does."""
    category = session.get(Category, ticket.category_id) if ticket.category_id is not None else None
    hours = category.sla_hours if category is not None else int(Category.model_fields["sla_hours"].default)
    return referred_at + timedelta(hours=hours)


def _unit_clock(session: Session, ticket: Ticket, at: datetime) -> dict[str, datetime]:
    """What a referral at ``at`` sets on the ticket's row: the inboxes sort by it, the escalation job reads it."""
    return {"referred_at": at, "unit_deadline": unit_deadline(session, ticket, at)}


def _move(
    session: Session, *, ticket_id: int, from_status: TicketStatus, from_unit_id: int | None,
    to_status: TicketStatus, to_unit_id: int | None, clock: Mapping[str, datetime],
) -> None:
    """Compare-and-set: only if nobody moved the ticket since it was read (two clicks at once apply once)."""
    same_unit = col(Ticket.unit_id).is_(None) if from_unit_id is None else col(Ticket.unit_id) == from_unit_id
    moved = session.exec(
        sa.update(Ticket)
        .where(col(Ticket.id) == ticket_id, col(Ticket.status) == from_status, same_unit)
        .values(status=to_status, unit_id=to_unit_id, **clock)
    )
    if moved.rowcount != 1:
        current = session.get(Ticket, ticket_id, populate_existing=True)  # as it is now, not as first read
        raise _moved_on(ticket_id, current.status if current else from_status)


def history(session: Session, ticket_id: int) -> list[TicketTransitionPublic]:
    """Every step the ticket took, oldest first, with who took it and between which units."""
    if session.get(Ticket, ticket_id) is None:
        raise NotFound("درخواست پیدا نشد.", ticket_id=ticket_id)
    rows = session.exec(
        select(TicketTransition).where(TicketTransition.ticket_id == ticket_id)
        .order_by(col(TicketTransition.at), col(TicketTransition.id))
    ).all()
    return [_public(session, row) for row in rows]


def _public(session: Session, transition: TicketTransition) -> TicketTransitionPublic:
    citizen = transition.actor_role == Role.CITIZEN
    return TicketTransitionPublic.model_validate(transition, update={
        "actor_name": CITIZEN_ACTOR_NAME if citizen else staff_full_name(session, transition.actor_id),
        "from_unit_name": unit_name(session, transition.from_unit_id),
        "to_unit_name": unit_name(session, transition.to_unit_id),
    })


def refer_on_filing(session: Session, *, ticket: Ticket, by: Actor) -> None:
    """An operator who files a ticket has chosen its unit: that is the referral, the first step of its history.

    A retried form returns the ticket already referred (nothing to do); an admin filing leaves it registered for
    a call handler to refer."""
    if ticket.status != TicketStatus.REGISTERED or ticket.unit_id is None or ticket.id is None:
        return
    if by.role not in ACTION_ROLES[TicketAction.REFER]:
        return
    apply_action(session, ticket_id=ticket.id, action=TicketAction.REFER, actor=by, unit_id=ticket.unit_id)
    session.refresh(ticket)
