"""Filing a ticket from the console: the ticket, its referral and its tracking-code SMS, one unit of work."""

from __future__ import annotations

from sqlmodel import Session

from callcenter.tickets.lifecycle import refer_on_filing
from callcenter.tickets.sms import queue_tracking_code_sms
from callcenter.tickets.store import Submission, submit_ticket
from db.models import TicketCreate, User


def file_with_referral(session: Session, *, data: TicketCreate, by: User) -> Submission:
    """Store the ticket, refer it to the unit the operator chose, and queue the code's SMS, in the caller's
    transaction: a failure in any of them (the outbox insert included) raises, and the edge keeps none of them.

    Only an outbox row is written: the dispatcher sends it later, so a slow or failing provider never holds the
    operator. A replayed form returns the first ticket, already referred and its SMS queued once."""
    submission = submit_ticket(session, data=data, created_by=by)
    refer_on_filing(session, ticket=submission.ticket, by=by)
    queue_tracking_code_sms(session, ticket=submission.ticket)
    return submission
