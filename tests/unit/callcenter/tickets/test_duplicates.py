"""Duplicates by address through the address-word index (SQLite, PostgreSQL): the same answers as comparing every
recent ticket of the category, newest first, found however many unlike candidates share a word; the index forgets
tickets once they are older than the duplicate window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from callcenter.tickets.lifecycle import apply_action
from callcenter.tickets.store import (
    DUPLICATE_WINDOW,
    HISTORY_LIMIT,
    address_word_purge_job,
    create_ticket,
    possible_duplicates,
)
from db.engine import unit_of_work
from db.models import Category, Role, Ticket, TicketAction, TicketAddressWord, TicketCreate
from tests.support.ticket_flow import add_staff

GARBAGE, LIGHTS = "جمع‌آوری زباله", "روشنایی معابر و پارک‌ها"


def category_id(session: Session, name: str) -> int:
    category = session.exec(select(Category).where(Category.name == name)).one()
    assert category.id is not None
    return category.id


def file(session: Session, address: str, *, category: str = GARBAGE) -> Ticket:
    chosen = session.exec(select(Category).where(Category.name == category)).one()
    return create_ticket(session, data=TicketCreate(category_id=chosen.id or 0, unit_id=chosen.default_unit_id or 0,
                                                    description="شرح آزمون", address=address), created_by=None)


def found(session: Session, address: str, *, category: str = GARBAGE, now: datetime | None = None) -> list[str]:
    return [t.tracking_code for t in possible_duplicates(session, category_id=category_id(session, category),
                                                         address=address, caller_number=None, now=now)]


def test_given_tickets_near_and_far_when_checking_an_address_then_the_open_near_ones_of_its_category_come_newest_first(
    engine: sa.Engine,
) -> None:
    supervisor = add_staff(engine, "dup.supervisor", Role.SUPERVISOR)
    with unit_of_work(engine) as session:
        older = file(session, "خیابان پیغمبریه، کوچه ۱۲")
        newer = file(session, "پیغمبریه ۱۲ جنب نانوایی")  # 2 of {پیغمبریه, 12, نانوایی} shared with the query
        file(session, "خیابان نادری، کوچه ۷")  # nothing shared
        file(session, "خیابان پیغمبریه، کوچه ۱۲", category=LIGHTS)  # the same place, another problem
        file(session, "پیغمبریه، شهرک غرب، فاز ۳، بلوک ۱۲، طبقه ۴")  # shares 2 words but has 6 others: not near
        withdrawn = file(session, "خیابان پیغمبریه کوچه ۱۲ پلاک ۵")
        assert withdrawn.id is not None
        apply_action(session, ticket_id=withdrawn.id, action=TicketAction.CANCEL, actor=supervisor, note="تکراری")
    with unit_of_work(engine) as session:
        assert found(session, "خ پیغمبریه کوچه 12 پلاک 5") == [newer.tracking_code, older.tracking_code]
        assert found(session, "میدان آزادی") == [] and found(session, "خیابان کوچه") == []  # only filler words
        assert found(session, "خ پیغمبریه کوچه 12", now=datetime.now(UTC) + DUPLICATE_WINDOW + timedelta(days=1)) == []


def test_given_a_word_longer_than_the_index_keeps_when_checking_the_same_address_then_it_is_still_found(
    engine: sa.Engine,
) -> None:
    long_name = "شهید" + "ا" * 80 + "یی"  # longer than ADDRESS_WORD_MAX_LENGTH: the index keeps its start
    with unit_of_work(engine) as session:
        same = file(session, f"خیابان {long_name} پلاک ۳")
        file(session, f"خیابان {long_name[:-1]}ب پلاک ۹")  # the same start, another word: not near once compared
    with unit_of_work(engine) as session:
        assert found(session, f"{long_name} 3") == [same.tracking_code]


def test_given_more_unlike_candidates_than_a_page_when_checking_then_the_older_near_ticket_is_still_found(
    engine: sa.Engine,
) -> None:
    """Every later ticket shares the query's first word, too few of the rest: the check reads candidates a page
    at a time, newest first, until it has found enough near ones or run out."""
    with unit_of_work(engine) as session:
        near = file(session, "طالقانی ۴۵")
        for number in range(120):
            file(session, f"طالقانی مجتمع {number} واحد {number + 1} طبقه {number + 2}")
    with unit_of_work(engine) as session:
        assert found(session, "طالقانی 45") == [near.tracking_code]
        many = [file(session, "طالقانی ۴۵") for _ in range(HISTORY_LIMIT + 2)]
        assert found(session, "طالقانی 45") == [t.tracking_code for t in reversed(many)][:HISTORY_LIMIT]


def test_given_words_of_old_and_recent_tickets_when_the_purge_job_runs_then_only_the_old_ones_go(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        old = file(session, "خیابان پیغمبریه، کوچه ۱۲")
        recent = file(session, "خیابان نادری، کوچه ۷")
        for table in (Ticket, TicketAddressWord):  # filed before the window, as if a month and more ago
            session.exec(sa.update(table).where(col(table.created_at) < recent.created_at)
                         .values(created_at=old.created_at - DUPLICATE_WINDOW - timedelta(days=1)))

    assert address_word_purge_job(engine=engine)() == 2
    assert address_word_purge_job(engine=engine)() == 0

    with unit_of_work(engine) as session:
        left = session.exec(select(TicketAddressWord.ticket_id, func.count()).group_by(
            col(TicketAddressWord.ticket_id))).all()
        assert left == [(recent.id, 2)] and found(session, "نادری 7") == [recent.tracking_code]
    much_later = address_word_purge_job(engine=engine, now=lambda: datetime.now(UTC) + 2 * DUPLICATE_WINDOW)
    assert much_later() == 2  # no ticket filed within the window: every word goes
