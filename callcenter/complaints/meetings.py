"""In-person meetings with the inspection office: slots published on working days, one live booking per complaint
whose place is taken by a conditional UPDATE (two people, one last place: exactly one wins), reschedule, cancel,
withdrawal, and the complainant's SMS (confirmation, change, cancellation, the reminder the day before)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from callcenter.complaints import identity
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.calendar import TEHRAN, in_tehran, jalali_day_label, tehran_clock, tehran_midnight
from callcenter.platform.errors import Conflict, MeetingAlreadyBooked, MeetingSlotTaken, NotFound, ValidationFailed
from callcenter.platform.persian import normalize_text, persian_digits
from callcenter.platform.phone_numbers import sms_number
from callcenter.platform.service_hours import ServiceHours, load_holidays, parse_service_hours
from callcenter.platform.settings import Settings
from callcenter.tickets.sms import queue_sms
from db.engine import all_or_nothing, unit_of_work
from db.models import Complaint, MeetingBooking, MeetingBookingStatus, MeetingSlot, User, utcnow

# A series spans at most this many days (two months of slots is already far ahead of any agenda).
MAX_SERIES_DAYS = 62
MAX_CAPACITY = 50
MAX_PLACE = 200
# Reminders go out the day before, but not before this hour in Tehran (no texts at night).
REMINDER_FROM = time(9, 0)
REMINDER_EVERY = timedelta(minutes=15)
_SLOTS: sa.Table = MeetingSlot.__table__  # type: ignore[attr-defined]
_BOOKINGS: sa.Table = MeetingBooking.__table__  # type: ignore[attr-defined]
_LIVE = MeetingBookingStatus.BOOKED

BOOKED_TEXT = "شهرداری قزوین، بازرسی: وقت دیدار حضوری شکایت {code}: {when}، {place}. کد رهگیری را همراه بیاورید."
MOVED_TEXT = "شهرداری قزوین، بازرسی: وقت دیدار حضوری شکایت {code} تغییر کرد به {when}، {place}."
CANCELLED_TEXT = "شهرداری قزوین، بازرسی: وقت دیدار حضوری شکایت {code} ({when}) لغو شد."
WITHDRAWN_TEXT = ("شهرداری قزوین، بازرسی: وقت دیدار حضوری شکایت {code} ({when}) از سوی بازرسی لغو شد؛"
                  " با پیگیری شکایت وقت دیگری بگیرید.")
REMINDER_TEXT = "شهرداری قزوین، بازرسی: یادآوری دیدار حضوری شکایت {code}: فردا {when}، {place}."

NO_SUCH_SLOT = "این وقت پیدا نشد."
NO_LIVE_BOOKING = "برای این شکایت وقت دیداری ثبت نشده است."
SAME_SLOT = "این همان وقتی است که گرفته‌اید."
CASE_CLOSED = "پرونده این شکایت بسته شده است؛ برای آن وقت دیدار گرفته نمی‌شود."
NOTHING_TO_PUBLISH = "در این بازه روز کاری یا وقتی آینده نیست؛ روزها و ساعت‌ها را بررسی کنید."


def office_hours(settings: Settings) -> ServiceHours:
    """The municipality's working days as the 137 side decides them: its service hours and the holidays file."""
    return parse_service_hours(settings.service_hours, load_holidays(settings.holidays_file))


@dataclass(frozen=True)
class SeriesPlan:
    """Slots to publish: on each working day from ``first_day`` to ``last_day`` (Gregorian, Tehran), one every
    ``every_minutes`` from ``day_start`` while a meeting of ``minutes`` still ends by ``day_end`` (Tehran clock).
    A single slot is a one-day plan whose window holds one meeting."""

    first_day: date
    last_day: date
    day_start: time
    day_end: time
    every_minutes: int
    minutes: int
    capacity: int
    place: str


def slot_starts(plan: SeriesPlan, hours: ServiceHours) -> list[datetime]:
    """The starts (aware UTC) of the plan's slots, holidays, Fridays and closed weekdays skipped."""
    _check_plan(plan)
    starts: list[datetime] = []
    day = plan.first_day
    while day <= plan.last_day:
        if hours.is_working_day(day):
            # Wall-clock arithmetic on one day's Tehran times, converted one by one.
            moment = datetime.combine(day, plan.day_start, tzinfo=TEHRAN)
            end = datetime.combine(day, plan.day_end, tzinfo=TEHRAN)
            while moment + timedelta(minutes=plan.minutes) <= end:
                starts.append(moment.astimezone(UTC))
                moment += timedelta(minutes=plan.every_minutes)
        day += timedelta(days=1)
    return starts


