"""scheduled jobs with durable state and escalation of overdue tickets

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'scheduled_job',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('interval_seconds', sa.Float(), nullable=False),
        sa.Column('next_run_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('last_started_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('last_finished_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=1000), nullable=True),
        sa.Column('lease_owner', sa.String(length=128), nullable=True),
        sa.Column('lease_until', db.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'ticket_escalation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('round_step_id', sa.Integer(), nullable=False),
        sa.Column('deadline', db.models.UTCDateTime(), nullable=False),
        sa.Column('escalated_at', db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['round_step_id'], ['ticket_transition.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'round_step_id', name='uq_ticket_escalation_round'),
    )
    op.create_index('ix_ticket_escalation_ticket_id', 'ticket_escalation', ['ticket_id'], unique=False)
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager_phone', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('manager_phone')
    op.drop_index('ix_ticket_escalation_ticket_id', table_name='ticket_escalation')
    op.drop_table('ticket_escalation')
    op.drop_table('scheduled_job')
