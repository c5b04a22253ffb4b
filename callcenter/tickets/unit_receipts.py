"""The unit receipts: one summary row per referral of a ticket to a unit, kept by the lifecycle, read by the scorecard.

A receipt begins with a referral (refer or re_refer) and lasts until the ticket leaves the unit: declined back to
the call centre, cancelled, or re-referred (which begins the next unit's receipt). What the scorecard needs of it
(when the work was first reported done, the citizen's answers, the field supervisors' verdicts, when it left) is
written here in the transaction of each step (``record_step``, called by ``apply_action``), so a month's scorecard
reads one indexed range of these rows instead of walking every step of the month's tickets (ADR 0082).

``rebuild_summaries`` recomputes the whole table from ``ticket_transition`` in one INSERT … SELECT (after a
restore, after facts were written around the lifecycle, by a data generator); the walk it encodes is the one the
scorecard's reference computation (callcenter/reports/scorecard.py ``receipts_from_history``) does step by step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from db.models import Category, FieldVerdict, Ticket, TicketAction, TicketTransition, UnitReceipt

REFERRALS = frozenset({TicketAction.REFER, TicketAction.RE_REFER})
LEAVING = frozenset({TicketAction.DECLINE, TicketAction.CANCEL})
VERDICTS_AGAINST = frozenset({FieldVerdict.CITIZEN_RIGHT, FieldVerdict.PARTLY})
_MICROSECOND = timedelta(microseconds=1)


def record_step(session: Session, ticket: Ticket, step: TicketTransition) -> None:
    """What one step (already flushed, so it has an id) changes in the ticket's receipts, in its transaction."""
    current = _current_receipt(session, step.ticket_id)
    if step.action in REFERRALS and step.to_unit_id is not None and step.id is not None:
        if current is not None:
            current.left_at = current.last_step_at = step.at
            session.add(current)
        session.add(UnitReceipt(
            referral_id=step.id, ticket_id=step.ticket_id, unit_id=step.to_unit_id, source=ticket.source,
            referred_at=step.at, deadline=_deadline(session, ticket, step.at), last_step_at=step.at))
        return
    if current is None:
        return  # declined or cancelled: nothing until the next referral
    _apply(current, step)
    session.add(current)


def _current_receipt(session: Session, ticket_id: int) -> UnitReceipt | None:
    """The receipt the ticket is in now: the one that has not ended (at most one). Locked, so that a rebuild
    running meanwhile is waited for and its row, not the one it replaced, is the one updated."""
    return session.exec(
        select(UnitReceipt).where(col(UnitReceipt.ticket_id) == ticket_id, col(UnitReceipt.left_at).is_(None))
        .order_by(col(UnitReceipt.referred_at).desc(), col(UnitReceipt.id).desc()).with_for_update()
    ).first()


def _deadline(session: Session, ticket: Ticket, referred_at: datetime) -> datetime | None:
    category = session.get(Category, ticket.category_id) if ticket.category_id is not None else None
    return None if category is None else referred_at + timedelta(hours=category.sla_hours)


def _apply(receipt: UnitReceipt, step: TicketTransition) -> None:
    """One step taken while the ticket was at the unit."""
    receipt.last_step_at = step.at
    if step.action == TicketAction.REPORT_DONE and receipt.done_at is None:
        receipt.done_at = step.at
        receipt.done_after_us = (step.at - receipt.referred_at) // _MICROSECOND
    elif step.action == TicketAction.VERIFY_RESOLVED:
        receipt.resolved += 1
        receipt.last_answer_resolved = True
    elif step.action == TicketAction.VERIFY_NOT_RESOLVED:
        receipt.not_resolved += 1
        receipt.last_answer_resolved = False
    elif step.action == TicketAction.FIELD_VERDICT and step.verdict is not None:
        if step.verdict in VERDICTS_AGAINST:
            receipt.verdicts_against += 1
        elif step.verdict == FieldVerdict.UNIT_RIGHT:
            receipt.verdicts_for += 1
    elif step.action in LEAVING:
        receipt.left_at = step.at


# The walk of each ticket's history in (at, id) order, as sets: every step is placed in the receipt of the latest
# referral before it; the steps after the receipt's first decline or cancel are no longer the unit's.
_REBUILD = """
WITH steps AS (
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
# Time arithmetic is the one thing the two databases spell differently. SQLite keeps a timestamp as the text
# 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's format): whole seconds through strftime, microseconds by hand, so
# the results equal Python's to the microsecond.
_DIALECT_PARTS = {
    "postgresql": {
        "deadline": "r.referred_at + c.sla_hours * INTERVAL '1 hour'",
        "done_after_us": "CAST(EXTRACT(EPOCH FROM (r.done_at - r.referred_at)) * 1000000 AS BIGINT)",
    },
    # SQLite's date functions keep milliseconds and round: the whole seconds go in alone, the microseconds are added
    # back as text, so 12:00:55.999888 stays in its second (a rounded one was a second late: Hypothesis found it).
    "sqlite": {
        "deadline": "CASE WHEN c.sla_hours IS NULL THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S', "
                    "substr(r.referred_at, 1, 19), '+' || c.sla_hours || ' hours') || substr(r.referred_at, 20) END",
        "done_after_us": "(CAST(strftime('%s', substr(r.done_at, 1, 19)) AS INTEGER)"
                         " - CAST(strftime('%s', substr(r.referred_at, 1, 19)) AS INTEGER))"
                         " * 1000000 + CAST(substr(r.done_at, 21, 6) AS INTEGER)"
                         " - CAST(substr(r.referred_at, 21, 6) AS INTEGER)",
    },
}


def rebuild_statement(dialect_name: str) -> sa.TextClause:
    """The INSERT … SELECT that fills an empty ``unit_receipt`` from the history, in the database's dialect."""
    return sa.text(_REBUILD.format(**_DIALECT_PARTS[dialect_name]))


def rebuild_summaries(session: Session) -> int:
    """Recompute every receipt from ``ticket_transition`` in the caller's transaction; the number of receipts.

    On PostgreSQL the table is locked against writers first: a step under way is waited for (its transition is then
    in the history read), and a step that comes meanwhile waits for the rebuilt rows (``_current_receipt`` locks
    them). Readers go on reading the old rows until the rebuild commits. SQLite has one writer at a time anyway."""
    session.flush()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(sa.text("LOCK TABLE unit_receipt IN EXCLUSIVE MODE"))
    session.execute(sa.delete(UnitReceipt))
    session.execute(rebuild_statement(dialect))
    session.expire_all()  # receipts this session had loaded are gone (their ids may come back for other rows)
    return int(session.exec(select(sa.func.count()).select_from(UnitReceipt)).one())