def _check_plan(plan: SeriesPlan) -> None:
    if plan.last_day < plan.first_day:
        raise ValidationFailed("روز پایان پیش از روز آغاز است.", field="last_day")
    if (plan.last_day - plan.first_day).days >= MAX_SERIES_DAYS:
        raise ValidationFailed(f"یک سری وقت حداکثر {persian_digits(MAX_SERIES_DAYS)} روز است.", field="last_day")
    if plan.day_end <= plan.day_start:
        raise ValidationFailed("ساعت پایان باید پس از ساعت آغاز باشد.", field="day_end")
    if not 5 <= plan.minutes <= 240:
        raise ValidationFailed("مدت هر دیدار باید بین ۵ تا ۲۴۰ دقیقه باشد.", field="minutes")
    if not 5 <= plan.every_minutes <= 24 * 60:
        raise ValidationFailed("فاصله وقت‌ها باید دست‌کم ۵ دقیقه باشد.", field="every_minutes")
    if not 1 <= plan.capacity <= MAX_CAPACITY:
        raise ValidationFailed(f"ظرفیت هر وقت باید بین ۱ تا {persian_digits(MAX_CAPACITY)} باشد.", field="capacity")
    if not normalize_text(plan.place).strip():
        raise ValidationFailed("محل دیدار را بنویسید.", field="place")
    if len(normalize_text(plan.place).strip()) > MAX_PLACE:
        raise ValidationFailed("نشانی محل دیدار طولانی‌تر از حد مجاز است.", field="place")


def publish(session: Session, plan: SeriesPlan, *, hours: ServiceHours, by: User, now: datetime) -> list[MeetingSlot]:
    """Add the plan's future slots (a slot already published at that time and place is kept, not doubled);
    flushed, the caller commits."""
    place = normalize_text(plan.place).strip()
    starts = [start for start in slot_starts(plan, hours) if start > now]
    taken = set(session.exec(select(MeetingSlot.starts_at).where(
        col(MeetingSlot.starts_at).in_(starts), MeetingSlot.place == place, col(MeetingSlot.withdrawn).is_(False),
    )).all()) if starts else set()
    slots = [MeetingSlot(starts_at=start, minutes=plan.minutes, capacity=plan.capacity, place=place,
                         created_by_id=by.id) for start in starts if start not in taken]
    if not slots and not taken:
        raise ValidationFailed(NOTHING_TO_PUBLISH, field="first_day")
    session.add_all(slots)
    session.flush()
    return slots


def open_slots(session: Session, *, now: datetime, days: int = 30) -> list[MeetingSlot]:
    """Future slots with a free place in the next ``days`` days, earliest first (what a complainant may pick)."""
    return list(session.exec(select(MeetingSlot).where(
        col(MeetingSlot.starts_at) > now, col(MeetingSlot.starts_at) < now + timedelta(days=days),
        col(MeetingSlot.withdrawn).is_(False), col(MeetingSlot.booked) < col(MeetingSlot.capacity),
    ).order_by(col(MeetingSlot.starts_at), col(MeetingSlot.id))).all())


def slots_of_day(session: Session, day: date) -> list[MeetingSlot]:
    """Every slot of a Tehran calendar day, withdrawn ones too (the inspectors' day view), earliest first."""
    return list(session.exec(select(MeetingSlot).where(
        col(MeetingSlot.starts_at) >= tehran_midnight(day),
        col(MeetingSlot.starts_at) < tehran_midnight(day + timedelta(days=1)),
    ).order_by(col(MeetingSlot.starts_at), col(MeetingSlot.id))).all())


def live_bookings_of(session: Session, slot_ids: list[int]) -> list[MeetingBooking]:
    if not slot_ids:
        return []
    return list(session.exec(select(MeetingBooking).where(
        col(MeetingBooking.slot_id).in_(slot_ids), MeetingBooking.status == _LIVE,
    ).order_by(col(MeetingBooking.booked_at), col(MeetingBooking.id))).all())


def live_booking(session: Session, complaint_id: int) -> MeetingBooking | None:
    """The complaint's one booked meeting, if it has one."""
    return session.exec(select(MeetingBooking).where(
        MeetingBooking.complaint_id == complaint_id, MeetingBooking.status == _LIVE)).first()


def slot(session: Session, slot_id: int) -> MeetingSlot:
    """The slot as stored now (refreshed: the conditional updates bypass the session's copy)."""
    found = session.get(MeetingSlot, slot_id)
    if found is None:
        raise NotFound(NO_SUCH_SLOT, slot_id=slot_id)
    session.refresh(found)
    return found


def day_of(moment: datetime) -> date:
    """The Tehran calendar day a slot starts on."""
    return in_tehran(moment).date()


