"""Complaint drafts on both databases: a random id, found only by the browser session that made it, saved
normalised with the identity sealed, and purged with their files when they expire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from callcenter.complaints.attachments import AttachmentStore, Upload, check_attachment
from callcenter.complaints.drafts import Drafts, draft_attachments, purge_expired
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import ComplaintAttachment, ComplaintDraft
from tests.support.backend import TEST_SECRETS
from tests.support.photos import image_bytes

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TOKEN = "browser-session-token"


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url="sqlite://",
                         state_dir=tmp_path / "state", complaint_draft_hours=2)


def test_given_a_new_draft_when_it_is_created_then_its_id_is_long_random_and_only_its_session_finds_it(
    engine: sa.Engine, tmp_path: Path,
) -> None:
    drafts = Drafts(settings_for(tmp_path))
    with unit_of_work(engine) as session:
        first = drafts.create(session, session_token=TOKEN, now=NOW)
        second = drafts.create(session, session_token=TOKEN, now=NOW)
    assert len(first.id) >= 32 and first.id != second.id
    assert all(ch.isalnum() or ch in "-_" for ch in first.id)
    with unit_of_work(engine) as session:
        assert drafts.load(session, first.id, session_token=TOKEN, now=NOW) is not None
        assert drafts.load(session, first.id, session_token="another-browser", now=NOW) is None
        assert drafts.load(session, first.id, session_token=TOKEN, now=NOW + timedelta(hours=2)) is None
        row = session.get(ComplaintDraft, first.id)
        assert row is not None and TOKEN not in row.session_key


def test_given_typed_fields_when_saved_then_normalised_with_ascii_digits_and_the_identity_sealed(
    engine: sa.Engine, tmp_path: Path,
) -> None:
    drafts = Drafts(settings_for(tmp_path))
    with unit_of_work(engine) as session:
        draft = drafts.create(session, session_token=TOKEN, now=NOW)
        drafts.save(session, draft, {"place": "  كوچهٔ  ۱۲ ", "personnel_code": "۴۵۶"}, step="target", now=NOW)
        drafts.save(session, draft, {"name": "مريم", "mobile": "۰۹۱۲۱۲۳۴۵۶۷"}, step="identity",
                    now=NOW + timedelta(hours=1))
        stored = json.loads(draft.data)
        assert (stored["place"], stored["personnel_code"]) == ("کوچهٔ 12", "456")
        assert "name" not in stored and "09121234567" not in draft.data
        assert drafts.fields(draft)["name"] == "مریم" and drafts.fields(draft)["mobile"] == "09121234567"
        assert draft.expires_at == NOW + timedelta(hours=3)  # renewed by the save
        drafts.save(session, draft, {"name": "مریم احمدی"}, step="identity", now=NOW)
        assert drafts.fields(draft)["mobile"] == "09121234567"  # the other half of the identity kept


def test_given_expired_and_live_drafts_when_purged_then_only_the_expired_go_with_their_files(
    engine: sa.Engine, tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    drafts, store = Drafts(settings), AttachmentStore.for_settings(settings)
    checked = check_attachment(Upload("a.png", image_bytes("PNG", size=(20, 20), colour="navy")))
    with unit_of_work(engine) as session:
        old = drafts.create(session, session_token=TOKEN, now=NOW - timedelta(hours=3))
        live = drafts.create(session, session_token=TOKEN, now=NOW)
        names = {draft.id: store.save(checked) for draft in (old, live)}
        session.add_all(ComplaintAttachment(draft_id=draft_id, kind=checked.kind, content_type=checked.content_type,
                                            size=checked.size, sha256=checked.sha256, stored_name=name)
                        for draft_id, name in names.items())
    with unit_of_work(engine) as session:
        assert purge_expired(session, store, now=NOW) == 1
    with unit_of_work(engine) as session:
        assert [row.id for row in session.exec(select(ComplaintDraft)).all()] == [live.id]
        assert [row.stored_name for row in draft_attachments(session, live.id)] == [names[live.id]]
        assert draft_attachments(session, old.id) == []
    assert not (store.directory / names[old.id]).exists() and (store.directory / names[live.id]).exists()
