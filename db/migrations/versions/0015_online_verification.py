"""online verification: the links sent when a unit reports a ticket done, and the citizens' answers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'online_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('offered_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('expires_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('answered_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('transition_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['task_id'], ['verification_task.id']),
        sa.ForeignKeyConstraint(['transition_id'], ['ticket_transition.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('task_id'),
    )
    op.create_index('ix_online_answer_ticket_id', 'online_answer', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_online_answer_ticket_id', table_name='online_answer')
    op.drop_table('online_answer')
