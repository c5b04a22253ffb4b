"""caller history index: a caller's tickets by (number, filed at), so the screen pop's history, the IVR's latest
open ticket and the duplicate check by caller read their newest 20 as one index range instead of sorting every
ticket the number ever filed (ADR 0083's benchmark); it replaces the index on the number alone, its prefix

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 20:30:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_ticket_caller_created', 'ticket', ['caller_number', 'created_at'], unique=False)
    op.drop_index('ix_ticket_caller_number', table_name='ticket')


def downgrade() -> None:
    op.create_index('ix_ticket_caller_number', 'ticket', ['caller_number'], unique=False)
    op.drop_index('ix_ticket_caller_created', table_name='ticket')
