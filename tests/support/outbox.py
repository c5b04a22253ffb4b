"""An SMS outbox whose insert fails, for showing that filing a ticket is all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from db.models import SmsMessage


class OutboxDown(Exception):
    """The outbox insert failing (a full disk, a lost connection...)."""


@contextmanager
def outbox_refusing() -> Iterator[None]:
    """Every SMS outbox row refused at its insert while the block runs, wherever in the process it is written."""
    def refuse(*_args: Any) -> None:
        raise OutboxDown("the outbox refused the row")

    sa.event.listen(SmsMessage, "before_insert", refuse)
    try:
        yield
    finally:
        sa.event.remove(SmsMessage, "before_insert", refuse)
