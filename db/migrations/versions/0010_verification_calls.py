"""verification tasks and their call attempts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'verification_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('mode', sa.String(length=12), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('closed_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['requested_by_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_verification_task_ticket_id', 'verification_task', ['ticket_id'], unique=False)
    op.create_index('ix_verification_task_status', 'verification_task', ['status'], unique=False)
    op.create_index('ix_verification_task_next_attempt_at', 'verification_task', ['next_attempt_at'], unique=False)
    op.create_table(
        'verification_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=12), nullable=False),
        sa.Column('placed_by_id', sa.Integer(), nullable=False),
        sa.Column('started_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('ended_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('dial_status', sa.String(length=16), nullable=True),
        sa.Column('key_pressed', sa.String(length=1), nullable=True),
        sa.Column('note', sa.String(length=4000), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['verification_task.id']),
        sa.ForeignKeyConstraint(['placed_by_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_verification_attempt_task_id', 'verification_attempt', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_verification_attempt_task_id', table_name='verification_attempt')
    op.drop_table('verification_attempt')
    op.drop_index('ix_verification_task_next_attempt_at', table_name='verification_task')
    op.drop_index('ix_verification_task_status', table_name='verification_task')
    op.drop_index('ix_verification_task_ticket_id', table_name='verification_task')
    op.drop_table('verification_task')
