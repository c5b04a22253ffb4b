"""A named complainant's identity (name and mobile) encrypted at rest with Fernet keys from the settings: the
first key encrypts, every listed key decrypts, so a new key is put first and ``rotate`` re-encrypts the old rows
(docs/complaints.md). Only callcenter/complaints/identity_views.py shows one, and it writes the audit log."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import Session, col, select

from callcenter.platform.errors import ConfigurationError
from callcenter.platform.settings import Settings
from db.models import Complaint


@dataclass(frozen=True)
class Identity:
    name: str
    mobile: str  # ASCII digits, 09…


def _keys(settings: Settings) -> list[Fernet]:
    listed = [key.strip() for key in settings.complaint_identity_keys.split(",") if key.strip()]
    if not listed:  # development only (settings refuse an empty list in production)
        derived = hashlib.sha256(b"pasokh complaint identity\x00" + settings.secret_key.encode()).digest()
        listed = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return [Fernet(key) for key in listed]
    except ValueError as exc:
        raise ConfigurationError("PASOKH_COMPLAINT_IDENTITY_KEYS: each key must be a Fernet key "
                                 "(32 bytes, url-safe base64)") from exc


def cipher(settings: Settings) -> MultiFernet:
    return MultiFernet(_keys(settings))


def seal(settings: Settings, identity: Identity) -> str:
    """The identity as stored in ``complaint.identity_sealed``."""
    plain = json.dumps({"name": identity.name, "mobile": identity.mobile}, ensure_ascii=False)
    return cipher(settings).encrypt(plain.encode()).decode()


def unseal(settings: Settings, sealed: str) -> Identity:
    """The identity back; a row sealed under a key no longer listed is a configuration error, said in English."""
    try:
        data = json.loads(cipher(settings).decrypt(sealed.encode()))
    except InvalidToken as exc:
        raise ConfigurationError("a complainant's identity is sealed under a key missing from "
                                 "PASOKH_COMPLAINT_IDENTITY_KEYS") from exc
    return Identity(name=str(data["name"]), mobile=str(data["mobile"]))


def new_key() -> str:
    """A fresh Fernet key, for PASOKH_COMPLAINT_IDENTITY_KEYS (``python -m callcenter complaints new-key``)."""
    return Fernet.generate_key().decode()


ROTATE_BATCH = 200


def rotate(session: Session, settings: Settings) -> int:
    """Re-encrypt every sealed identity under the first listed key; returns how many rows were rotated.

    Run after putting the new key first (the old ones still listed, so every row decrypts); once it has run, the
    old keys can be dropped. A row under an unlisted key stops it with a configuration error, changing nothing
    (the caller's unit of work rolls back)."""
    fernet = cipher(settings)
    rotated, last_id = 0, 0
    while True:
        batch = session.exec(
            select(Complaint).where(col(Complaint.identity_sealed).is_not(None), col(Complaint.id) > last_id)
            .order_by(col(Complaint.id)).limit(ROTATE_BATCH)
        ).all()
        if not batch:
            return rotated
        for complaint in batch:
            assert complaint.id is not None and complaint.identity_sealed is not None
            last_id = complaint.id
            try:
                complaint.identity_sealed = fernet.rotate(complaint.identity_sealed.encode()).decode()
            except InvalidToken as exc:
                raise ConfigurationError(f"complaint {complaint.id}: its identity is sealed under a key missing "
                                         "from PASOKH_COMPLAINT_IDENTITY_KEYS; nothing was rotated") from exc
            session.add(complaint)
            rotated += 1
        session.flush()
