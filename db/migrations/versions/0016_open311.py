"""Open311 GeoReport v2: API keys and their rate limits

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:40:00.000000
"""
from collections.abc import Sequence

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # PLACEHOLDER: the tables of this revision are written by the work that needs them


def downgrade() -> None:
    pass
