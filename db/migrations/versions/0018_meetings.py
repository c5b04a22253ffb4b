"""meetings: one live booking per complaint (a partial unique index on meeting_booking)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 08:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("status = 'booked'")


def upgrade() -> None:
    op.create_index("ux_meeting_booking_live", "meeting_booking", ["complaint_id"], unique=True,
                    sqlite_where=_LIVE, postgresql_where=_LIVE)


def downgrade() -> None:
    op.drop_index("ux_meeting_booking_live", table_name="meeting_booking")
