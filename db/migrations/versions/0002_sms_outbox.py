"""sms outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:32:03.191958
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("dedup_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", db.models.UTCDateTime(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", db.models.UTCDateTime(), nullable=False),
        sa.Column("sent_at", db.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_sms_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_outbox_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_outbox_ticket_id"))
        batch_op.drop_index("ix_sms_outbox_due")

    op.drop_table("sms_outbox")
