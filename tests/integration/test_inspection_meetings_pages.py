"""The meetings pages over HTTP: the inspectors' day view shows the tracking code only of complaints the user may
see (callcenter/complaints/access.py) and never an identity; a wrong publishing form keeps what was typed; the
complainant's page without a pass points to the follow-up page, and a POST without one books nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from callcenter.bootstrap.app import create_app
from callcenter.complaints import meetings
from callcenter.complaints.tracking_code import format_for_reading
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from db.engine import unit_of_work
from db.models import MeetingBooking, MeetingBookingStatus, Role
from tests.support.console import log_in_sync
from tests.support.meetings import filed_complaint, inspector, meeting_settings, next_working_day, one_day_plan
from tests.support.ticket_flow import PASSWORD, add_staff


@pytest.fixture
def settings(database_url: str) -> Settings:
    return meeting_settings(database_url)


@pytest.fixture
def client(engine: sa.Engine, settings: Settings) -> Iterator[TestClient]:
    add_staff(engine, "meetings.page.inspector", Role.INSPECTOR, unit="مدیریت بازرسی")
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_given_bookings_when_an_inspector_opens_the_day_then_only_visible_complaints_show_their_code(
    engine: sa.Engine, settings: Settings, client: TestClient,
) -> None:
    now = datetime.now(UTC)
    day = next_working_day(meetings.office_hours(settings), now.date())
    visible = filed_complaint(engine, settings)
    about_the_office = filed_complaint(engine, settings, target="مدیریت بازرسی")  # the mayor's office's desk
    with unit_of_work(engine) as session:
        slot = meetings.publish(session, one_day_plan(day, start=time(9, 0), end=time(9, 30), capacity=2),
                                hours=meetings.office_hours(settings), by=inspector(session), now=now)[0]
        assert slot.id is not None
        for complaint in (visible, about_the_office):
            meetings.book(session, settings, complaint=complaint, slot_id=slot.id, now=now)
    assert log_in_sync(client, "meetings.page.inspector", PASSWORD).status_code == 303
    page = client.get(f"/inspection/meetings?day={day.isoformat()}").text
    assert persian_digits(format_for_reading(visible.tracking_code)) in page
    assert f"/inspection/complaints/{visible.id}" in page
    assert persian_digits(format_for_reading(about_the_office.tracking_code)) not in page
    assert f"/inspection/complaints/{about_the_office.id}" not in page
    assert "رزرو شده" in page and "۲ از ۲" in page
    assert "مینا کاظمی" not in page and "0912" not in page  # never an identity


def test_given_a_wrong_jalali_date_when_publishing_then_a_persian_error_and_the_typed_values_kept(
    client: TestClient,
) -> None:
    log_in_sync(client, "meetings.page.inspector", PASSWORD)
    response = client.post("/inspection/meetings", data={
        "first_day": "1405/13/40", "last_day": "1405/09/20", "day_start": "09:00", "day_end": "12:00",
        "every_minutes": "30", "minutes": "30", "capacity": "2", "place": "ساختمان مرکزی"})
    assert response.status_code == 422
    assert "تاریخ را به شکل" in response.text
    assert 'value="1405/13/40"' in response.text and 'value="ساختمان مرکزی"' in response.text


def test_given_no_pass_when_the_complainant_page_is_used_then_it_points_to_follow_up_and_books_nothing(
    engine: sa.Engine, client: TestClient,
) -> None:
    page = client.get("/complaints/meeting")
    assert page.status_code == 200 and 'href="/complaints/follow"' in page.text
    posted = client.post("/complaints/meeting/book", data={"slot_id": "1"},
                         headers={"X-CSRF-Token": client.cookies["pasokh_csrf"]})
    assert 'href="/complaints/follow"' in posted.text
    with unit_of_work(engine) as session:
        assert session.exec(select(MeetingBooking)).all() == []


def test_given_a_booked_slot_when_the_inspector_withdraws_it_then_its_booking_is_cancelled_and_the_day_says_so(
    engine: sa.Engine, settings: Settings, client: TestClient,
) -> None:
    now = datetime.now(UTC)
    day = next_working_day(meetings.office_hours(settings), now.date())
    complaint = filed_complaint(engine, settings)
    with unit_of_work(engine) as session:
        slot = meetings.publish(session, one_day_plan(day, start=time(9, 0), end=time(9, 30)),
                                hours=meetings.office_hours(settings), by=inspector(session), now=now)[0]
        assert slot.id is not None
        meetings.book(session, settings, complaint=complaint, slot_id=slot.id, now=now)
    log_in_sync(client, "meetings.page.inspector", PASSWORD)
    response = client.post(f"/inspection/meetings/{slot.id}/withdraw")
    assert response.status_code == 200 and "پس گرفته شد" in response.text  # followed to the day view
    assert "۱ وقت رزروشده لغو شد" in response.text
    with unit_of_work(engine) as session:
        booking = session.exec(select(MeetingBooking)).one()
        assert booking.status == MeetingBookingStatus.CANCELLED