def when_text(meeting: MeetingSlot) -> str:
    """«شنبه ۱۴ آذر ۱۴۰۵، ساعت ۰۹:۳۰»: a slot's day and time as the complainant reads them."""
    return f"{jalali_day_label(day_of(meeting.starts_at))}، ساعت {tehran_clock(meeting.starts_at)}"


def _take_place(session: Session, slot_id: int, now: datetime) -> None:
    """The race's referee: one statement that raises ``booked`` only while a place is free, the slot is not
    withdrawn and has not begun; the database's row lock makes the second of two last-place takers see it full."""
    taken = session.connection().execute(
        sa.update(_SLOTS)
        .where(_SLOTS.c.id == slot_id, _SLOTS.c.booked < _SLOTS.c.capacity, sa.not_(_SLOTS.c.withdrawn),
               _SLOTS.c.starts_at > now)
        .values(booked=_SLOTS.c.booked + 1)
    )
    if taken.rowcount != 1:
        raise MeetingSlotTaken(slot_id=slot_id)


def _release_place(session: Session, slot_id: int) -> None:
    session.connection().execute(
        sa.update(_SLOTS).where(_SLOTS.c.id == slot_id, _SLOTS.c.booked > 0).values(booked=_SLOTS.c.booked - 1))


def _end_booking(session: Session, booking_id: int, status: MeetingBookingStatus, now: datetime) -> None:
    """Compare-and-set: only a still-live booking ends (a second tab's cancel finds it gone)."""
    ended = session.connection().execute(
        sa.update(_BOOKINGS).where(_BOOKINGS.c.id == booking_id, _BOOKINGS.c.status == _LIVE)
        .values(status=status, cancelled_at=now))
    if ended.rowcount != 1:
        raise Conflict(NO_LIVE_BOOKING, booking_id=booking_id)


def _new_booking(session: Session, complaint_id: int, slot_id: int, now: datetime) -> MeetingBooking:
    booking = MeetingBooking(slot_id=slot_id, complaint_id=complaint_id, booked_at=now)
    session.add(booking)
    try:
        session.flush()
    except IntegrityError as twin:  # the partial unique index: another tab booked for this complaint just now
        raise MeetingAlreadyBooked(complaint_id=complaint_id) from twin
    return booking


def _refuse_closed(complaint: Complaint) -> None:
    """A case that reached its final status needs no meeting (cancelling one still works)."""
    if complaint.closed_at is not None:
        raise Conflict(CASE_CLOSED, complaint_id=complaint.id)


def _complaint_id(complaint: Complaint) -> int:
    assert complaint.id is not None  # a stored complaint
    return complaint.id


@all_or_nothing
def book(session: Session, settings: Settings, *, complaint: Complaint, slot_id: int,
         now: datetime) -> MeetingBooking:
    """Take a place in the slot for the complaint (one live booking per complaint) and text the confirmation."""
    complaint_id = _complaint_id(complaint)
    _refuse_closed(complaint)
    if live_booking(session, complaint_id) is not None:
        raise MeetingAlreadyBooked(complaint_id=complaint_id)
    _take_place(session, slot_id, now)
    booking = _new_booking(session, complaint_id, slot_id, now)
    meeting = slot(session, slot_id)
    _text(session, settings, complaint, key=f"meeting-booked:{booking.id}",
          body=BOOKED_TEXT.format(code=_code(complaint), when=when_text(meeting), place=persian_digits(meeting.place)))
    return booking


@all_or_nothing
def reschedule(session: Session, settings: Settings, *, complaint: Complaint, slot_id: int,
               now: datetime) -> MeetingBooking:
    """Move the complaint's booking to another slot: the new place is taken first, then the old one released
    (its booking ``moved``), all in one step, so a full new slot leaves the old booking as it was."""
    complaint_id = _complaint_id(complaint)
    old = live_booking(session, complaint_id)
    if old is None or old.id is None:
        raise Conflict(NO_LIVE_BOOKING, complaint_id=complaint_id)
    if old.slot_id == slot_id:
        raise ValidationFailed(SAME_SLOT, field="slot_id")
    _refuse_closed(complaint)
    _take_place(session, slot_id, now)
    _end_booking(session, old.id, MeetingBookingStatus.MOVED, now)
    _release_place(session, old.slot_id)
    session.expire(old)
    booking = _new_booking(session, complaint_id, slot_id, now)
    meeting = slot(session, slot_id)
    _text(session, settings, complaint, key=f"meeting-moved:{booking.id}",
          body=MOVED_TEXT.format(code=_code(complaint), when=when_text(meeting), place=persian_digits(meeting.place)))
    return booking


