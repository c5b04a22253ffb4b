"""inbox pages and address words: each ticket's unit deadline on its row with the indexes the inboxes page by and
the escalation job walks, the open verification tasks' index the supervisors' list pages by (ADR 0078), and the
address-word index of the duplicate check (ADR 0077)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 09:00:00.000000
"""
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Not imported from the application: a migration must keep meaning what it meant when it was written.
_AT_A_UNIT = sa.text("status IN ('referred', 'reopened', 'accepted')")
_DISPUTED = sa.text("status = 'disputed'")
_OPEN_VERIFICATION = sa.text("status IN ('pending', 'calling', 'gave_up')")
_WAITING_ON_SOMEONE = ("referred", "reopened", "accepted", "disputed")
_REFERRALS = ("refer", "re_refer")
_DEFAULT_SLA_HOURS = 72
_DUPLICATE_WINDOW = timedelta(days=30)
_WORD_MAX_LENGTH = 64
_BATCH = 2000
# callcenter/tickets/store.py address_words as of this revision, for addresses as stored (already normalised).
_SEPARATORS = re.compile(r"[\s،,.\-/]+")
_FILLER = frozenset({"خیابان", "خ", "کوچه", "ک", "پلاک", "پ", "نبش", "روبروی", "روبه‌روی", "جنب", "بلوار", "میدان", "م",
                     "بن‌بست", "انتهای", "ابتدای", "کنار", "محله", "شهرک", "و", "،", "-"})

_ticket = sa.table(
    'ticket', sa.column('id', sa.Integer()), sa.column('status', sa.String()), sa.column('category_id', sa.Integer()),
    sa.column('address', sa.String()), sa.column('created_at', sa.DateTime()),
    sa.column('referred_at', sa.DateTime()), sa.column('unit_deadline', sa.DateTime()),
)
_transition = sa.table('ticket_transition', sa.column('ticket_id', sa.Integer()), sa.column('action', sa.String()),
                       sa.column('at', sa.DateTime()))
_category = sa.table('category', sa.column('id', sa.Integer()), sa.column('sla_hours', sa.Integer()))
_word = sa.table('ticket_address_word', sa.column('ticket_id', sa.Integer()), sa.column('word', sa.String()),
                 sa.column('category_id', sa.Integer()), sa.column('created_at', sa.DateTime()))


