"""Migrations are the schema: applied from empty they match the models exactly, on both databases."""

from __future__ import annotations

from alembic import command

from db.engine import alembic_config, upgrade_database


def test_given_migrated_database_then_models_need_no_further_migration(database_url: str) -> None:
    command.check(alembic_config(database_url))  # raises when autogenerate would emit operations


def test_when_upgrade_runs_twice_then_nothing_breaks(database_url: str) -> None:
    upgrade_database(database_url)
    command.check(alembic_config(database_url))
