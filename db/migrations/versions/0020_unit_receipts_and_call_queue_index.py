"""unit receipts: the scorecard's summary, one row per referral of a ticket to a unit, filled from the history;
the calls' queue time indexed for the wallboard (ADR 0082)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 20:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Not imported from the application: a migration must keep meaning what it meant when it was written. This is
# callcenter/tickets/unit_receipts.py's rebuild as of this revision (`python -m callcenter summaries rebuild` runs
# the application's own; a test checks that the two fill the same rows).
_REBUILD = """WITH steps AS (
    SELECT t.id, t.ticket_id, t.action, t.at, t.to_unit_id, t.verdict,
           ROW_NUMBER() OVER (PARTITION BY t.ticket_id ORDER BY t.at, t.id) AS pos,
           CASE WHEN t.action IN ('refer', 're_refer') AND t.to_unit_id IS NOT NULL THEN 1 ELSE 0 END AS starts
    FROM ticket_transition t
), placed AS (
    SELECT s.*, MAX(CASE WHEN s.starts = 1 THEN s.pos END)
                OVER (PARTITION BY s.ticket_id ORDER BY s.pos ROWS UNBOUNDED PRECEDING) AS receipt_pos
    FROM steps s
), bounds AS (
    SELECT ticket_id, receipt_pos,
           MIN(CASE WHEN action IN ('decline', 'cancel') AND pos > receipt_pos THEN pos END) AS leave_pos
    FROM placed WHERE receipt_pos IS NOT NULL GROUP BY ticket_id, receipt_pos
), counted AS (
    SELECT p.* FROM placed p JOIN bounds b ON b.ticket_id = p.ticket_id AND b.receipt_pos = p.receipt_pos
    WHERE b.leave_pos IS NULL OR p.pos <= b.leave_pos
), receipts AS (
    SELECT ticket_id, receipt_pos,
           MIN(CASE WHEN pos = receipt_pos THEN id END) AS referral_id,
           MIN(CASE WHEN pos = receipt_pos THEN to_unit_id END) AS unit_id,
           MIN(CASE WHEN pos = receipt_pos THEN at END) AS referred_at,
           MIN(CASE WHEN action = 'report_done' AND pos > receipt_pos THEN at END) AS done_at,
           MIN(CASE WHEN action IN ('decline', 'cancel') AND pos > receipt_pos THEN at END) AS left_by_step,
           SUM(CASE WHEN action = 'verify_resolved' THEN 1 ELSE 0 END) AS resolved,
           SUM(CASE WHEN action = 'verify_not_resolved' THEN 1 ELSE 0 END) AS not_resolved,
           MAX(CASE WHEN action IN ('verify_resolved', 'verify_not_resolved')
                    THEN pos * 2 + CASE WHEN action = 'verify_resolved' THEN 1 ELSE 0 END END) AS last_answer,
           SUM(CASE WHEN action = 'field_verdict' AND verdict IN ('citizen_right', 'partly') THEN 1 ELSE 0 END)
               AS verdicts_against,
           SUM(CASE WHEN action = 'field_verdict' AND verdict = 'unit_right' THEN 1 ELSE 0 END) AS verdicts_for,
           MAX(at) AS last_counted_at
    FROM counted GROUP BY ticket_id, receipt_pos
), nexts AS (
    SELECT ticket_id, pos, LEAD(at) OVER (PARTITION BY ticket_id ORDER BY pos) AS next_at
    FROM placed WHERE starts = 1
)
INSERT INTO unit_receipt (referral_id, ticket_id, unit_id, source, referred_at, deadline, done_at, done_after_us,
                          left_at, resolved, not_resolved, last_answer_resolved, verdicts_against, verdicts_for,
                          last_step_at)
SELECT r.referral_id, r.ticket_id, r.unit_id, k.source, r.referred_at, {deadline}, r.done_at, {done_after_us},
       COALESCE(r.left_by_step, n.next_at), r.resolved, r.not_resolved,
       CASE WHEN r.last_answer IS NULL THEN NULL ELSE (r.last_answer % 2 = 1) END,
       r.verdicts_against, r.verdicts_for,
       CASE WHEN r.left_by_step IS NULL AND n.next_at IS NOT NULL THEN n.next_at ELSE r.last_counted_at END
FROM receipts r
JOIN nexts n ON n.ticket_id = r.ticket_id AND n.pos = r.receipt_pos
JOIN ticket k ON k.id = r.ticket_id
LEFT JOIN category c ON c.id = k.category_id
"""
_DIALECT_PARTS = {'postgresql': {'deadline': "r.referred_at + c.sla_hours * INTERVAL '1 hour'",
                'done_after_us': 'CAST(EXTRACT(EPOCH FROM (r.done_at - r.referred_at)) * 1000000 AS BIGINT)'},
 'sqlite': {'deadline': "CASE WHEN c.sla_hours IS NULL THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S', "
                        "substr(r.referred_at, 1, 19), '+' || c.sla_hours || ' hours') || substr(r.referred_at, 20) "
                        "END",
            'done_after_us': "(CAST(strftime('%s', substr(r.done_at, 1, 19)) AS INTEGER)"
                             " - CAST(strftime('%s', substr(r.referred_at, 1, 19)) AS INTEGER))"
                             " * 1000000 + CAST(substr(r.done_at, 21, 6) AS INTEGER)"
                             " - CAST(substr(r.referred_at, 21, 6) AS INTEGER)"}}


def upgrade() -> None:
    op.create_table(
        'unit_receipt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('source', db.models.EnumAsString(db.models.TicketSource, 16), nullable=False),
        sa.Column('referred_at', db.models.UTCDateTime(), nullable=False),
        sa.Column('deadline', db.models.UTCDateTime(), nullable=True),
        sa.Column('done_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('done_after_us', sa.BigInteger(), nullable=True),
        sa.Column('left_at', db.models.UTCDateTime(), nullable=True),
        sa.Column('resolved', sa.Integer(), nullable=False),
        sa.Column('not_resolved', sa.Integer(), nullable=False),
        sa.Column('last_answer_resolved', sa.Boolean(), nullable=True),
        sa.Column('verdicts_against', sa.Integer(), nullable=False),
        sa.Column('verdicts_for', sa.Integer(), nullable=False),
        sa.Column('last_step_at', db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['referral_id'], ['ticket_transition.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('referral_id'),
    )
    op.create_index('ix_unit_receipt_ticket_id', 'unit_receipt', ['ticket_id'])
    op.create_index('ix_unit_receipt_period', 'unit_receipt', ['referred_at', 'unit_id'])
    op.create_index('ix_call_queued_at', 'call', ['queued_at'])
    op.execute(sa.text(_REBUILD.format(**_DIALECT_PARTS[op.get_bind().dialect.name])))


def downgrade() -> None:
    op.drop_index('ix_call_queued_at', table_name='call')
    op.drop_index('ix_unit_receipt_period', table_name='unit_receipt')
    op.drop_index('ix_unit_receipt_ticket_id', table_name='unit_receipt')
    op.drop_table('unit_receipt')
