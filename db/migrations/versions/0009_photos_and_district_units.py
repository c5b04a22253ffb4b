"""photos on report-done and category units per district

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 19:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ticket_attachment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('transition_id', sa.Integer(), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('at', db.models.UTCDateTime(), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['transition_id'], ['ticket_transition.id']),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stored_name'),
    )
    op.create_index('ix_ticket_attachment_ticket_id', 'ticket_attachment', ['ticket_id'], unique=False)
    op.create_index('ix_ticket_attachment_transition_id', 'ticket_attachment', ['transition_id'], unique=False)
    op.create_table(
        'category_district_unit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['category_id'], ['category.id']),
        sa.ForeignKeyConstraint(['district_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('category_id', 'district_id', name='uq_category_district_unit'),
    )


def downgrade() -> None:
    op.drop_table('category_district_unit')
    op.drop_index('ix_ticket_attachment_transition_id', table_name='ticket_attachment')
    op.drop_index('ix_ticket_attachment_ticket_id', table_name='ticket_attachment')
    op.drop_table('ticket_attachment')