@all_or_nothing
def cancel(session: Session, settings: Settings, *, complaint: Complaint, now: datetime) -> MeetingBooking:
    """The complainant cancels: the booking ends, its place is free again, the cancellation is texted."""
    complaint_id = _complaint_id(complaint)
    booking = live_booking(session, complaint_id)
    if booking is None or booking.id is None:
        raise Conflict(NO_LIVE_BOOKING, complaint_id=complaint_id)
    _end_booking(session, booking.id, MeetingBookingStatus.CANCELLED, now)
    _release_place(session, booking.slot_id)
    session.refresh(booking)
    meeting = slot(session, booking.slot_id)
    _text(session, settings, complaint, key=f"meeting-cancelled:{booking.id}",
          body=CANCELLED_TEXT.format(code=_code(complaint), when=when_text(meeting)))
    return booking


@all_or_nothing
def withdraw(session: Session, settings: Settings, *, slot_id: int, now: datetime) -> list[MeetingBooking]:
    """The office takes a slot back: no one can book it any more, its bookings are cancelled and texted."""
    withdrawn = session.connection().execute(
        sa.update(_SLOTS).where(_SLOTS.c.id == slot_id, sa.not_(_SLOTS.c.withdrawn)).values(withdrawn=True))
    if withdrawn.rowcount != 1:
        slot(session, slot_id)  # NotFound for no such slot
        return []  # withdrawn already: nothing more to do
    cancelled = live_bookings_of(session, [slot_id])
    meeting = slot(session, slot_id)
    for booking in cancelled:
        assert booking.id is not None
        _end_booking(session, booking.id, MeetingBookingStatus.CANCELLED, now)
        _release_place(session, slot_id)
        session.refresh(booking)
        complaint = session.get(Complaint, booking.complaint_id)
        if complaint is not None:
            _text(session, settings, complaint, key=f"meeting-withdrawn:{booking.id}",
                  body=WITHDRAWN_TEXT.format(code=_code(complaint), when=when_text(meeting)))
    return cancelled


def send_reminders(session: Session, settings: Settings, *, now: datetime) -> int:
    """Queue the reminder of each live booking whose meeting is tomorrow (Tehran), once per booking; from
    ``REMINDER_FROM`` on. Anonymous complainants have no number and get none. Returns how many were queued."""
    local = in_tehran(now)
    if local.time() < REMINDER_FROM:
        return 0
    tomorrow = local.date() + timedelta(days=1)
    due = session.exec(
        select(MeetingBooking, MeetingSlot, Complaint)
        .join(MeetingSlot, col(MeetingSlot.id) == MeetingBooking.slot_id)
        .join(Complaint, col(Complaint.id) == MeetingBooking.complaint_id)
        .where(MeetingBooking.status == _LIVE, col(MeetingBooking.reminder_sent_at).is_(None),
               col(MeetingSlot.withdrawn).is_(False), col(Complaint.identity_sealed).is_not(None),
               col(MeetingSlot.starts_at) >= tehran_midnight(tomorrow),
               col(MeetingSlot.starts_at) < tehran_midnight(tomorrow + timedelta(days=1)))
    ).all()
    queued = 0
    for booking, meeting, complaint in due:
        claimed = session.connection().execute(
            sa.update(_BOOKINGS).where(_BOOKINGS.c.id == booking.id, _BOOKINGS.c.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now))
        if claimed.rowcount != 1:
            continue  # another process sent it a moment ago
        body = REMINDER_TEXT.format(code=_code(complaint), when=when_text(meeting), place=persian_digits(meeting.place))
        if _text(session, settings, complaint, key=f"meeting-reminder:{booking.id}", body=body):
            queued += 1
    return queued


def reminder_job(settings: Settings, *, engine: Engine) -> Callable[[], int]:
    """The scheduler's job: the reminders due now, in a unit of work of their own."""
    def run() -> int:
        with unit_of_work(engine) as session:
            return send_reminders(session, settings, now=utcnow())
    return run


def _code(complaint: Complaint) -> str:
    return persian_digits(format_for_reading(complaint.tracking_code))


def _text(session: Session, settings: Settings, complaint: Complaint, *, key: str, body: str) -> bool:
    """Queue ``body`` to a named complainant's mobile (unsealed here, forgotten by the outbox once sent); an
    anonymous complainant has no number and gets nothing. True when a message was queued."""
    if complaint.anonymous or not complaint.identity_sealed:
        return False
    mobile = sms_number(identity.unseal(settings, complaint.identity_sealed).mobile)
    if mobile is None:
        return False
    return queue_sms(session, to=mobile, body=body, key=key, forget_number=True) is not None
