"""Open311 API keys: issued and revoked by an administrator, stored as SHA-256 only, each with its own limit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from callcenter.platform.errors import InvalidApiKey, NotFound, ValidationFailed
from callcenter.platform.persian import normalize_text
from callcenter.platform.rate_limits import RateRule
from db.models import Open311ApiKey, User

KEY_PREFIX = "p311_"
PREFIX_SHOWN = len(KEY_PREFIX) + 6  # what the admin page shows of a key: enough to tell keys apart, not to use one
MAX_REQUESTS_PER_MINUTE = 100_000
RATE_SCOPE = "open311-key"


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its row: ``secret`` exists only here, to be shown once."""

    row: Open311ApiKey
    secret: str


def key_hash(secret: str) -> str:
    """A key's stored form. A plain SHA-256 suffices: keys are 32 random bytes, not guessable like passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(session: Session, *, name: str, requests_per_minute: int, by: User, now: datetime) -> IssuedKey:
    """A new key for ``name``'s application, allowed ``requests_per_minute`` posts."""
    name = normalize_text(name)
    if not name:
        raise ValidationFailed("نام برنامه یا سازمانی را که کلید برای آن است بنویسید.", field="name")
    if not 1 <= requests_per_minute <= MAX_REQUESTS_PER_MINUTE:
        raise ValidationFailed("سقف درخواست در دقیقه باید عددی از ۱ تا ۱۰۰٬۰۰۰ باشد.", field="requests_per_minute")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = Open311ApiKey(name=name[:200], key_hash=key_hash(secret), prefix=secret[:PREFIX_SHOWN],
                        requests_per_minute=requests_per_minute, created_at=now, created_by_id=by.id)
    session.add(row)
    session.flush()
    return IssuedKey(row=row, secret=secret)


def revoke_key(session: Session, *, key_id: int, now: datetime) -> Open311ApiKey:
    """The key stops working at once (a revoked key stays listed, so the page says when it was revoked)."""
    row = session.get(Open311ApiKey, key_id)
    if row is None:
        raise NotFound("این کلید پیدا نشد.")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    return row


def list_keys(session: Session) -> list[Open311ApiKey]:
    """Every key, live ones first, newest first."""
    rows = session.exec(select(Open311ApiKey).order_by(col(Open311ApiKey.id).desc())).all()
    return sorted(rows, key=lambda row: row.revoked_at is not None)


def authenticate_key(session: Session, secret: str) -> Open311ApiKey:
    """The live key ``secret`` is, or :class:`InvalidApiKey` (never issued, or revoked)."""
    row = session.exec(select(Open311ApiKey).where(Open311ApiKey.key_hash == key_hash(secret))).first()
    if row is None or row.revoked_at is not None:
        raise InvalidApiKey()
    return row


def key_rule(row: Open311ApiKey) -> RateRule:
    """The key's own limit: posts per minute."""
    return RateRule(scope=RATE_SCOPE, limit=row.requests_per_minute, window=timedelta(minutes=1))
