"""Staff logins: password check with a lockout after repeated failures, kept in the database for every worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from callcenter.errors import AccountLocked, NotAuthenticated
from callcenter.persian import normalize_text
from callcenter.security import verify_password
from db.models import User, utcnow

WRONG_CREDENTIALS = "نام کاربری یا گذرواژه نادرست است."
LOCKED = "به دلیل تلاش‌های ناموفق پیاپی، ورود به این حساب تا چند دقیقه ممکن نیست."


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


def authenticate(
    session: Session, *, username: str, password: str, policy: LockoutPolicy, now: datetime | None = None
) -> User:
    """The active user with this name and password; every path checks a hash, so timing tells nothing."""
    now = now or utcnow()
    user = session.exec(select(User).where(User.username == normalize_text(username).lower())).first()
    correct = verify_password(password, user.password_hash if user else None)
    if user is None or not user.is_active:
        raise NotAuthenticated(WRONG_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(LOCKED, locked_until=user.locked_until.isoformat())
    if not correct:
        _count_failure(session, user, policy=policy, now=now)
        raise NotAuthenticated(WRONG_CREDENTIALS)
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        session.add(user)
        session.commit()
    return user


def _count_failure(session: Session, user: User, *, policy: LockoutPolicy, now: datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= policy.max_failures:
        user.locked_until, user.failed_logins = now + policy.lockout, 0
    session.add(user)
    session.commit()
