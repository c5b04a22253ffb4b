"""ticket lifecycle: transition history and liaison units

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The new ticket statuses need no schema change: ticket.status is a VARCHAR(24) and the longest new value,
# "awaiting_verification", has 21 characters.


def upgrade() -> None:
    op.create_table(
        'ticket_transition',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=24), nullable=False),
        sa.Column('to_status', sa.String(length=24), nullable=False),
        sa.Column('action', sa.String(length=24), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('actor_role', sa.String(length=20), nullable=False),
        sa.Column('note', sa.String(length=4000), nullable=False),
        sa.Column('from_unit_id', sa.Integer(), nullable=True),
        sa.Column('to_unit_id', sa.Integer(), nullable=True),
        sa.Column('verdict', sa.String(length=16), nullable=True),
        sa.Column('at', db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id']),
        sa.ForeignKeyConstraint(['from_unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['to_unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ticket_transition_ticket_id', 'ticket_transition', ['ticket_id'], unique=False)
    op.create_index('ix_ticket_transition_at', 'ticket_transition', ['at'], unique=False)
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_staff_user_unit_id_unit', 'unit', ['unit_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_constraint('fk_staff_user_unit_id_unit', type_='foreignkey')
        batch_op.drop_column('unit_id')
    op.drop_index('ix_ticket_transition_at', table_name='ticket_transition')
    op.drop_index('ix_ticket_transition_ticket_id', table_name='ticket_transition')
    op.drop_table('ticket_transition')
