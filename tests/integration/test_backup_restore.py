"""``backup`` and ``restore`` on both databases: an instance with tickets' photos, a complaint's attachment, a voice
message and a call recording is backed up and restored into an empty database and state dir; every row and every
file comes back (hashes equal) and the restored app serves a photo. An older backup is migrated; a database that is
not empty is refused unless forced. And a new install's first administrator, from the command line."""

from __future__ import annotations

import hashlib
import io
import uuid
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from callcenter.bootstrap.app import create_app
from callcenter.bootstrap.backup import back_up, file_folders, restore
from callcenter.bootstrap.cli import main
from callcenter.bootstrap.services import recording_store
from callcenter.complaints import identity
from callcenter.complaints.attachments import AttachmentStore, check_attachment
from callcenter.complaints.attachments import Upload as ComplaintUpload
from callcenter.platform.errors import BackupError
from callcenter.platform.security import verify_password
from callcenter.platform.settings import Settings, load_settings
from callcenter.tickets.attachments import PhotoStore, Upload, apply_action_with_photos
from callcenter.tickets.lifecycle import apply_action
from db.engine import alembic_config, make_engine, schema_is_current, unit_of_work
from db.models import (
    Call,
    Complaint,
    ComplaintAttachment,
    Role,
    Ticket,
    TicketAction,
    TicketAttachment,
    TicketTransition,
    User,
)
from tests.conftest import _create_postgres_database, _drop_postgres_database
from tests.support.backend import TEST_SECRETS
from tests.support.complaints import COMPLAINANT, file_complaint
from tests.support.console import log_in_sync
from tests.support.photos import image_bytes
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket

VOICE_MESSAGE = "msg-137-1733220000.17.wav"
CALL_RECORDING = "call-137-1733220000.18.wav"
PURGED_RECORDING = "call-137-1733220000.19.wav"  # its call still names it; the file is gone
ORPHAN_PHOTO = "0123456789abcdef0123456789abcdef.jpg"  # written by a step that never committed


def instance_settings(database_url: str, state_dir: Path) -> Settings:
    return load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                         state_dir=state_dir, asterisk_cache_dir=state_dir / "chroot")


