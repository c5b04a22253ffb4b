"""server-side sessions, login throttle by name and address, known login addresses

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'staff_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=256), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_staff_session_user_id', 'staff_session', ['user_id'], unique=False)
    op.create_table(
        'login_throttle',
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('strikes', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('locked_until', db.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('scope', 'key'),
    )
    op.create_table(
        'known_login_address',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('last_login_at', db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('user_id', 'address'),
    )
    # The account's own counter moved to login_throttle (scope "name"), where unknown names are counted alike.
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', db.models.UTCDateTime(), nullable=True))
    op.drop_table('known_login_address')
    op.drop_table('login_throttle')
    op.drop_index('ix_staff_session_user_id', table_name='staff_session')
    op.drop_table('staff_session')
