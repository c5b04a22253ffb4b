"""The ticket service on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from callcenter.platform.errors import NotFound, ValidationFailed
from callcenter.tickets.store import (
    DatabaseTicketDirectory,
    create_ticket,
    find_by_tracking_code,
    tickets_for_caller,
    to_public,
)
from callcenter.tickets.tracking_code import format_for_reading, is_valid, verhoeff_check_digit
from db.models import (
    Call,
    Category,
    Line,
    Role,
    Ticket,
    TicketCreate,
    TicketPriority,
    TicketTransition,
    Unit,
    UnitKind,
)
from tests.support.ticket_flow import WASTE, add_staff, referred_ticket


def a_category(session: Session, line: Line = Line.SERVICES) -> Category:
    return session.exec(select(Category).where(Category.line == line)).first()  # type: ignore[return-value]


def a_unit(session: Session) -> Unit:
    return session.exec(select(Unit)).first()  # type: ignore[return-value]


def request(session: Session, **fields: object) -> TicketCreate:
    category = a_category(session)
    values: dict[str, object] = {
        "category_id": category.id, "unit_id": category.default_unit_id, "description": "زباله جمع نشده",
    }
    values.update(fields)
    return TicketCreate.model_validate(values)


def ticket_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Ticket)).one()


def test_given_arabic_letters_digits_and_an_international_number_when_creating_then_all_is_normalised(
    session: Session,
) -> None:
    ticket = create_ticket(
        session,
        data=request(session, description="  زباله   كوچه ي ۱۲ \n جمع نشده ", address="خيابان  ٤٥",
                     caller_number="+98 912 123 4567"),
        created_by=None,
    )
    assert ticket.id is not None
    assert ticket.description == "زباله کوچه ی 12 جمع نشده"
    assert ticket.address == "خیابان 45"
    assert ticket.caller_number == "09121234567"
    assert ticket.line == "137"
    assert is_valid(ticket.tracking_code) and len(ticket.tracking_code) == 9
    assert find_by_tracking_code(session, format_for_reading(ticket.tracking_code)).id == ticket.id


def test_given_the_same_request_id_twice_when_creating_then_the_first_ticket_comes_back_and_one_row_exists(
    session: Session,
) -> None:
    first = create_ticket(session, data=request(session, request_id="form-42"), created_by=None)
    second = create_ticket(session, data=request(session, request_id="form-42", description="دوباره"),
                           created_by=None)
    assert second.id == first.id
    assert second.tracking_code == first.tracking_code
    assert ticket_count(session) == 1


def test_given_different_request_ids_when_creating_then_two_tickets_with_different_codes_exist(
    session: Session,
) -> None:
    a = create_ticket(session, data=request(session, request_id="form-1"), created_by=None)
    b = create_ticket(session, data=request(session, request_id="form-2"), created_by=None)
    assert a.id != b.id and a.tracking_code != b.tracking_code
    assert ticket_count(session) == 2


def test_given_an_unknown_category_when_creating_then_validation_fails_on_that_field(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_ticket(session, data=request(session, category_id=999_999), created_by=None)
    assert caught.value.details == {"field": "category_id"}
    assert caught.value.error_id == "invalid-data"
    assert ticket_count(session) == 0


def test_given_an_unknown_unit_when_creating_then_validation_fails_on_that_field(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_ticket(session, data=request(session, unit_id=999_999), created_by=None)
    assert caught.value.details == {"field": "unit_id"}


@pytest.mark.parametrize("description", ["", "   ", "\n\t "])
def test_given_an_empty_description_when_creating_then_it_is_rejected(session: Session, description: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_ticket(session, data=request(session, description=description), created_by=None)
    assert caught.value.details == {"field": "description"}
    assert ticket_count(session) == 0


def test_given_a_call_id_when_creating_then_the_ticket_links_it_and_copies_its_caller_and_line(
    session: Session,
) -> None:
    call = Call(linkedid="1700000000.5", line="1888", caller_number="09123334444", started_at=datetime.now(UTC))
    session.add(call)
    session.commit()
    ticket = create_ticket(session, data=request(session, call_id=call.id), created_by=None)
    assert ticket.call_id == call.id
    assert ticket.caller_number == "09123334444"
    assert ticket.line == "1888"


def test_given_a_call_id_and_a_typed_number_when_creating_then_the_typed_number_wins(session: Session) -> None:
    call = Call(linkedid="1700000000.6", line="137", caller_number="09123334444", started_at=datetime.now(UTC))
    session.add(call)
    session.commit()
    ticket = create_ticket(session, data=request(session, call_id=call.id, caller_number="۰۹۱۲۵۵۵۶۶۶۶"),
                           created_by=None)
    assert ticket.caller_number == "09125556666"


def test_given_an_unknown_call_id_when_creating_then_validation_fails(session: Session) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_ticket(session, data=request(session, call_id=999_999), created_by=None)
    assert caught.value.details == {"field": "call_id"}


def test_given_several_tickets_when_listing_a_callers_history_then_only_theirs_come_newest_first(
    session: Session,
) -> None:
    base = datetime(2024, 3, 20, 8, 0, tzinfo=UTC)
    offsets = {"old": 0, "newest": 48, "middle": 24}  # inserted out of time order on purpose
    ids = {}
    for label, hours in offsets.items():
        ticket = create_ticket(session, data=request(session, description=label, caller_number="09121111111"),
                               created_by=None)
        ticket.created_at = base + timedelta(hours=hours)
        session.add(ticket)
        session.commit()
        ids[label] = ticket.id
    create_ticket(session, data=request(session, description="someone else", caller_number="09129999999"),
                  created_by=None)

    history = tickets_for_caller(session, "+989121111111")
    assert [t.id for t in history] == [ids["newest"], ids["middle"], ids["old"]]
    assert history[0].category_name and history[0].unit_name
    assert history[0].created_at == base + timedelta(hours=48)
    assert [t.id for t in tickets_for_caller(session, "09121111111", limit=1)] == [ids["newest"]]


def test_given_an_empty_caller_number_when_listing_history_then_nothing_is_returned(session: Session) -> None:
    create_ticket(session, data=request(session), created_by=None)
    assert tickets_for_caller(session, "") == []


def test_given_an_unknown_but_valid_tracking_code_when_looking_it_up_then_not_found(session: Session) -> None:
    code = "12345678" + verhoeff_check_digit("12345678")
    with pytest.raises(NotFound):
        find_by_tracking_code(session, code)


def test_given_a_district_and_urgent_priority_when_creating_then_both_are_kept_and_named(session: Session) -> None:
    district = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT)).first()
    assert district is not None
    ticket = create_ticket(session, data=request(session, district_id=district.id, priority="urgent"),
                           created_by=None)
    public = to_public(session, ticket)
    assert (public.district_id, public.district_name, public.priority) == (district.id, district.name,
                                                                          TicketPriority.URGENT)


def test_given_a_unit_that_is_not_a_district_when_creating_then_a_persian_error_and_no_ticket(
    session: Session,
) -> None:
    not_a_district = session.exec(select(Unit).where(Unit.kind != UnitKind.DISTRICT)).first()
    assert not_a_district is not None
    with pytest.raises(ValidationFailed) as refused:
        create_ticket(session, data=request(session, district_id=not_a_district.id), created_by=None)
    assert refused.value.message == "منطقه انتخاب‌شده از مناطق شهرداری نیست."
    assert ticket_count(session) == 0


async def test_given_a_ticket_that_moved_after_it_was_filed_when_the_ivr_reads_it_then_the_last_change_is_that_move(
    engine: sa.Engine,
) -> None:
    operator = add_staff(engine, "ivr.operator", Role.OPERATOR)
    filed = referred_ticket(engine, by=operator, unit=WASTE)
    week_ago, yesterday = datetime.now(UTC) - timedelta(days=7), datetime.now(UTC) - timedelta(days=1)
    with Session(engine) as session:
        ticket = session.get(Ticket, filed.id)
        assert ticket is not None
        ticket.created_at = week_ago
        session.add(ticket)
        for step in session.exec(select(TicketTransition).where(TicketTransition.ticket_id == filed.id)).all():
            step.at = yesterday  # filed a week ago, referred yesterday
            session.add(step)
        session.commit()

    summary = await DatabaseTicketDirectory(engine=engine).by_tracking_code(filed.tracking_code)

    assert summary is not None
    assert abs(summary.last_change - yesterday) < timedelta(seconds=1)
