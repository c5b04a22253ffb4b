"""the citizens' web channel: SMS codes that verify a mobile, public rate limits

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:40:00.000000
"""
from collections.abc import Sequence

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # PLACEHOLDER: the tables of this revision are written by the work that needs them


def downgrade() -> None:
    pass
