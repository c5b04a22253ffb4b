"""Complaint forms in progress, kept on the server: created with a random id, found again only by the browser session
that made them, saved a step at a time, expiring after ``settings.complaint_draft_hours`` (ADR 0064).

A draft's fields are JSON of normalised text with ASCII digits. A named complainant's name and mobile are never in
that JSON in the clear: they are sealed (callcenter/complaints/identity.py) as the filed complaint keeps them."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from callcenter.complaints.attachments import AttachmentStore
from callcenter.complaints.identity import Identity, seal, unseal
from callcenter.platform.persian import normalize_text
from callcenter.platform.settings import Settings
from db.models import ComplaintAttachment, ComplaintChannel, ComplaintDraft

log = logging.getLogger(__name__)

ID_BYTES = 24  # 32 url-safe characters
STEPS: tuple[str, ...] = ("target", "ground", "story", "files", "identity", "meeting", "review")
IDENTITY_FIELDS = ("name", "mobile")
SEALED = "identity_sealed"
CHANNEL = "channel"
MAX_FIELD_CHARS = 8000
PURGE_EVERY = timedelta(hours=1)


def session_key(secret: str, session_token: str) -> str:
    """What a draft remembers of the browser that made it: an HMAC of its session's token, never an address."""
    return hmac.new(secret.encode(), f"complaint-draft\x00{session_token}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Drafts:
    """The drafts of one installation (its secret key, its draft lifetime)."""

    settings: Settings

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.settings.complaint_draft_hours)

    def create(self, session: Session, *, session_token: str, now: datetime,
               channel: ComplaintChannel = ComplaintChannel.WEB, filed_by_id: int | None = None) -> ComplaintDraft:
        draft = ComplaintDraft(id=secrets.token_urlsafe(ID_BYTES), session_key=self._key(session_token),
                               step=STEPS[0], data=json.dumps({CHANNEL: channel.value}), filed_by_id=filed_by_id,
                               created_at=now, updated_at=now, expires_at=now + self.lifetime)
        session.add(draft)
        session.flush()
        return draft

    def load(self, session: Session, draft_id: str, *, session_token: str, now: datetime) -> ComplaintDraft | None:
        """The live draft ``draft_id`` if this browser session made it; None otherwise (another browser, expired)."""
        draft = session.get(ComplaintDraft, draft_id) if draft_id else None
        if draft is None or draft.expires_at <= now:
            return None
        if not hmac.compare_digest(draft.session_key, self._key(session_token)):
            return None
        return draft

    def latest(self, session: Session, *, session_token: str, now: datetime,
               channel: ComplaintChannel = ComplaintChannel.WEB) -> ComplaintDraft | None:
        """This browser's newest live draft of ``channel``, to resume when the form is opened again."""
        rows = session.exec(select(ComplaintDraft).where(
            ComplaintDraft.session_key == self._key(session_token), col(ComplaintDraft.expires_at) > now)
            .order_by(col(ComplaintDraft.updated_at).desc())).all()
        return next((row for row in rows if channel_of(row) == channel), None)

    def save(self, session: Session, draft: ComplaintDraft, fields: Mapping[str, str], *, step: str,
             now: datetime) -> None:
        """Merge a step's fields into the draft (normalised; the identity sealed) and renew its lifetime."""
        data = json.loads(draft.data)
        plain = {name: normalize_text(value[:MAX_FIELD_CHARS]) for name, value in fields.items()
                 if name not in (SEALED, CHANNEL)}
        if any(name in plain for name in IDENTITY_FIELDS):
            before = self.fields(draft)
            typed = {name: plain.pop(name, before.get(name, "")) for name in IDENTITY_FIELDS}
            data[SEALED] = seal(self.settings, Identity(name=typed["name"], mobile=typed["mobile"]))
        data.update(plain)
        draft.data = json.dumps(data, ensure_ascii=False)
        draft.step = step
        draft.updated_at = now
        draft.expires_at = now + self.lifetime
        session.add(draft)
        session.flush()

    def fields(self, draft: ComplaintDraft) -> dict[str, str]:
        """Everything typed so far, the identity unsealed (for the form and for filing, never for a log)."""
        data = {str(name): str(value) for name, value in json.loads(draft.data).items()}
        sealed = data.pop(SEALED, None)
        if sealed:
            identity = unseal(self.settings, sealed)
            data.update(name=identity.name, mobile=identity.mobile)
        return data

    def _key(self, session_token: str) -> str:
        return session_key(self.settings.secret_key, session_token)


def channel_of(draft: ComplaintDraft) -> ComplaintChannel:
    value = json.loads(draft.data).get(CHANNEL, ComplaintChannel.WEB.value)
    return ComplaintChannel(value) if value in {c.value for c in ComplaintChannel} else ComplaintChannel.WEB


def draft_attachments(session: Session, draft_id: str) -> list[ComplaintAttachment]:
    return list(session.exec(select(ComplaintAttachment).where(ComplaintAttachment.draft_id == draft_id)
                             .order_by(col(ComplaintAttachment.id))).all())


def discard(session: Session, store: AttachmentStore, draft: ComplaintDraft) -> None:
    """Delete a draft with its attachments' rows and files (expired, or abandoned)."""
    for attachment in draft_attachments(session, draft.id):
        store.remove(attachment.stored_name)
        session.delete(attachment)
    session.flush()
    session.delete(draft)
    session.flush()


def purge_expired(session: Session, store: AttachmentStore, *, now: datetime) -> int:
    """Every expired draft deleted with its attachments' files; how many drafts went."""
    expired = session.exec(select(ComplaintDraft).where(col(ComplaintDraft.expires_at) <= now)).all()
    for draft in expired:
        discard(session, store, draft)
    if expired:
        log.info("Purged %d expired complaint drafts", len(expired))
    return len(expired)


def delete_after_filing(session: Session, draft: ComplaintDraft) -> None:
    """The filed draft goes (its attachments now belong to the complaint): its typed identity with it."""
    session.execute(sa.delete(ComplaintDraft).where(col(ComplaintDraft.id) == draft.id))
    session.expunge(draft)
