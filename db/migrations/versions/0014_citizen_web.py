"""the citizens' web channel: SMS codes that verify a mobile, public rate limits

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:40:00.000000

phone_code holds one-time codes sent to a citizen's mobile from a browser session of the public site, and the
verification they give that session for a while (ADR 0055). Codes, mobiles and sessions are stored only as HMACs.
anonymous_budget_key holds the random key of each day under which anonymous 1888 messages are counted per client
address (ADR 0056).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'phone_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_key', sa.String(length=64), nullable=False),
        sa.Column('mobile_key', sa.String(length=64), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('expires_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('verified_until', db.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_phone_code_session_mobile', 'phone_code', ['session_key', 'mobile_key'])
    op.create_index(op.f('ix_phone_code_expires_at'), 'phone_code', ['expires_at'])
    op.create_table(
        'anonymous_budget_key',
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('day'),
    )


def downgrade() -> None:
    op.drop_table('anonymous_budget_key')
    op.drop_index(op.f('ix_phone_code_expires_at'), table_name='phone_code')
    op.drop_index('ix_phone_code_session_mobile', table_name='phone_code')
    op.drop_table('phone_code')
