"""Open311 GeoReport v2: API keys and their rate limits

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:40:00.000000

An application posts service requests with a key the administrator issued; the table keeps the key's SHA-256
only, and each key's limit in requests per minute (counted in rate_limit_window, decision 61).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'open311_api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('requests_per_minute', sa.Integer(), nullable=False),
        sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', db.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key_hash'),
    )


def downgrade() -> None:
    op.drop_table('open311_api_key')
