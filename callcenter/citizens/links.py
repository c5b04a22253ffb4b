"""Signed links a citizen receives (by SMS, on a receipt's QR code): they open one ticket's page without typing
its tracking code and mobile digits. Short, because an SMS in Persian holds 70 characters a part."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from callcenter.platform.settings import Settings

SIGNATURE_CHARS = 16  # 96 bits of an HMAC-SHA-256, base64url: past guessing, short enough for an SMS


def signature(secret: str, purpose: str, *parts: str) -> str:
    """The link's signature over what it opens; ``purpose`` keeps a status link from opening an answer form."""
    message = "\x00".join((purpose, *parts)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def signature_matches(secret: str, supplied: str, purpose: str, *parts: str) -> bool:
    return hmac.compare_digest(supplied.encode(), signature(secret, purpose, *parts).encode())


STATUS = "status"


def status_path(secret: str, tracking_code: str) -> str:
    """The public timeline of one ticket, as its SMS and its receipt link to it."""
    return f"/citizen/s/{tracking_code}/{signature(secret, STATUS, tracking_code)}"


def status_link(settings: Settings, tracking_code: str) -> str:
    return settings.public_url(status_path(settings.secret_key, tracking_code))


def status_links(settings: Settings) -> Callable[[str], str]:
    """The status link of a tracking code not known yet: filing passes it to the tracking-code SMS."""
    return lambda tracking_code: status_link(settings, tracking_code)


ANSWER = "answer"


def answer_path(secret: str, answer_id: int) -> str:
    """The form on which the citizen answers "solved / not solved" online (callcenter/citizens/online_answers.py)."""
    return f"/citizen/a/{answer_id}/{signature(secret, ANSWER, str(answer_id))}"


def answer_link(settings: Settings, answer_id: int) -> str:
    return settings.public_url(answer_path(settings.secret_key, answer_id))
