"""An anonymous complainant's secret receipt: shown once when the complaint is filed, stored only as an argon2
hash; with the tracking code it opens the complaint's follow-up page (GlobaLeaks' receipt, ADR 0063)."""

from __future__ import annotations

import secrets

from callcenter.platform.security import hash_password, verify_password

# No 0/O, 1/l/I: it is copied by hand from a screen or a photo of it. 20 characters of 31 ≈ 99 bits.
ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
LENGTH = 20
GROUP = 4


def new_receipt() -> str:
    """A fresh receipt, grouped for reading: ``k7dm-q2xw-...`` (the dashes are not part of the secret)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def normalised(typed: str) -> str:
    """What the complainant typed, as hashed: no dashes or spaces, lower case."""
    return "".join(ch for ch in typed.lower() if ch.isalnum())


def hash_receipt(receipt: str) -> str:
    return hash_password(normalised(receipt))


def receipt_matches(typed: str, receipt_hash: str | None) -> bool:
    """True when ``typed`` is the receipt; a complaint without one (named) costs the same time and fails."""
    return verify_password(normalised(typed), receipt_hash)
