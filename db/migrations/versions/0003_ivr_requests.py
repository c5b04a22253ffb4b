"""ivr requests: recorded messages, callbacks, 1888 choices

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:26:11.139244

Existing rows: tickets were all filed by operators and nobody was anonymous, hence the server defaults.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('callback_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('caller_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('linkedid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('waiting_since', db.models.UTCDateTime(), nullable=False),
    sa.Column('requested_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.Column('handled_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], ),
    sa.ForeignKeyConstraint(['handled_by_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('linkedid')
    )
    with op.batch_alter_table('callback_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_request_caller_number'), ['caller_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_request_line'), ['line'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_request_waiting_since'), ['waiting_since'], unique=False)

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feedback_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('personnel_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='operator'))
        batch_op.add_column(sa.Column('feedback_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('personnel_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('recording', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.alter_column('category_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('unit_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.alter_column('unit_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.alter_column('category_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('recording')
        batch_op.drop_column('anonymous')
        batch_op.drop_column('personnel_code')
        batch_op.drop_column('feedback_kind')
        batch_op.drop_column('source')

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('anonymous')
        batch_op.drop_column('personnel_code')
        batch_op.drop_column('feedback_kind')

    with op.batch_alter_table('callback_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_request_waiting_since'))
        batch_op.drop_index(batch_op.f('ix_callback_request_line'))
        batch_op.drop_index(batch_op.f('ix_callback_request_caller_number'))

    op.drop_table('callback_request')
