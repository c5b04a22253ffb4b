"""Password hashing (argon2) with a dummy hash so unknown logins cost as much time as known ones."""

from __future__ import annotations

import hashlib
import secrets
import string
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommendation (argon2id, 64 MiB, 3 passes, 4 lanes): argon2-cffi's default, named so a test
# can hold it there. The test suite swaps in a cheap hasher of its own (tests/support/argon2_cost.py).
PASSWORD_HASHING = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PASSWORD_HASHING)
_SIP_ALPHABET = string.ascii_letters + string.digits


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-ish time: a missing user is checked against a dummy hash and still fails."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """Made on the first unknown login, not at import: importing this module costs nothing."""
    return _hasher.hash(secrets.token_urlsafe(16))


def new_sip_password(length: int = 20) -> str:
    """Letters and digits only: it is rendered into pjsip.conf and typed into desk phones."""
    return "".join(secrets.choice(_SIP_ALPHABET) for _ in range(length))


def sip_md5_cred(username: str, password: str, realm: str) -> str:
    """What Asterisk's PJSIP auth stores instead of the password (``md5_cred``): md5("user:realm:password"),
    the HA1 of SIP digest authentication. Asterisk checks a phone's digest against it without the password."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()
