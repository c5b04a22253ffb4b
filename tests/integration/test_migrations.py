"""Migrations are the schema: applied from empty they match the models exactly, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from callcenter.platform.security import sip_md5_cred
from callcenter.platform.settings import DEFAULT_SIP_REALM
from db.engine import alembic_config, make_engine, upgrade_database


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
