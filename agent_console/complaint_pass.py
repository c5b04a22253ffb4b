"""The complainant's pass: a signed, short-lived cookie naming the one complaint this browser may follow up (after
filing it, or after opening it with its tracking code and receipt or mobile code). It holds the complaint's row
id and nothing else: no identity, no address. The follow-up, answer and meeting pages all read it here."""

from __future__ import annotations

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from callcenter.platform.settings import Settings

COOKIE = "pasokh_complaint"
PATH = "/complaints"
LIFETIME_SECONDS = 30 * 60
_SALT = "complaint-pass"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)


def grant(response: Response, settings: Settings, complaint_id: int) -> None:
    """Let this browser follow up ``complaint_id`` for the next half hour (renewed on each granted page)."""
    response.set_cookie(COOKIE, _serializer(settings).dumps(complaint_id), max_age=LIFETIME_SECONDS, path=PATH,
                        httponly=True, samesite="strict", secure=settings.production_like)


def granted_complaint(request: Request, settings: Settings) -> int | None:
    """The complaint this browser holds a live pass for, if any."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        value = _serializer(settings).loads(token, max_age=LIFETIME_SECONDS)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def revoke(response: Response) -> None:
    """The complainant left ("خروج"): the browser forgets the pass."""
    response.delete_cookie(COOKIE, path=PATH)
