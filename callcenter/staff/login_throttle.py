"""Login throttle: failed logins counted per name, per name and address, and per address, each in one atomic UPDATE.

The rule (docs/security.md, "Logins"):

- Every attempt first *claims* a try in each scope that applies, before the password is checked; a claim is one
  ``UPDATE … SET failed_logins = failed_logins + 1 … RETURNING`` whose ``WHERE`` refuses a locked scope and whose
  ``CASE`` locks the scope when this try reaches its limit. So N concurrent guesses check at most the limit.
- ``pair`` (name + address): ``max_failures`` tries, then a progressive delay (``first_delay``, doubled at every
  lockout in a row, at most ``lockout``). Reset by a right password from that address.
- ``address`` (any name): ``address_max_failures`` tries, then the same progressive delay. A right password gives
  its try back.
- ``name`` (the name, whichever address): ``max_failures`` tries, then ``lockout`` (15 minutes) — but only for
  addresses the account has never logged in from: the account's known addresses skip this scope, so a stranger
  guessing cannot lock the real operator out of their own desk. A right password gives its try back.
- A scope's count restarts after ``lockout`` without failures, or when its lock has run out.

Names are counted whether or not an account has them: the answers tell nothing about who exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from db.models import KnownLoginAddress, LoginThrottle, User, UTCDateTime

NAME, PAIR, ADDRESS = "name", "pair", "address"
_TABLE: sa.Table = LoginThrottle.__table__  # type: ignore[attr-defined]
_MAX_DOUBLINGS = 16  # beyond this the cap has long been reached


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    address_max_failures: int = 20
    first_delay: timedelta = timedelta(seconds=30)

    def delays(self, *, progressive: bool) -> list[timedelta]:
        """Lock length by lockouts in a row so far (the last one repeats)."""
        if not progressive:
            return [self.lockout]
        delays = [min(self.first_delay * 2**n, self.lockout) for n in range(_MAX_DOUBLINGS)]
        return delays[: delays.index(self.lockout) + 1] if self.lockout in delays else delays


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str


def claim_attempt(
    session: Session, *, name: str, address: str, known_address: bool, policy: LockoutPolicy, now: datetime
) -> list[Claim] | None:
    """The scopes this attempt was counted in, or None when one of them is locked (then nothing is checked)."""
    scopes = [(PAIR, pair_key(name, address), policy.max_failures, True),
              (ADDRESS, address, policy.address_max_failures, True)]
    if not known_address:
        scopes.append((NAME, name, policy.max_failures, False))
    claims: list[Claim] = []
    for scope, key, limit, progressive in scopes:
        if not _claim(session, scope=scope, key=key, limit=limit, delays=policy.delays(progressive=progressive),
                      window=policy.lockout, now=now):
            return None
        claims.append(Claim(scope, key))
    return claims


def attempt_succeeded(session: Session, claims: list[Claim]) -> None:
    """The right password: the pair starts afresh; the name and the address get this attempt's try back."""
    for claim in claims:
        where = (_TABLE.c.scope == claim.scope) & (_TABLE.c.key == claim.key)
        if claim.scope == PAIR:
            session.execute(sa.delete(_TABLE).where(where))
        else:
            count = _TABLE.c.failed_logins
            session.execute(sa.update(_TABLE).where(where).values(
                failed_logins=sa.case((count > 0, count - 1), else_=0)))
    session.commit()


def is_known_address(session: Session, *, name: str, address: str) -> bool:
    """Whether the account called ``name`` (if any) logged in from ``address`` before: one query either way."""
    found = session.exec(
        select(KnownLoginAddress.user_id).join(User, col(User.id) == col(KnownLoginAddress.user_id))
        .where(User.username == name, KnownLoginAddress.address == address)
    ).first()
    return found is not None


def remember_address(session: Session, *, user_id: int, address: str, now: datetime) -> None:
    known = session.get(KnownLoginAddress, (user_id, address))
    if known is None:
        _insert_ignoring_duplicates(session, KnownLoginAddress.__table__,  # type: ignore[attr-defined]
                                    {"user_id": user_id, "address": address, "last_login_at": now})
    else:
        known.last_login_at = now
        session.add(known)
    session.commit()


def pair_key(name: str, address: str) -> str:
    return f"{name}\n{address}"


def _claim(
    session: Session, *, scope: str, key: str, limit: int, delays: list[timedelta], window: timedelta,
    now: datetime,
) -> bool:
    _insert_ignoring_duplicates(session, _TABLE, {"scope": scope, "key": key, "failed_logins": 0, "strikes": 0})
    c = _TABLE.c
    quiet = sa.or_(c.last_failure_at.is_(None), c.last_failure_at < _when(now - window))
    lock_ran_out = c.locked_until.is_not(None) & (c.locked_until <= _when(now))
    count = sa.case((quiet | lock_ran_out, 1), else_=c.failed_logins + 1)
    strikes = sa.case((quiet, 0), else_=c.strikes)
    locks = count >= limit
    earlier = [(strikes == n, _when(now + delay)) for n, delay in enumerate(delays[:-1])]
    lock_end = sa.case(*earlier, else_=_when(now + delays[-1])) if earlier else _when(now + delays[-1])
    claimed = session.execute(
        sa.update(_TABLE)
        .where(c.scope == scope, c.key == key, sa.or_(c.locked_until.is_(None), c.locked_until <= _when(now)))
        .values(failed_logins=count, last_failure_at=now,
                strikes=sa.case((locks, strikes + 1), else_=strikes),
                locked_until=sa.case((locks, lock_end), else_=None))
        .returning(c.failed_logins)
    ).first()
    session.commit()
    return claimed is not None


def _when(moment: datetime) -> sa.BindParameter[datetime]:
    """A moment as the columns store it (naive UTC), wherever it appears in an expression."""
    return sa.bindparam(None, moment, type_=UTCDateTime())


def _insert_ignoring_duplicates(session: Session, table: sa.Table, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    session.execute(insert.values(**values).on_conflict_do_nothing())
