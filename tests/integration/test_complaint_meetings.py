"""Meetings on SQLite and PostgreSQL: publishing, two complainants racing for the last place (two real connections,
one wins), one live booking per complaint, reschedule all or nothing, cancel and withdrawal freeing places, the SMS
texts (named complainants only, number forgotten by the outbox) and the reminder the day before, sent once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.complaints import meetings
from callcenter.platform.calendar import TEHRAN
from callcenter.platform.errors import Conflict, MeetingAlreadyBooked, MeetingSlotTaken
from callcenter.platform.persian import persian_digits
from callcenter.platform.service_hours import parse_service_hours
from callcenter.platform.settings import Settings
from db.engine import make_engine, unit_of_work
from db.models import Complaint, MeetingBooking, MeetingBookingStatus, MeetingSlot, SmsMessage
from tests.support.meetings import MOBILE, filed_complaint, inspector, meeting_settings, one_day_plan, slot_row

HOURS = parse_service_hours("24/7")
# A fixed Saturday morning in Tehran; slots are published for the following days.
NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)  # شنبه ۱۴ آذر ۱۴۰۵، ۰۹:۳۰
SUNDAY = datetime(2026, 12, 6).date()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return meeting_settings(database_url)


def published(engine: sa.Engine, *, capacity: int = 1, start: time = time(9, 0), end: time = time(10, 0)) -> list[int]:
    with unit_of_work(engine) as session:
        slots = meetings.publish(session, one_day_plan(SUNDAY, start=start, end=end, capacity=capacity),
                                 hours=HOURS, by=inspector(session), now=NOW)
        return [slot.id for slot in slots if slot.id is not None]


def texts(engine: sa.Engine) -> list[SmsMessage]:
    with unit_of_work(engine) as session:
        rows = list(session.exec(select(SmsMessage).order_by(col(SmsMessage.id))).all())
        for row in rows:
            session.expunge(row)
        return rows


def book(engine: sa.Engine, settings: Settings, complaint: Complaint, slot_id: int) -> MeetingBooking:
    with unit_of_work(engine) as session:
        booking = meetings.book(session, settings, complaint=complaint, slot_id=slot_id, now=NOW)
        session.expunge(booking)
        return booking


def bookings(engine: sa.Engine, complaint: Complaint) -> list[tuple[int, MeetingBookingStatus]]:
    with unit_of_work(engine) as session:
        rows = session.exec(select(MeetingBooking).where(MeetingBooking.complaint_id == complaint.id)
                            .order_by(col(MeetingBooking.id))).all()
        return [(row.slot_id, row.status) for row in rows]


def test_given_a_morning_when_published_twice_then_each_time_is_one_slot_in_utc(engine: sa.Engine) -> None:
    first = published(engine, capacity=2)
    again = published(engine, capacity=2)
    assert len(first) == 2 and again == []
    with unit_of_work(engine) as session:
        starts = [slot.starts_at for slot in meetings.slots_of_day(session, SUNDAY)]
    assert starts == [datetime(2026, 12, 6, 9, 0, tzinfo=TEHRAN), datetime(2026, 12, 6, 9, 30, tzinfo=TEHRAN)]


def test_given_one_place_left_when_two_complainants_take_it_at_once_then_exactly_one_succeeds(
    engine: sa.Engine, database_url: str, settings: Settings,
) -> None:
    slot_id = published(engine, capacity=2, end=time(9, 30))[0]
    book(engine, settings, filed_complaint(engine, settings), slot_id)  # one place left
    racers = [filed_complaint(engine, settings), filed_complaint(engine, settings)]
    # Each racer has its own engine, so its own connection: the database, not Python, decides who wins.
    engines = [make_engine(database_url) for _ in racers]
    barrier = threading.Barrier(len(racers))
    outcomes: list[str] = []

    def race(own_engine: sa.Engine, complaint: Complaint) -> None:
        with Session(own_engine, expire_on_commit=False) as session:
            session.get(MeetingSlot, slot_id)  # both have read the slot with its free place
            barrier.wait()
            try:
                meetings.book(session, settings, complaint=complaint, slot_id=slot_id, now=NOW)
                session.commit()
                outcomes.append("booked")
            except MeetingSlotTaken:
                session.rollback()
                outcomes.append("taken")

    threads = [threading.Thread(target=race, args=pair) for pair in zip(engines, racers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for own_engine in engines:
        own_engine.dispose()
    assert sorted(outcomes) == ["booked", "taken"]
    assert slot_row(engine, slot_id).booked == 2
    with unit_of_work(engine) as session:
        live = session.exec(select(MeetingBooking).where(MeetingBooking.slot_id == slot_id,
                                                         MeetingBooking.status == MeetingBookingStatus.BOOKED)).all()
    assert len(live) == 2


def test_given_a_booking_when_the_complaint_books_again_then_refused_and_no_place_is_taken(
    engine: sa.Engine, settings: Settings,
) -> None:
    first, second = published(engine)
    complaint = filed_complaint(engine, settings)
    book(engine, settings, complaint, first)
    with pytest.raises(MeetingAlreadyBooked):
        book(engine, settings, complaint, second)
    assert slot_row(engine, second).booked == 0
    assert bookings(engine, complaint) == [(first, MeetingBookingStatus.BOOKED)]


def test_given_a_booking_when_rescheduled_then_the_new_place_is_taken_and_the_old_released(
    engine: sa.Engine, settings: Settings,
) -> None:
    first, second = published(engine)
    complaint = filed_complaint(engine, settings)
    book(engine, settings, complaint, first)
    with unit_of_work(engine) as session:
        meetings.reschedule(session, settings, complaint=complaint, slot_id=second, now=NOW)
    assert (slot_row(engine, first).booked, slot_row(engine, second).booked) == (0, 1)
    assert bookings(engine, complaint) == [(first, MeetingBookingStatus.MOVED), (second, MeetingBookingStatus.BOOKED)]


def test_given_a_full_slot_when_rescheduling_to_it_then_the_old_booking_stays_as_it_was(
    engine: sa.Engine, settings: Settings,
) -> None:
    first, second = published(engine)
    complaint, other = filed_complaint(engine, settings), filed_complaint(engine, settings)
    book(engine, settings, complaint, first)
    book(engine, settings, other, second)  # the only place of the second slot
    with unit_of_work(engine) as session, pytest.raises(MeetingSlotTaken):
        meetings.reschedule(session, settings, complaint=complaint, slot_id=second, now=NOW)
    assert (slot_row(engine, first).booked, slot_row(engine, second).booked) == (1, 1)
    assert bookings(engine, complaint) == [(first, MeetingBookingStatus.BOOKED)]
    assert not any(message.dedup_key and message.dedup_key.startswith("meeting-moved:") for message in texts(engine))


def test_given_a_booking_when_cancelled_then_the_place_is_free_and_the_complainant_is_texted(
    engine: sa.Engine, settings: Settings,
) -> None:
    (slot_id, _) = published(engine)
    complaint = filed_complaint(engine, settings)
    booking = book(engine, settings, complaint, slot_id)
    with unit_of_work(engine) as session:
        meetings.cancel(session, settings, complaint=complaint, now=NOW)
        assert next(slot.id for slot in meetings.open_slots(session, now=NOW)) == slot_id
    assert slot_row(engine, slot_id).booked == 0
    sent = texts(engine)
    assert [message.dedup_key for message in sent] == [f"meeting-booked:{booking.id}",
                                                      f"meeting-cancelled:{booking.id}"]
    assert all(message.to_number == MOBILE and message.forget_number for message in sent)
    code = persian_digits(complaint.tracking_code[:4])
    assert code in sent[0].body and "یک‌شنبه ۱۵ آذر ۱۴۰۵، ساعت ۰۹:۰۰" in sent[0].body and "لغو شد" in sent[1].body


def test_given_an_anonymous_complainant_when_they_book_then_no_sms_is_queued(
    engine: sa.Engine, settings: Settings,
) -> None:
    (slot_id, _) = published(engine)
    complaint = filed_complaint(engine, settings, anonymous=True)
    book(engine, settings, complaint, slot_id)
    with unit_of_work(engine) as session:
        assert meetings.send_reminders(session, settings, now=NOW + timedelta(hours=1)) == 0
    assert texts(engine) == []
    assert bookings(engine, complaint) == [(slot_id, MeetingBookingStatus.BOOKED)]


def test_given_a_withdrawn_slot_then_its_bookings_are_cancelled_with_an_sms_and_nobody_can_book_it(
    engine: sa.Engine, settings: Settings,
) -> None:
    (slot_id, _) = published(engine, capacity=3)
    complaint = filed_complaint(engine, settings)
    book(engine, settings, complaint, slot_id)
    with unit_of_work(engine) as session:
        assert len(meetings.withdraw(session, settings, slot_id=slot_id, now=NOW)) == 1
    assert bookings(engine, complaint) == [(slot_id, MeetingBookingStatus.CANCELLED)]
    assert "از سوی بازرسی لغو شد" in texts(engine)[-1].body
    with pytest.raises(MeetingSlotTaken):
        book(engine, settings, filed_complaint(engine, settings), slot_id)


def test_given_a_meeting_tomorrow_when_the_reminder_job_runs_twice_then_one_reminder_is_queued(
    engine: sa.Engine, settings: Settings,
) -> None:
    slot_id = published(engine)[0]
    complaint = filed_complaint(engine, settings)
    booking = book(engine, settings, complaint, slot_id)
    night = datetime(2026, 12, 5, 2, 0, tzinfo=TEHRAN).astimezone(UTC)
    evening = datetime(2026, 12, 5, 18, 0, tzinfo=TEHRAN).astimezone(UTC)
    with unit_of_work(engine) as session:
        assert meetings.send_reminders(session, settings, now=night) == 0  # no texts at night
    with unit_of_work(engine) as session:
        assert meetings.send_reminders(session, settings, now=evening) == 1
    with unit_of_work(engine) as session:
        assert meetings.send_reminders(session, settings, now=evening + timedelta(minutes=15)) == 0
    reminders = [m for m in texts(engine) if m.dedup_key == f"meeting-reminder:{booking.id}"]
    assert len(reminders) == 1 and "یادآوری" in reminders[0].body and "فردا" in reminders[0].body
    with unit_of_work(engine) as session:
        stored = session.get(MeetingBooking, booking.id)
        assert stored is not None and stored.reminder_sent_at is not None


def test_given_two_tabs_of_one_complaint_when_both_book_at_once_then_one_booking_and_one_place_taken(
    engine: sa.Engine, database_url: str, settings: Settings,
) -> None:
    first, second = published(engine)
    complaint = filed_complaint(engine, settings)
    engines = [make_engine(database_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def tab(own_engine: sa.Engine, slot_id: int) -> None:
        with Session(own_engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                meetings.book(session, settings, complaint=complaint, slot_id=slot_id, now=NOW)
                session.commit()
                outcomes.append("booked")
            except MeetingAlreadyBooked:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=tab, args=pair) for pair in zip(engines, (first, second), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for own_engine in engines:
        own_engine.dispose()
    assert sorted(outcomes) == ["booked", "refused"]
    assert slot_row(engine, first).booked + slot_row(engine, second).booked == 1
    assert [status for _, status in bookings(engine, complaint)] == [MeetingBookingStatus.BOOKED]


def test_given_a_closed_case_when_its_complainant_books_then_refused_in_persian_and_no_place_taken(
    engine: sa.Engine, settings: Settings,
) -> None:
    slot_id = published(engine)[0]
    complaint = filed_complaint(engine, settings)
    with unit_of_work(engine) as session:
        stored = session.get(Complaint, complaint.id)
        assert stored is not None
        stored.closed_at = NOW
        session.add(stored)
    complaint.closed_at = NOW
    with pytest.raises(Conflict, match="بسته شده"):
        book(engine, settings, complaint, slot_id)
    assert slot_row(engine, slot_id).booked == 0
