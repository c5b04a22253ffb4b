"""Retention of who complained: identities, receipts and files of cases closed long enough ago are erased, on both
databases; open cases and recently closed ones keep theirs; the backend runs it as a daily job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from callcenter.bootstrap.services import build_services
from callcenter.complaints.attachments import AttachmentStore, Upload, check_attachment
from callcenter.complaints.retention import RETENTION_EVERY, Erased, retention_cutoff, retention_job
from callcenter.platform.settings import load_settings
from db.engine import unit_of_work
from db.models import AttachmentKind, Complaint, ComplaintAttachment, ComplaintStatus, utcnow
from tests.support.complaints import file_complaint
from tests.support.photos import image_bytes
from tests.support.ticket_flow import WASTE

YEARS = 3


def _with_file(engine: sa.Engine, store: AttachmentStore, complaint_id: int) -> Path:
    checked = check_attachment(Upload(filename="photo.jpg", data=image_bytes("JPEG")))
    name = store.save(checked)
    with unit_of_work(engine) as session:
        session.add(ComplaintAttachment(complaint_id=complaint_id, kind=AttachmentKind.IMAGE,
                                        content_type=checked.content_type, size=len(checked.data),
                                        sha256=checked.sha256, stored_name=name))
    return store.directory / name


def _receipt(engine: sa.Engine, complaint_id: int) -> None:
    with unit_of_work(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        complaint.receipt_hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
        session.add(complaint)


def test_given_cases_closed_at_different_times_when_the_job_runs_then_only_the_old_ones_lose_who_complained(
    engine: sa.Engine, tmp_path: Path,
) -> None:
    settings = load_settings({}, state_dir=tmp_path / "state")
    store = AttachmentStore.for_settings(settings)
    now = utcnow()
    long_ago = retention_cutoff(now, YEARS) - timedelta(days=1)
    old = file_complaint(engine, settings, target=WASTE, status=ComplaintStatus.CLOSED, closed_at=long_ago)
    old_anonymous = file_complaint(engine, None, target=WASTE, status=ComplaintStatus.REJECTED, closed_at=long_ago)
    recent = file_complaint(engine, settings, target=WASTE, status=ComplaintStatus.REFERRED,
                            closed_at=now - timedelta(days=365))
    still_open = file_complaint(engine, settings, target=WASTE, status=ComplaintStatus.INVESTIGATING)
    _receipt(engine, old_anonymous.id)
    old_file, recent_file = _with_file(engine, store, old.id), _with_file(engine, store, recent.id)
    open_file = _with_file(engine, store, still_open.id)

    erased = retention_job(engine=engine, store=store, years=YEARS, now=lambda: now)()

    assert erased.identities == 2 and len(erased.files) == 1
    with Session(engine) as session:
        rows = {row.id: row for row in session.exec(select(Complaint)).all()}
        left = {row.complaint_id for row in session.exec(select(ComplaintAttachment)).all()}
    assert (rows[old.id].identity_sealed, rows[old_anonymous.id].receipt_hash) == (None, None)
    assert rows[old.id].description == old.description  # the case stays for the analytics
    assert rows[recent.id].identity_sealed is not None and rows[still_open.id].identity_sealed is not None
    assert left == {recent.id, still_open.id}
    assert not old_file.exists() and recent_file.exists() and open_file.exists()
    again = retention_job(engine=engine, store=store, years=YEARS, now=lambda: now)()
    assert (again.identities, again.files) == (0, [])


async def test_given_the_backend_when_built_then_retention_is_a_daily_job(database_url: str, tmp_path: Path) -> None:
    settings = load_settings({}, database_url=database_url, state_dir=tmp_path / "state",
                             asterisk_cache_dir=tmp_path / "cache")
    services = build_services(settings)
    assert services.telephony is not None
    job = services.telephony.scheduler.job("complaint-retention")
    assert job.every == RETENTION_EVERY
    assert job.run() == Erased(identities=0, files=[])  # against the real database: nothing to erase yet
