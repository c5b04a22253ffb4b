"""Staff logins and passwords: the check behind the throttle (staff/login_throttle.py), and password changes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from callcenter.platform.errors import AccountLocked, NotAuthenticated, ValidationFailed
from callcenter.platform.persian import normalize_text
from callcenter.platform.security import hash_password, verify_password
from callcenter.staff.directory import strong_password
from callcenter.staff.login_throttle import (
    LockoutPolicy,
    attempt_succeeded,
    claim_attempt,
    is_known_address,
    remember_address,
)
from db.models import User, utcnow

__all__ = ["LockoutPolicy", "authenticate", "change_password"]

WRONG_CREDENTIALS = "نام کاربری یا گذرواژه نادرست است."
LOCKED = "به دلیل تلاش‌های ناموفق پیاپی، ورود به این حساب تا چند دقیقه ممکن نیست."
WRONG_CURRENT_PASSWORD = "گذرواژهٔ فعلی درست نیست."
NAME_LENGTH = 64  # staff_user.username


def authenticate(
    session: Session, *, username: str, password: str, address: str, policy: LockoutPolicy,
    now: datetime | None = None,
) -> User:
    """The active user with this name and password, from this client address. Known and unknown names take the
    same path (a throttle claim, an argon2 check) and get the same answers."""
    now = now or utcnow()
    name = normalize_text(username).lower()[:NAME_LENGTH]
    address = address[:64]
    known = is_known_address(session, name=name, address=address)
    claims = claim_attempt(session, name=name, address=address, known_address=known, policy=policy, now=now)
    if claims is None:
        raise AccountLocked(LOCKED)
    user = session.exec(select(User).where(User.username == name)).first()
    correct = verify_password(password, user.password_hash if user else None)
    if user is None or user.id is None or not user.is_active or not correct:
        raise NotAuthenticated(WRONG_CREDENTIALS)  # the claimed tries stay counted
    attempt_succeeded(session, claims)
    remember_address(session, user_id=user.id, address=address, now=now)
    session.refresh(user)
    return user


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    """The account holder's own change: the current password first, and the same strength rule as at creation."""
    if not verify_password(current, user.password_hash):
        raise NotAuthenticated(WRONG_CURRENT_PASSWORD, field="current_password")
    if new == current:
        raise ValidationFailed("گذرواژهٔ تازه باید با گذرواژهٔ فعلی فرق داشته باشد.", field="new_password")
    user.password_hash = hash_password(strong_password(new))
    session.add(user)
    session.flush()
