"""online verification: the links sent when a unit reports a ticket done, and the citizens' answers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:40:00.000000
"""
from collections.abc import Sequence

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # PLACEHOLDER: the tables of this revision are written by the work that needs them


def downgrade() -> None:
    pass
