"""ticket district and priority

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('district_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.String(length=16), nullable=False, server_default='normal'))
        batch_op.create_foreign_key('fk_ticket_district_id_unit', 'unit', ['district_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_district_id_unit', type_='foreignkey')
        batch_op.drop_column('priority')
        batch_op.drop_column('district_id')
