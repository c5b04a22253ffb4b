"""agent state log, call recordings and transfers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'agent_state_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('extension', sa.String(length=16), nullable=False),
        sa.Column('queue_name', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=True),
        sa.Column('at', db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_agent_state_change_at', 'agent_state_change', ['at'], unique=False)
    op.create_index('ix_agent_state_change_agent_at', 'agent_state_change', ['extension', 'queue_name', 'at'],
                    unique=False)
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recording', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('transferred_to', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('transferred_to')
        batch_op.drop_column('recording')
    op.drop_index('ix_agent_state_change_agent_at', table_name='agent_state_change')
    op.drop_index('ix_agent_state_change_at', table_name='agent_state_change')
    op.drop_table('agent_state_change')
