"""Rate limits of the public channels: hits per key in fixed windows, each counted by one atomic upsert.

A rule names a scope ("track-address", "otp-number", ...), how many hits a window allows and how long a window
is. What is limited (an address, a mobile, a tracking code, an API key) is stored only as an HMAC under the
installation's secret key: the table says how often *something* was used, never what or whose it was, so an
anonymous 1888 message leaves no address behind in it. Old windows are deleted by :func:`purge_expired`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.platform.errors import RateLimited
from db.engine import unit_of_work
from db.models import RateLimitWindow

_TABLE: sa.Table = RateLimitWindow.__table__  # type: ignore[attr-defined]
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Windows kept after they end: none is longer than a day, so older rows count for nothing.
KEEP_WINDOWS_FOR = timedelta(days=1)
# How often the scheduler purges: an hour's leftover windows are a few rows, never a count that matters.
PURGE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` hits per ``window`` for each key of ``scope``."""

    scope: str
    limit: int
    window: timedelta


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int  # in this window, this hit included (for check: before it)
    retry_after: timedelta  # until the window ends; zero when allowed

    def raise_if_refused(self, message: str | None = None) -> None:
        if not self.allowed:
            raise RateLimited(message, retry_after=max(1, int(self.retry_after.total_seconds())))


class RateLimiter:
    """Counts hits under the installation's secret key (``PASOKH_SECRET_KEY``)."""

    def __init__(self, *, secret: str) -> None:
        self._secret = secret.encode()

    def key_of(self, scope: str, value: str) -> str:
        """The stored key: HMAC-SHA-256 of scope and value, hex (the same value in two scopes gives two keys)."""
        return hmac.new(self._secret, f"{scope}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def hit(self, session: Session, rule: RateRule, value: str, *, now: datetime) -> Verdict:
        """Count one hit and say whether it is within the limit. Concurrent hits are each counted once."""
        start = window_start(rule, now)
        values = {"scope": rule.scope, "key": self.key_of(rule.scope, value), "window_start": start, "hits": 1}
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert(_TABLE) if dialect == "postgresql" else sqlite.insert(_TABLE)
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=["scope", "key", "window_start"], set_={"hits": _TABLE.c.hits + 1},
        ).returning(_TABLE.c.hits)
        hits = int(session.execute(statement).scalar_one())
        return _verdict(rule, hits, allowed=hits <= rule.limit, start=start, now=now)

    def check(self, session: Session, rule: RateRule, value: str, *, now: datetime) -> Verdict:
        """Whether one more hit would be allowed, counting nothing (for limits that count only failures)."""
        start = window_start(rule, now)
        hits = session.exec(select(RateLimitWindow.hits).where(
            RateLimitWindow.scope == rule.scope, RateLimitWindow.key == self.key_of(rule.scope, value),
            RateLimitWindow.window_start == start)).first() or 0
        return _verdict(rule, hits, allowed=hits < rule.limit, start=start, now=now)


def window_start(rule: RateRule, now: datetime) -> datetime:
    """The start of the fixed window ``now`` falls in (windows are aligned on a fixed epoch, not per key)."""
    seconds = rule.window.total_seconds()
    elapsed = (now - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=elapsed - elapsed % seconds)


def _verdict(rule: RateRule, hits: int, *, allowed: bool, start: datetime, now: datetime) -> Verdict:
    return Verdict(allowed=allowed, hits=hits, retry_after=timedelta(0) if allowed else start + rule.window - now)


def purge_expired(session: Session, *, now: datetime) -> int:
    """Delete windows that ended long enough ago to count for nothing (the scheduler runs it)."""
    result = session.exec(sa.delete(RateLimitWindow).where(col(RateLimitWindow.window_start) < now - KEEP_WINDOWS_FOR))
    return int(result.rowcount or 0)


def purge_job(*, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Callable[[], int]:
    """The scheduler's job: purge the expired windows in a unit of work of its own; returns how many went."""
    def purge() -> int:
        with unit_of_work(engine) as session:
            return purge_expired(session, now=now())
    return purge
