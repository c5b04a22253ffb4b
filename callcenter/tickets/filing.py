"""Filing a ticket: from the console (the operator's unit), or from a channel the routing table refers (the web
site, Open311, a service desk); the ticket, its referral and its tracking-code SMS in one unit of work."""

from __future__ import annotations

from sqlmodel import Session

from callcenter.platform.errors import ValidationFailed
from callcenter.tickets.lifecycle import Actor, refer_on_filing
from callcenter.tickets.referral_units import referral_unit
from callcenter.tickets.sms import StatusLink, queue_tracking_code_sms
from callcenter.tickets.store import Submission, submit_ticket
from db.models import Category, TicketCreate, TicketSource, User

NO_UNIT_FOR_CATEGORY = "برای این موضوع هنوز واحد مسئولی تعیین نشده است؛ لطفاً با ۱۳۷ تماس بگیرید."


def file_with_referral(
    session: Session, *, data: TicketCreate, by: User, status_link: StatusLink | None = None,
) -> Submission:
    """Store the ticket, refer it to the unit the operator chose, and queue the code's SMS, in the caller's
    transaction: a failure in any of them (the outbox insert included) raises, and the edge keeps none of them.

    Only an outbox row is written: the dispatcher sends it later, so a slow or failing provider never holds the
    operator. A replayed form returns the first ticket, already referred and its SMS queued once. ``status_link``
    (callcenter/citizens/links.py) puts the ticket's status link in the SMS."""
    submission = submit_ticket(session, data=data, created_by=by)
    refer_on_filing(session, ticket=submission.ticket, by=by)
    queue_tracking_code_sms(session, ticket=submission.ticket, status_link=status_link)
    return submission


def file_from_channel(
    session: Session, *, data: TicketCreate, source: TicketSource, by: Actor, anonymous: bool = False,
    status_link: StatusLink | None = None,
) -> Submission:
    """A ticket handed in without an operator choosing its unit: the routing table (a district's own unit for
    the category, else the category's default) picks it, overriding whatever ``data.unit_id`` says, and the
    ticket is referred there at once, in ``by``'s name (the citizen online, or the desk's staff member).

    Same guarantees as :func:`file_with_referral`: one transaction, a replayed ``request_id`` returns the first
    ticket, the tracking-code SMS queued once (none without a mobile)."""
    category = session.get(Category, data.category_id)
    if category is None:
        raise ValidationFailed("موضوع انتخاب‌شده وجود ندارد.", field="category_id")
    route = referral_unit(session, category_id=data.category_id, district_id=data.district_id)
    if route.unit_id is None:
        raise ValidationFailed(NO_UNIT_FOR_CATEGORY, field="category_id")
    routed = data.model_copy(update={"unit_id": route.unit_id})
    created_by = by if isinstance(by, User) else None
    submission = submit_ticket(session, data=routed, created_by=created_by, source=source, anonymous=anonymous)
    refer_on_filing(session, ticket=submission.ticket, by=by)
    queue_tracking_code_sms(session, ticket=submission.ticket, status_link=status_link)
    return submission