def wav(seconds: float = 0.5, frequency: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(frequency)
        audio.writeframes(bytes(range(256)) * int(seconds * frequency * 2 / 256))
    return buffer.getvalue()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Instance:
    settings: Settings
    engine: sa.Engine

    def files(self) -> dict[tuple[str, str], str]:
        """Every file in the archived folders, by (folder, name), with its hash."""
        return {(area, path.name): sha256(path) for area, folder in file_folders(self.settings).items()
                if folder.is_dir() for path in folder.iterdir() if path.is_file()}

    def rows(self) -> dict[str, list[tuple[object, ...]]]:
        with Session(self.engine) as session:
            return {
                "tickets": [(t.tracking_code, t.description, t.status, t.recording) for t in
                            session.exec(select(Ticket).order_by(col(Ticket.id))).all()],
                "steps": [(s.ticket_id, s.action, s.note) for s in
                          session.exec(select(TicketTransition).order_by(col(TicketTransition.id))).all()],
                "photos": [(p.ticket_id, p.stored_name, p.sha256) for p in
                           session.exec(select(TicketAttachment).order_by(col(TicketAttachment.id))).all()],
                "complaints": [(c.tracking_code, c.description, c.identity_sealed) for c in
                               session.exec(select(Complaint).order_by(col(Complaint.id))).all()],
                "complaint_files": [(a.complaint_id, a.stored_name, a.sha256) for a in
                                    session.exec(select(ComplaintAttachment)).all()],
                "calls": [(c.linkedid, c.recording) for c in session.exec(select(Call).order_by(col(Call.id))).all()],
            }


@pytest.fixture
def seeded(engine: sa.Engine, database_url: str, tmp_path: Path) -> Instance:
    """A working instance: two photos on a ticket's report, a complaint with a photo attached, a caller's voice
    message on a ticket, a recorded call, a call whose recording was purged, an orphan photo, a recorded prompt."""
    settings = instance_settings(database_url, tmp_path / "source")
    operator = add_staff(engine, "backup.operator", Role.OPERATOR)
    liaison = add_staff(engine, "backup.liaison", Role.UNIT_LIAISON, unit=WASTE)
    photographed = referred_ticket(engine, by=operator, unit=WASTE, description="سطل زباله شکسته است")
    voiced = referred_ticket(engine, by=operator, unit=WASTE, description="پیام صوتی شهروند")
    photos = PhotoStore.for_settings(settings)
    with unit_of_work(engine) as session:
        apply_action(session, ticket_id=photographed.id, action=TicketAction.ACCEPT, actor=liaison)
    with unit_of_work(engine) as session:
        actor = session.get(User, liaison.id)
        assert actor is not None
        apply_action_with_photos(session, photos, ticket_id=photographed.id, action=TicketAction.REPORT_DONE,
                                 actor=actor, note="سطل تعویض شد",
                                 uploads=[Upload("before.jpg", image_bytes()), Upload("after.png", image_bytes("PNG"))])
    recordings = recording_store(settings).host_dir
    recordings.mkdir(parents=True)
    (recordings / VOICE_MESSAGE).write_bytes(wav())
    (recordings / CALL_RECORDING).write_bytes(wav(1.0))
    complaint = file_complaint(engine, settings, target=WASTE)
    attachments = AttachmentStore.for_settings(settings)
    checked = check_attachment(ComplaintUpload("evidence.jpg", image_bytes(colour="tomato")))
    with unit_of_work(engine) as session:
        ticket = session.get(Ticket, voiced.id)
        assert ticket is not None
        ticket.recording = VOICE_MESSAGE
        session.add(ticket)
        session.add(Call(linkedid="1733220000.18", line="137", caller_number="09121234567",
                         recording=CALL_RECORDING))
        session.add(Call(linkedid="1733220000.19", line="137", caller_number="09121234568",
                         recording=PURGED_RECORDING))
        session.add(ComplaintAttachment(complaint_id=complaint.id, kind=checked.kind,
                                        content_type=checked.content_type, size=checked.size, sha256=checked.sha256,
                                        stored_name=attachments.save(checked)))
    (photos.directory / ORPHAN_PHOTO).write_bytes(image_bytes(colour="gold"))
    (settings.state_dir / "prompts").mkdir()
    (settings.state_dir / "prompts" / "welcome.wav").write_bytes(wav(0.3))
    return Instance(settings=settings, engine=engine)


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of the same kind as the test's, created and never migrated."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'pasokh.sqlite3'}"
        return
    name = f"pasokh_r_{uuid.uuid4().hex[:12]}"
    url = _create_postgres_database(name)
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def restored_instance(empty_database_url: str, tmp_path: Path) -> Iterator[Instance]:
    settings = instance_settings(empty_database_url, tmp_path / "restored")
    engine = make_engine(empty_database_url)
    yield Instance(settings=settings, engine=engine)
    engine.dispose()


def test_given_an_instance_with_photos_attachments_and_recordings_when_restored_into_an_empty_one_then_all_is_there(
    seeded: Instance, restored_instance: Instance, tmp_path: Path,
) -> None:
    report = back_up(seeded.settings, tmp_path / "pasokh.tar")
    assert report.missing == [{"area": "recordings", "name": PURGED_RECORDING}]

    restored = restore(restored_instance.settings, report.archive)

    assert restored_instance.rows() == seeded.rows()
    assert restored.counts == restored.counts_in_backup == report.counts
    assert report.counts["ticket_attachment"] == 2 and report.counts["complaint_attachment"] == 1
    expected = {key: digest for key, digest in seeded.files().items() if key != ("photos", ORPHAN_PHOTO)}
    assert restored_instance.files() == expected
    assert {("recordings", VOICE_MESSAGE), ("recordings", CALL_RECORDING), ("prompts", "welcome.wav")} <= set(expected)
    rows = restored_instance.rows()
    for area, stored_name, digest in [("photos", p[1], p[2]) for p in rows["photos"]] + [
            ("complaint_files", a[1], a[2]) for a in rows["complaint_files"]]:
        assert expected[(area, stored_name)] == digest  # the file is the one its row describes
    assert schema_is_current(restored_instance.engine)
    with Session(restored_instance.engine) as session:
        sealed = session.exec(select(Complaint.identity_sealed)).one()
    assert sealed is not None and identity.unseal(restored_instance.settings, sealed) == COMPLAINANT

    ticket_code, photo_name, photo_hash = _first_photo(restored_instance)
    with TestClient(create_app(restored_instance.settings, telephony=False), base_url="http://127.0.0.1") as client:
        assert log_in_sync(client, "backup.liaison", PASSWORD).status_code == 303
        photo_id = _photo_id(restored_instance, photo_name)
        served = client.get(f"/api/tickets/{ticket_code}/photos/{photo_id}")
    assert served.status_code == 200, served.text
    assert hashlib.sha256(served.content).hexdigest() == photo_hash


def _first_photo(instance: Instance) -> tuple[str, str, str]:
    with Session(instance.engine) as session:
        photo = session.exec(select(TicketAttachment).order_by(col(TicketAttachment.id))).first()
        assert photo is not None
        ticket = session.get(Ticket, photo.ticket_id)
        assert ticket is not None
        return ticket.tracking_code, photo.stored_name, photo.sha256


def _photo_id(instance: Instance, stored_name: str) -> int:
    with Session(instance.engine) as session:
        photo_id = session.exec(select(TicketAttachment.id).where(TicketAttachment.stored_name == stored_name)).one()
        assert photo_id is not None
        return photo_id


def test_given_a_backup_of_an_older_version_when_restored_then_its_migrations_bring_it_up_to_date(
    seeded: Instance, restored_instance: Instance, tmp_path: Path,
) -> None:
    tickets = seeded.rows()["tickets"]  # read while the models still match the schema
    command.downgrade(alembic_config(seeded.settings.database_url), "-1")
    assert not schema_is_current(seeded.engine)
    with seeded.engine.connect() as connection:
        older = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()

    restored = restore(restored_instance.settings, back_up(seeded.settings, tmp_path / "older.tar.gz").archive)

    assert restored.migrated_from == [older]
    assert schema_is_current(restored_instance.engine)
    assert restored_instance.rows()["tickets"] == tickets


def test_given_a_database_that_is_not_empty_when_restored_into_then_it_is_refused_unless_forced(
    seeded: Instance, tmp_path: Path,
) -> None:
    archive = back_up(seeded.settings, tmp_path).archive
    before = seeded.rows()
    add_staff(seeded.engine, "added.after.backup", Role.OPERATOR)
    with pytest.raises(BackupError, match="not empty"):
        restore(seeded.settings, archive)
    assert len(seeded.rows()["tickets"]) == len(before["tickets"])
    seeded.engine.dispose()  # a forced restore replaces the database under the instance, stopped meanwhile

    restore(seeded.settings, archive, force=True)

    assert seeded.rows() == before
    with Session(seeded.engine) as session:
        assert session.exec(select(User).where(User.username == "added.after.backup")).first() is None


def test_given_a_new_install_when_add_admin_reads_a_password_then_an_administrator_can_use_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI as a sysadmin runs it (docs/operations.md): the password on standard input, not the command line."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PASOKH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("sys.stdin", io.StringIO("a-first-admin-password\n"))

    assert main(["add-admin", "first.admin", "--full-name", "مدیر نخست"]) == 0

    engine = make_engine(database_url)
    with Session(engine) as session:
        admin = session.exec(select(User).where(User.username == "first.admin")).one()
    engine.dispose()
    assert admin.role == Role.ADMIN and admin.is_active
    assert verify_password("a-first-admin-password", admin.password_hash)
