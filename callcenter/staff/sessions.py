"""Server-side staff sessions: opened at login, found by the cookie's random id (the database keeps only its hash),
revoked at logout, password change and deactivation, expired after idle time or their absolute lifetime."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from db.engine import unit_of_work
from db.models import StaffSession, User, utcnow

# A session's last_seen_at is written at most this often: not one database write per request.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=1)
    lifetime: timedelta = timedelta(hours=12)


@dataclass
class ActiveSession:
    """What a request knows of its logged-in session."""

    id: int
    user_id: int
    csrf_token: str
    data: dict[str, Any] = field(default_factory=dict)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a cookie: a copy of the table opens no session."""
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


class SessionStore:
    """Sessions in the database, so every web worker sees the same ones; methods are blocking (run them in a
    thread from async code)."""

    def __init__(self, *, engine: Engine, policy: SessionPolicy) -> None:
        self._engine = engine
        self.policy = policy

    def open(
        self, *, user_id: int, address: str, user_agent: str, now: datetime | None = None
    ) -> tuple[str, ActiveSession]:
        """A new session for a user who just proved their password: the cookie's value and the session."""
        now = now or utcnow()
        token = new_token()
        row = StaffSession(token_hash=token_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
                           address=address[:64], user_agent=user_agent[:256], csrf_token=new_token())
        with unit_of_work(self._engine) as session:
            session.add(row)
            session.flush()
            assert row.id is not None
            return token, ActiveSession(id=row.id, user_id=user_id, csrf_token=row.csrf_token)

    def find(self, token: str, *, now: datetime | None = None) -> ActiveSession | None:
        """The live session this cookie names, or None (unknown, revoked, expired, or its account deactivated)."""
        with unit_of_work(self._engine) as session:
            row = session.exec(select(StaffSession).where(StaffSession.token_hash == token_hash(token))).first()
            row = self._live(session, row, now=now or utcnow())
            if row is None or row.id is None:
                return None
            return ActiveSession(id=row.id, user_id=row.user_id, csrf_token=row.csrf_token, data=dict(row.data))

    def is_live(self, session_id: int, *, now: datetime | None = None) -> bool:
        """For a console's websocket: whether its session still stands (and, it being in use, not idle)."""
        with unit_of_work(self._engine) as session:
            return self._live(session, session.get(StaffSession, session_id), now=now or utcnow()) is not None

    def save(self, active: ActiveSession) -> None:
        """What a request changed in its session (its CSRF token, a page's data)."""
        with unit_of_work(self._engine) as session:
            session.execute(sa.update(StaffSession).where(col(StaffSession.id) == active.id)
                            .values(csrf_token=active.csrf_token, data=active.data))

    def revoke(self, session_id: int) -> None:
        with unit_of_work(self._engine) as session:
            session.execute(sa.delete(StaffSession).where(col(StaffSession.id) == session_id))

    def revoke_all(self, user_id: int, *, except_session: int | None = None) -> int:
        """Every session of the account (but ``except_session``, the one changing its password): how many."""
        condition = col(StaffSession.user_id) == user_id
        if except_session is not None:
            condition = condition & (col(StaffSession.id) != except_session)
        with unit_of_work(self._engine) as session:
            revoked = session.execute(sa.delete(StaffSession).where(condition).returning(col(StaffSession.id)))
            return len(revoked.all())

    def _live(self, session: Session, row: StaffSession | None, *, now: datetime) -> StaffSession | None:
        if row is None:
            return None
        user = session.get(User, row.user_id)
        expired = now - row.last_seen_at > self.policy.idle or now - row.created_at > self.policy.lifetime
        if expired or user is None or not user.is_active:
            session.delete(row)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
            session.add(row)
            session.flush()
            session.refresh(row)
        return row
