"""The public timeline and the lookup by tracking code and mobile digits, on both databases: citizen-facing labels
only (no staff names, notes or numbers), Jalali dates in Persian digits, and guessing limited per address and code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.citizens.timeline import (
    FILED_LABEL,
    NO_MATCH,
    PUBLIC_STATUS_LABELS,
    PUBLIC_STEP_LABELS,
    TOO_MANY_TRIES,
    look_up,
    public_timeline,
)
from callcenter.platform.calendar import jalali_timestamp
from callcenter.platform.errors import NotFound, RateLimited
from callcenter.platform.rate_limits import RateLimiter
from callcenter.tickets.lifecycle import ACTION_NAMES, STATUS_NAMES, apply_action
from db.engine import unit_of_work
from db.models import RateLimitWindow, Role, Ticket, TicketAction, TicketStatus, User
from tests.support.ticket_flow import WASTE, Filed, add_staff, referred_ticket

A, S = TicketAction, TicketStatus
LIMITER = RateLimiter(secret="timeline-test-secret")
NOW = datetime(2026, 11, 23, 7, 0, 10, tzinfo=UTC)  # ten seconds into a minute: six tries fit in its window
CITIZEN_MOBILE = "09121234567"  # referred_ticket's caller


def accepted(engine: sa.Engine) -> tuple[Filed, User]:
    operator = add_staff(engine, "tl.operator", Role.OPERATOR)
    liaison = add_staff(engine, "tl.liaison", Role.UNIT_LIAISON, unit=WASTE)
    ticket = referred_ticket(engine, by=operator, unit=WASTE)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=ticket.id, action=A.ACCEPT, actor=liaison)
        apply_action(session, ticket_id=ticket.id, action=A.REPORT_DONE, actor=liaison,
                     note="یادداشت درونی واحد: کارگر احمدی فرستاده شد")
    return ticket, liaison


def test_every_step_and_status_has_a_public_label_unlike_the_staff_names() -> None:
    assert set(PUBLIC_STEP_LABELS) == set(A) and set(PUBLIC_STATUS_LABELS) == set(S)
    assert all(PUBLIC_STATUS_LABELS[status] for status in S)
    assert PUBLIC_STEP_LABELS[A.REPORT_DONE] != ACTION_NAMES[A.REPORT_DONE]
    assert PUBLIC_STATUS_LABELS[S.DONE] != STATUS_NAMES[S.DONE]


def test_given_a_ticket_reported_done_when_its_timeline_is_built_then_public_labels_jalali_dates_and_the_unit(
    engine: sa.Engine,
) -> None:
    ticket, liaison = accepted(engine)
    with Session(engine) as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        timeline = public_timeline(session, row)
    labels = [step.label for step in timeline.steps]
    assert labels == [FILED_LABEL, PUBLIC_STEP_LABELS[A.REFER], PUBLIC_STEP_LABELS[A.ACCEPT],
                      PUBLIC_STEP_LABELS[A.REPORT_DONE]]
    assert timeline.steps[1].unit_name == WASTE and timeline.unit_name == WASTE
    assert timeline.status_label == PUBLIC_STATUS_LABELS[S.DONE] and not timeline.closed
    assert (timeline.steps[0].date, timeline.steps[0].time) == jalali_timestamp(row.created_at)
    shown = " ".join([timeline.tracking_code, timeline.category_name, timeline.unit_name, timeline.status_label,
                      *(f"{step.date} {step.time} {step.label} {step.unit_name}" for step in timeline.steps)])
    assert not any(ch in shown for ch in "0123456789"), shown  # Persian digits only
    for secret in ("احمدی", "یادداشت", liaison.full_name, "۰۹۱۲", CITIZEN_MOBILE):
        assert secret not in shown


@pytest.mark.parametrize("digits", ["4567", "۴۵۶۷"])
def test_given_the_code_and_the_last_four_digits_when_looking_up_then_the_ticket(engine: sa.Engine,
                                                                               digits: str) -> None:
    ticket, _ = accepted(engine)
    with unit_of_work(engine) as session:
        found = look_up(session, LIMITER, tracking_code=ticket.tracking_code, mobile_digits=digits,
                        address="198.51.100.7", now=NOW)
    assert found.id == ticket.id


def test_given_an_anonymous_ticket_when_looking_it_up_by_digits_then_not_found(engine: sa.Engine) -> None:
    ticket, _ = accepted(engine)
    with unit_of_work(engine) as session:
        session.exec(sa.update(Ticket).where(Ticket.id == ticket.id).values(anonymous=True))  # type: ignore[arg-type]
    with unit_of_work(engine) as session, pytest.raises(NotFound, match=NO_MATCH):
        look_up(session, LIMITER, tracking_code=ticket.tracking_code, mobile_digits="4567", address="a", now=NOW)


def tries(engine: sa.Engine, code: str, digits: str, address: str, now: datetime) -> str:
    """One lookup in its own unit of work, kept even when refused (the route commits failures too)."""
    with unit_of_work(engine) as session:
        try:
            look_up(session, LIMITER, tracking_code=code, mobile_digits=digits, address=address, now=now)
        except NotFound:
            session.commit()
            return "wrong"
        except RateLimited as refused:
            assert refused.message == TOO_MANY_TRIES
            return "refused"
        return "found"


def test_given_five_wrong_digits_in_a_minute_when_the_sixth_try_has_the_right_ones_then_it_is_refused(
    engine: sa.Engine,
) -> None:
    ticket, _ = accepted(engine)
    results = [tries(engine, ticket.tracking_code, f"{n:04d}", "198.51.100.7", NOW + timedelta(seconds=n))
               for n in range(5)]
    assert results == ["wrong"] * 5
    assert tries(engine, ticket.tracking_code, "4567", "198.51.100.7", NOW + timedelta(seconds=6)) == "refused"
    # Per code: another address is refused for this code too; after the window, the right digits open it.
    assert tries(engine, ticket.tracking_code, "4567", "203.0.113.9", NOW + timedelta(seconds=7)) == "refused"
    assert tries(engine, ticket.tracking_code, "4567", "203.0.113.9", NOW + timedelta(minutes=1)) == "found"


def test_given_wrong_codes_from_one_address_when_a_sixth_code_is_tried_then_the_address_is_refused(
    engine: sa.Engine,
) -> None:
    ticket, _ = accepted(engine)
    results = [tries(engine, f"12345678{n}", "4567", "198.51.100.8", NOW) for n in range(5)]
    assert results == ["wrong"] * 5
    assert tries(engine, ticket.tracking_code, "4567", "198.51.100.8", NOW) == "refused"
    assert tries(engine, ticket.tracking_code, "4567", "198.51.100.9", NOW) == "found"


def test_given_right_lookups_when_repeated_then_nothing_is_counted(engine: sa.Engine) -> None:
    ticket, _ = accepted(engine)
    assert [tries(engine, ticket.tracking_code, "4567", "a", NOW) for _ in range(8)] == ["found"] * 8
    with Session(engine) as session:
        assert session.exec(select(RateLimitWindow)).all() == []