def upgrade() -> None:
    op.add_column('ticket', sa.Column('referred_at', db.models.UTCDateTime(), nullable=True))
    op.add_column('ticket', sa.Column('unit_deadline', db.models.UTCDateTime(), nullable=True))
    _fill_deadlines()
    op.create_index('ix_ticket_inbox', 'ticket', ['unit_id', 'priority', 'unit_deadline', 'id'],
                    sqlite_where=_AT_A_UNIT, postgresql_where=_AT_A_UNIT)
    op.create_index('ix_ticket_inbox_status', 'ticket', ['unit_id', 'status', 'priority', 'unit_deadline', 'id'],
                    sqlite_where=_AT_A_UNIT, postgresql_where=_AT_A_UNIT)
    op.create_index('ix_ticket_disputed', 'ticket', ['priority', 'unit_deadline', 'id'],
                    sqlite_where=_DISPUTED, postgresql_where=_DISPUTED)
    op.create_index('ix_ticket_overdue', 'ticket', ['unit_deadline', 'id'],
                    sqlite_where=_AT_A_UNIT, postgresql_where=_AT_A_UNIT)
    op.create_index('ix_verification_task_open', 'verification_task', ['next_attempt_at', 'id'],
                    sqlite_where=_OPEN_VERIFICATION, postgresql_where=_OPEN_VERIFICATION)
    op.create_table(
        'ticket_address_word',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('word', sa.String(length=_WORD_MAX_LENGTH), nullable=False),
        sa.Column('category_id', sa.Integer(), nullable=False),
        sa.Column('created_at', db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['category_id'], ['category.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
        sa.PrimaryKeyConstraint('ticket_id', 'word'),
    )
    op.create_index('ix_ticket_address_word_lookup', 'ticket_address_word', ['category_id', 'word', 'created_at'])
    _fill_address_words()


def downgrade() -> None:
    op.drop_index('ix_ticket_address_word_lookup', table_name='ticket_address_word')
    op.drop_table('ticket_address_word')
    op.drop_index('ix_verification_task_open', table_name='verification_task')
    op.drop_index('ix_ticket_overdue', table_name='ticket')
    op.drop_index('ix_ticket_disputed', table_name='ticket')
    op.drop_index('ix_ticket_inbox_status', table_name='ticket')
    op.drop_index('ix_ticket_inbox', table_name='ticket')
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('unit_deadline')
        batch.drop_column('referred_at')


def _fill_deadlines() -> None:
    """referred_at: the latest referral (else, for a ticket waiting on someone, its filing: the inbox's rule
    before this revision); unit_deadline: that plus the category's sla_hours."""
    connection = op.get_bind()
    if connection.dialect.name == 'postgresql':  # set-based: millions of rows in seconds
        connection.execute(sa.text(
            "UPDATE ticket SET referred_at = latest.at FROM (SELECT ticket_id, max(at) AS at FROM ticket_transition "
            "WHERE action IN ('refer', 're_refer') GROUP BY ticket_id) AS latest WHERE latest.ticket_id = ticket.id"))
        connection.execute(sa.text(
            "UPDATE ticket SET referred_at = created_at WHERE referred_at IS NULL "
            "AND status IN ('referred', 'reopened', 'accepted', 'disputed')"))
        connection.execute(sa.text(
            "UPDATE ticket SET unit_deadline = referred_at + make_interval(hours => COALESCE("
            "(SELECT sla_hours FROM category WHERE category.id = ticket.category_id), :default)) "
            "WHERE referred_at IS NOT NULL"), {"default": _DEFAULT_SLA_HOURS})
        return
    _fill_deadlines_row_by_row(connection)


def _fill_deadlines_row_by_row(connection: sa.Connection) -> None:
    """SQLite keeps datetimes as text: the arithmetic is done here, in batches of ticket ids."""
    latest = (sa.select(sa.func.max(_transition.c.at)).where(_transition.c.ticket_id == _ticket.c.id,
                                                             _transition.c.action.in_(_REFERRALS))
              .scalar_subquery())
    sla = sa.select(_category.c.sla_hours).where(_category.c.id == _ticket.c.category_id).scalar_subquery()
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_ticket.c.id, _ticket.c.status, _ticket.c.created_at, latest.label('referred'), sla.label('sla'))
            .where(_ticket.c.id > after).order_by(_ticket.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for row in rows:
            referred = row.referred or (row.created_at if row.status in _WAITING_ON_SOMEONE else None)
            if referred is not None:
                connection.execute(sa.update(_ticket).where(_ticket.c.id == row.id).values(
                    referred_at=referred, unit_deadline=referred + timedelta(hours=row.sla or _DEFAULT_SLA_HOURS)))
        after = rows[-1].id


def _fill_address_words() -> None:
    """The words of the tickets filed within the duplicate window (older ones are never searched)."""
    connection = op.get_bind()
    since = datetime.now(UTC).replace(tzinfo=None) - _DUPLICATE_WINDOW
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_ticket.c.id, _ticket.c.category_id, _ticket.c.address, _ticket.c.created_at)
            .where(_ticket.c.id > after, _ticket.c.created_at >= since, _ticket.c.category_id.is_not(None))
            .order_by(_ticket.c.id).limit(_BATCH)).all()
        if not rows:
            return
        words = [{"ticket_id": row.id, "word": word, "category_id": row.category_id, "created_at": row.created_at}
                 for row in rows for word in _address_words(row.address or "")]
        if words:
            connection.execute(sa.insert(_word), words)
        after = rows[-1].id


def _address_words(address: str) -> set[str]:
    return {word[:_WORD_MAX_LENGTH] for word in _SEPARATORS.split(address) if word and word not in _FILLER}
