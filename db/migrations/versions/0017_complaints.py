"""The inspection office's complaints: cases, drafts, attachments, messages, notes, information requests,
meetings, root causes, SLAs per ground and the identity audit log

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 08:16:16.665282

Also: ``unit.inspection_office`` (a complaint about that unit goes to the mayor's office) and
``sms_outbox.forget_number`` (a complainant's mobile is blanked once its message left).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('complaint_ground_sla',
    sa.Column('ground', sa.String(length=32), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('ground')
    )
    op.create_table('root_cause_tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_code', sa.String(length=16), nullable=False),
    sa.Column('desk', sa.String(length=16), nullable=False),
    sa.Column('target_unit_id', sa.Integer(), nullable=False),
    sa.Column('target_person_name', sa.String(length=200), nullable=True),
    sa.Column('target_person_role', sa.String(length=200), nullable=True),
    sa.Column('target_personnel_code', sa.String(length=16), nullable=True),
    sa.Column('ground', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=8000), nullable=False),
    sa.Column('occurred_on', sa.String(length=10), nullable=True),
    sa.Column('occurred_place', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('identity_sealed', sa.String(length=2000), nullable=True),
    sa.Column('receipt_hash', sa.String(length=255), nullable=True),
    sa.Column('meeting_requested', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assigned_to_id', sa.Integer(), nullable=True),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('due_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('escalated_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('closed_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('result', sa.String(length=4000), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['assigned_to_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['filed_by_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['target_unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_assigned_to_id'), ['assigned_to_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_ground'), ['ground'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_target_unit_id'), ['target_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_tracking_code'), ['tracking_code'], unique=True)

    op.create_table('complaint_draft',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('session_key', sa.String(length=64), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('data', sa.String(length=20000), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['filed_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_draft_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_draft_session_key'), ['session_key'], unique=False)

    op.create_table('meeting_slot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_slot_starts_at'), ['starts_at'], unique=False)

    op.create_table('complaint_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('is_result', sa.Boolean(), nullable=False),
    sa.Column('at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_message_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('complaint_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_note_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('complaint_root_cause',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['tag_id'], ['root_cause_tag.id'], ),
    sa.PrimaryKeyConstraint('complaint_id', 'tag_id')
    )
    with op.batch_alter_table('complaint_root_cause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_root_cause_tag_id'), ['tag_id'], unique=False)

    op.create_table('complaint_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=4000), nullable=False),
    sa.Column('at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_transition_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('identity_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('identity_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_access_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_access_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_access_user_id'), ['user_id'], unique=False)

    op.create_table('information_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=4000), nullable=False),
    sa.Column('asked_by_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('due_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('answer', sa.String(length=4000), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', db.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['asked_by_id'], ['staff_user.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('information_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_information_request_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_information_request_unit_id'), ['unit_id'], unique=False)

    op.create_table('meeting_booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('booked_at', db.models.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', db.models.UTCDateTime(), nullable=True),
    sa.Column('reminder_sent_at', db.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['slot_id'], ['meeting_slot.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting_booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_booking_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_booking_slot_id'), ['slot_id'], unique=False)

    op.create_table('complaint_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.String(length=64), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('at', db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['draft_id'], ['complaint_draft.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['complaint_message.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('stored_name')
    )
    with op.batch_alter_table('complaint_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_attachment_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_attachment_draft_id'), ['draft_id'], unique=False)

    op.create_table('complaint_ticket_link',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('complaint_id', 'ticket_id')
    )
    with op.batch_alter_table('complaint_ticket_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_ticket_link_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forget_number', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inspection_office', sa.Boolean(), nullable=False, server_default=sa.false()))
    # The seeded inspection office (db/seed.py) is the one a complaint about goes to the mayor's office.
    op.execute(sa.text("UPDATE unit SET inspection_office = true WHERE name = 'مدیریت بازرسی'"))



def downgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('inspection_office')

    with op.batch_alter_table('sms_outbox', schema=None) as batch_op:
        batch_op.drop_column('forget_number')

    with op.batch_alter_table('complaint_ticket_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_ticket_link_ticket_id'))

    op.drop_table('complaint_ticket_link')
    with op.batch_alter_table('complaint_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_attachment_draft_id'))
        batch_op.drop_index(batch_op.f('ix_complaint_attachment_complaint_id'))

    op.drop_table('complaint_attachment')
    with op.batch_alter_table('meeting_booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_booking_slot_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_booking_complaint_id'))

    op.drop_table('meeting_booking')
    with op.batch_alter_table('information_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_information_request_unit_id'))
        batch_op.drop_index(batch_op.f('ix_information_request_complaint_id'))

    op.drop_table('information_request')
    with op.batch_alter_table('identity_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_access_user_id'))
        batch_op.drop_index(batch_op.f('ix_identity_access_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_identity_access_at'))

    op.drop_table('identity_access')
    with op.batch_alter_table('complaint_transition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_transition_complaint_id'))

    op.drop_table('complaint_transition')
    with op.batch_alter_table('complaint_root_cause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_root_cause_tag_id'))

    op.drop_table('complaint_root_cause')
    with op.batch_alter_table('complaint_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_note_complaint_id'))

    op.drop_table('complaint_note')
    with op.batch_alter_table('complaint_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_message_complaint_id'))

    op.drop_table('complaint_message')
    with op.batch_alter_table('meeting_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_slot_starts_at'))

    op.drop_table('meeting_slot')
    with op.batch_alter_table('complaint_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_draft_session_key'))
        batch_op.drop_index(batch_op.f('ix_complaint_draft_expires_at'))

    op.drop_table('complaint_draft')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_tracking_code'))
        batch_op.drop_index(batch_op.f('ix_complaint_target_unit_id'))
        batch_op.drop_index(batch_op.f('ix_complaint_status'))
        batch_op.drop_index(batch_op.f('ix_complaint_ground'))
        batch_op.drop_index(batch_op.f('ix_complaint_created_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_assigned_to_id'))

    op.drop_table('complaint')
    op.drop_table('root_cause_tag')
    op.drop_table('complaint_ground_sla')
