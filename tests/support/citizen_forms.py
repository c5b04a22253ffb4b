"""The citizens' public forms as a script drives them: the hidden fields a rendered form carries, and the SMS code
read back from the outbox (as the citizen reads it on their phone)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import col, select

from callcenter.platform.persian import ascii_digits, persian_digits
from callcenter.tickets.tracking_code import format_for_reading
from db.engine import unit_of_work
from db.models import SmsMessage

_HIDDEN = re.compile(r'<input type="hidden" name="(csrf_token|request_id)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """``csrf_token`` and ``request_id`` of a rendered form (post them back with the other fields)."""
    return dict(_HIDDEN.findall(html))


def latest_phone_code(engine: sa.Engine, mobile: str) -> str:
    """The six digits of the last code texted to ``mobile`` (an outbox row with no ticket)."""
    with unit_of_work(engine) as session:
        body = session.exec(select(SmsMessage.body).where(SmsMessage.to_number == mobile,
                                                          col(SmsMessage.ticket_id).is_(None))
                            .order_by(col(SmsMessage.id).desc())).first()
    assert body is not None, f"no code was texted to {mobile}"
    [code] = re.findall(r"\d{6}", ascii_digits(body))
    return code


def code_as_shown(tracking_code: str) -> str:
    """A tracking code as the filed page shows it: Persian digits in groups of three."""
    return persian_digits(format_for_reading(tracking_code))
