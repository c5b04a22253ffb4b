"""public channels: web, in-person and Open311 tickets; steps and photos by the citizen themself

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:40:00.000000

Ticket.source and staff_user.role are plain strings, so the new values (web, in_person, open311; desk) need no
change here. A citizen acting through a public channel has no account: the history step they take and the
photos they send keep no staff user (NULL), and tickets may carry the location the citizen pointed at. Public
requests are counted per key in fixed windows (rate_limit_window).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_window',
        sa.Column('scope', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('window_start', db.models.UTCDateTime(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', 'key', 'window_start'),
    )
    with op.batch_alter_table('ticket') as batch:
        batch.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch.add_column(sa.Column('longitude', sa.Float(), nullable=True))
    with op.batch_alter_table('ticket_transition') as batch:
        batch.alter_column('actor_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('ticket_attachment') as batch:
        batch.alter_column('transition_id', existing_type=sa.Integer(), nullable=True)
        batch.alter_column('uploaded_by_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Steps and photos without a staff user cannot go back to a schema that requires one.
    op.execute("DELETE FROM ticket_attachment WHERE transition_id IS NULL OR uploaded_by_id IS NULL")
    with op.batch_alter_table('ticket_attachment') as batch:
        batch.alter_column('uploaded_by_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('transition_id', existing_type=sa.Integer(), nullable=False)
    op.execute("DELETE FROM ticket_transition WHERE actor_id IS NULL")
    with op.batch_alter_table('ticket_transition') as batch:
        batch.alter_column('actor_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('longitude')
        batch.drop_column('latitude')
    op.drop_table('rate_limit_window')
