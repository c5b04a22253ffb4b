"""Keyset pages: the cursor of a page's last row (its rank, its moment, its id) and the rows that come after it.

A list a person opens is read a page at a time in a fixed order ending in the row id, so that equal sort keys
still have an order; the next page starts strictly after the cursor, never at an OFFSET that would read and skip
every row before it (ADR 0078). The cursor is ``<rank>_<microseconds since 1970 UTC>_<id>``: ASCII, opaque to
the pages, which only hand back what the server gave them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped

from callcenter.platform.errors import ValidationFailed
from db.models import MAX_ROW_ID

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
CURSOR_MAX_LENGTH = 64
BAD_CURSOR = "نشانی صفحهٔ بعد درست نیست."
_MAX_RANK = 1000  # ranks are a handful of groups (priorities, escalated first)


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's rank (the first part of the order), moment and id."""

    rank: int
    moment: datetime
    id: int

    def encode(self) -> str:
        return f"{self.rank}_{(self.moment - EPOCH) // MICROSECOND}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor a page was given; anything else is refused as invalid data (field ``after``)."""
        try:
            rank_text, moment_text, id_text = text.split("_")
            if not all(part.isascii() and part.lstrip("-").isdigit() for part in (rank_text, moment_text, id_text)):
                raise ValueError(text)
            rank, ident = int(rank_text), int(id_text)
            if not (0 <= rank <= _MAX_RANK and 1 <= ident <= MAX_ROW_ID):
                raise ValueError(text)
            return cls(rank=rank, moment=EPOCH + int(moment_text) * MICROSECOND, id=ident)
        except (ValueError, OverflowError) as exc:
            raise ValidationFailed(BAD_CURSOR, field="after") from exc


Column = Mapped[Any] | sa.ColumnElement[Any]


def after_in_rank(cursor: Cursor, moment: Column, ident: Column) -> sa.ColumnElement[bool]:
    """The rows of the cursor's rank that come after it: (moment, id) beyond the cursor's, as one row-value
    comparison an index on (…, moment, id) answers with a range. The values are bound with the columns' types."""
    return sa.tuple_(moment, ident) > (cursor.moment, cursor.id)


def after(cursor: Cursor, rank: sa.ColumnElement[int], moment: Column, ident: Column) -> sa.ColumnElement[bool]:
    """Every row after the cursor in the order (rank, moment, id), when the rank is an expression of the row."""
    return sa.or_(rank > cursor.rank, sa.and_(rank == cursor.rank, after_in_rank(cursor, moment, ident)))
