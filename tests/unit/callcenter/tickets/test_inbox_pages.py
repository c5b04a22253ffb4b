"""The inbox a page at a time (SQLite, PostgreSQL): walking every page gives every ticket once, in the inbox's
order (priority, then the unit's deadline, then id), whatever the page size; each tab counts and pages its own
status; a cursor or a tab that is not the server's is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from callcenter.platform.errors import ValidationFailed
from callcenter.tickets.inbox import ALL, PRIORITIES_FIRST_TO_LAST, Inbox, inbox_for
from callcenter.tickets.lifecycle import apply_action
from db.engine import unit_of_work
from db.models import Role, Ticket, TicketAction, TicketStatus, User
from tests.support.ticket_flow import GREENERY, WASTE, add_staff, bulk_referred_tickets

S, A = TicketStatus, TicketAction
NOW = datetime.now(UTC)


def a_unit_with_tickets(engine: sa.Engine) -> User:
    """A liaison's unit holding 29 tickets of every priority, referred at four moments (several due at the same
    moment, so the id decides between them), and another unit's tickets that must never show."""
    liaison = add_staff(engine, "pages.liaison", Role.UNIT_LIAISON, unit=WASTE)
    for hours_ago, count, prefix in ((30, 7, "A"), (2, 10, "B"), (30, 5, "C"), (10, 7, "D")):
        bulk_referred_tickets(engine, unit=WASTE, count=count, prefix=prefix,
                              referred_at=NOW - timedelta(hours=hours_ago))
    bulk_referred_tickets(engine, unit=GREENERY, count=6, prefix="G", referred_at=NOW - timedelta(hours=30))
    return liaison


def walk(engine: sa.Engine, user: User, *, page_size: int, tab: str = ALL) -> tuple[list[str], list[Inbox]]:
    """Every page from the first, each after the previous one's cursor: the tracking codes in order, the pages."""
    codes: list[str] = []
    pages: list[Inbox] = []
    after = None
    while True:
        with unit_of_work(engine) as session:
            page = inbox_for(session, user, tab=tab, after=after, page_size=page_size, now=NOW)
        pages.append(page)
        codes.extend(item.ticket.tracking_code for item in page.items)
        if page.next_cursor is None:
            return codes, pages
        after = page.next_cursor


def in_inbox_order(engine: sa.Engine, user: User, statuses: tuple[TicketStatus, ...]) -> list[str]:
    """The order the inbox promises, computed here from the rows themselves."""
    with unit_of_work(engine) as session:
        rows = session.exec(select(Ticket).where(Ticket.unit_id == user.unit_id,
                                                 col(Ticket.status).in_(statuses))).all()
    rank = {priority: index for index, priority in enumerate(PRIORITIES_FIRST_TO_LAST)}
    return [t.tracking_code for t in sorted(rows, key=lambda t: (rank[t.priority], t.unit_deadline, t.id))]


@pytest.mark.parametrize("page_size", [1, 4, 29, 50])
def test_given_tickets_of_every_priority_and_deadline_when_walking_every_page_then_each_comes_once_in_order(
    engine: sa.Engine, page_size: int,
) -> None:
    liaison = a_unit_with_tickets(engine)

    codes, pages = walk(engine, liaison, page_size=page_size)

    expected = in_inbox_order(engine, liaison, (S.REFERRED, S.REOPENED, S.ACCEPTED))
    assert len(expected) == 29 and codes == expected  # every one, once, in order, nothing of the other unit
    assert len(pages) == -(-29 // page_size)  # no empty page at the end when the count divides evenly
    assert all(page.total == 29 and len(page.items) <= page_size for page in pages)
    late = [item.overdue for page in pages for item in page.items]
    assert late.count(True) == 12  # the 30-hour-old referrals: garbage has 24 hours


def test_given_tickets_the_liaison_accepted_when_opening_each_tab_then_it_counts_and_pages_only_its_status(
    engine: sa.Engine,
) -> None:
    liaison = a_unit_with_tickets(engine)
    with unit_of_work(engine) as session:
        chosen = session.exec(select(Ticket.id).where(Ticket.unit_id == liaison.unit_id)
                              .order_by(col(Ticket.id)).offset(3).limit(5)).all()
        for ticket_id in chosen:
            assert ticket_id is not None
            apply_action(session, ticket_id=ticket_id, action=A.ACCEPT, actor=liaison)

    accepted, pages = walk(engine, liaison, page_size=2, tab=S.ACCEPTED.value)
    referred, _ = walk(engine, liaison, page_size=7, tab=S.REFERRED.value)
    everything, _ = walk(engine, liaison, page_size=7)

    assert accepted == in_inbox_order(engine, liaison, (S.ACCEPTED,)) and len(accepted) == 5
    assert referred == in_inbox_order(engine, liaison, (S.REFERRED,)) and len(referred) == 24
    assert sorted(everything) == sorted(accepted + referred)
    assert [(tab.key, tab.count) for tab in pages[0].tabs] == [
        (ALL, 29), (S.REFERRED.value, 24), (S.REOPENED.value, 0), (S.ACCEPTED.value, 5)]
    assert [tab.name for tab in pages[0].tabs] == ["همه", "ارجاع‌شده به واحد", "بازگشایی‌شده", "در دست اقدام واحد"]
    assert {page.total for page in pages} == {5} and {page.tab for page in pages} == {S.ACCEPTED.value}


def test_given_disputed_tickets_when_the_field_supervisor_pages_then_every_unit_s_come_in_one_tab(
    engine: sa.Engine,
) -> None:
    liaison = a_unit_with_tickets(engine)
    field = add_staff(engine, "pages.field", Role.FIELD_SUPERVISOR)
    with unit_of_work(engine) as session:
        disputed = session.exec(select(Ticket).where(Ticket.unit_id == liaison.unit_id).limit(3)).all()
        for ticket in disputed:
            ticket.status = S.DISPUTED  # as a dispute leaves it; the steps do not matter to the order
            session.add(ticket)

    codes, pages = walk(engine, field, page_size=2)

    assert sorted(codes) == sorted(t.tracking_code for t in disputed) and len(pages) == 2
    assert [(tab.key, tab.count) for tab in pages[0].tabs] == [(ALL, 3)]


@pytest.mark.parametrize("cursor", ["", "x", "1_2", "0_1_0", "0_1_-4", "٠_١_٢", "0_99999999999999999999999_1",
                                    "0_1_99999999999999999999"])
def test_given_a_cursor_the_server_did_not_give_when_asking_for_a_page_then_it_is_refused_as_invalid(
    engine: sa.Engine, cursor: str,
) -> None:
    liaison = add_staff(engine, "pages.liaison", Role.UNIT_LIAISON, unit=WASTE)
    with unit_of_work(engine) as session, pytest.raises(ValidationFailed) as refused:
        inbox_for(session, liaison, after=cursor or "_")
    assert refused.value.details == {"field": "after"}


@pytest.mark.parametrize("tab", ["disputed", "done", "everything"])
def test_given_a_tab_the_inbox_does_not_have_when_asking_for_it_then_it_is_refused(engine: sa.Engine, tab: str) -> None:
    liaison = add_staff(engine, "pages.liaison", Role.UNIT_LIAISON, unit=WASTE)
    with unit_of_work(engine) as session, pytest.raises(ValidationFailed) as refused:
        inbox_for(session, liaison, tab=tab)
    assert refused.value.details == {"field": "tab"}
