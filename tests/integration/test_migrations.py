"""Migrations are the schema: applied from empty they match the models exactly, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, col, select

from callcenter.platform.security import sip_md5_cred
from callcenter.platform.settings import DEFAULT_SIP_REALM
from db.engine import alembic_config, make_engine, upgrade_database
from db.models import Category, TicketAction, UnitReceipt, User
from tests.unit.callcenter.reports.test_scorecard import a_ticket, azar_histories, step


def test_given_migrated_database_then_models_need_no_further_migration(database_url: str) -> None:
    command.check(alembic_config(database_url))  # raises when autogenerate would emit operations


def test_when_upgrade_runs_twice_then_nothing_breaks(database_url: str) -> None:
    upgrade_database(database_url)
    command.check(alembic_config(database_url))


def test_given_clear_sip_passwords_when_migrating_to_0012_then_only_their_md5_credentials_remain(
    database_url: str,
) -> None:
    """An installation from before 0012 keeps its phones: each password becomes md5("ext:realm:password")."""
    config = alembic_config(database_url)
    command.downgrade(config, "0010")
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO staff_user (username, full_name, role, password_hash, extension, sip_password, "
                "is_active, failed_logins, created_at) VALUES ('old.operator', 'x', 'operator', 'h', '1007', "
                "'OldClear77', :active, 0, :created)"), {"active": True, "created": datetime.now(UTC)})
        command.upgrade(config, "head")
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("staff_user")}
            cred = connection.execute(sa.text(
                "SELECT sip_md5_cred FROM staff_user WHERE username = 'old.operator'")).scalar_one()
    finally:
        engine.dispose()
    assert "sip_password" not in columns
    assert cred == sip_md5_cred("1007", "OldClear77", DEFAULT_SIP_REALM)


def test_given_tickets_from_before_0019_when_migrating_then_their_unit_clock_and_recent_address_words_are_filled(
    database_url: str,
) -> None:
    """The inbox's sort key comes from the history as the inbox used to compute it (latest referral, else the
    filing for a ticket waiting on someone; plus the category's hours), and the duplicate check finds the
    tickets filed within its window."""
    config = alembic_config(database_url)
    command.downgrade(config, "0018")
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    hour = timedelta(hours=1)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            def insert(table: str, **row: object) -> None:
                connection.execute(sa.insert(sa.table(table, *(sa.column(name) for name in row))), row)

            insert("unit", id=1, name="پسماند", kind="organisation")
            insert("category", id=1, name="زباله", line="137", default_unit_id=1, sla_hours=24)
            ticket = {"address": "", "description": "شرح", "line": "137", "source": "operator", "anonymous": False,
                      "priority": "normal", "unit_id": 1, "category_id": 1, "created_at": now - 10 * hour}
            insert("ticket", **{**ticket, "address": "خیابان پیغمبریه، کوچه 12"}, id=1, tracking_code="T1",
                   status="referred")
            insert("ticket", **ticket, id=2, tracking_code="T2", status="accepted")  # no step: older than steps
            insert("ticket", **ticket, id=3, tracking_code="T3", status="registered")
            insert("ticket", **{**ticket, "category_id": None}, id=4, tracking_code="T4", status="referred")
            insert("ticket", **{**ticket, "created_at": now - timedelta(days=40), "address": "پیغمبریه 12"}, id=5,
                   tracking_code="T5", status="referred")
            step = {"from_status": "registered", "to_status": "referred", "actor_role": "operator", "note": "",
                    "to_unit_id": 1}
            insert("ticket_transition", **step, ticket_id=1, action="refer", at=now - 9 * hour)
            insert("ticket_transition", **step, ticket_id=1, action="re_refer", at=now - 5 * hour)
            insert("ticket_transition", **step, ticket_id=4, action="refer", at=now - 8 * hour)
        command.upgrade(config, "head")
        with engine.connect() as connection:
            clocks = connection.execute(sa.text(
                "SELECT id, referred_at, unit_deadline FROM ticket ORDER BY id")).all()
            words = connection.execute(sa.text(
                "SELECT ticket_id, word FROM ticket_address_word ORDER BY ticket_id, word")).all()
    finally:
        engine.dispose()

    def moment(value: object) -> datetime | None:  # SQLite answers text to a raw query
        return datetime.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]

    assert [(ticket_id, moment(at), moment(due)) for ticket_id, at, due in clocks] == [
        (1, now - 5 * hour, now + 19 * hour), (2, now - 10 * hour, now + 14 * hour), (3, None, None),
        (4, now - 8 * hour, now + 64 * hour), (5, now - timedelta(days=40), now - timedelta(days=39))]
    assert [tuple(row) for row in words] == [(1, "12"), (1, "پیغمبریه")]


def test_given_ticket_histories_from_before_0020_when_migrating_then_the_unit_receipts_are_the_rebuilt_ones(
    database_url: str,
) -> None:
    """The migration's own copy of the rebuild fills what ``rebuild_summaries`` (and so the lifecycle) would."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            units = azar_histories(session)
            a_ticket(session, "T11", session.exec(select(Category)).first() or Category(name="-"),
                     session.exec(select(User)).one(), step(3.123456789, TicketAction.REFER, units["B"]),
                     step(7.000001, TicketAction.ACCEPT), step(29.987654321, TicketAction.REPORT_DONE))
            rebuilt = _unit_receipts(session)
        config = alembic_config(database_url)
        command.downgrade(config, "0019")
        command.upgrade(config, "head")
        with Session(engine) as session:
            migrated = _unit_receipts(session)
    finally:
        engine.dispose()
    assert len(rebuilt) == 13  # a receipt per referral: ten Azar tickets, T3 and T10 referred twice, and T11
    assert migrated == rebuilt


def _unit_receipts(session: Session) -> list[tuple[object, ...]]:
    rows = session.exec(select(UnitReceipt).order_by(col(UnitReceipt.referral_id))).all()
    return [tuple(value for name, value in row.model_dump().items() if name != "id") for row in rows]
