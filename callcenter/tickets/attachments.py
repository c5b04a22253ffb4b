"""Photos a unit sends with its report that the work is done, and a citizen with a problem reported online:
checking, stripping their metadata, storing on disk, listing and serving."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from callcenter.platform.errors import NotFound, ValidationFailed
from callcenter.platform.file_store import NamedFileStore
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from callcenter.tickets.lifecycle import apply_action, history
from callcenter.tickets.photo_metadata import UnreadableImage, strip_metadata
from db.engine import unit_of_work
from db.models import (
    FieldVerdict,
    Ticket,
    TicketAction,
    TicketAttachment,
    TicketAttachmentPublic,
    TicketStatus,
    TicketTransition,
    TicketTransitionWithPhotos,
    User,
)

log = logging.getLogger(__name__)

MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# A phone camera's JPEG is 2–4 MB; five of them plus the form's other fields stay under this.
MAX_REQUEST_BYTES = MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024
FOLDER = "photos"
# The only names we ever make (random hex + the extension of the type the bytes showed); a request can name a
# photo only by its row id, so nothing a user sends reaches a path.
_NAME = re.compile(r"^[0-9a-f]{32}\.(?:jpg|png|webp)$")
_SWEEP_BATCH = 500  # names asked about per query
_FILENAME_SHOWN = 60  # an uploader's file name is echoed in errors, cut short

# The types sniff_image recognises, as browsers name them (the inbox's file picker offers only these).
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")

TOO_MANY = f"حداکثر {persian_digits(MAX_PHOTOS)} عکس می‌توانید بفرستید."
# Templates naming the refused file as {name}: the server's refusal, and the page's check before uploading.
TOO_BIG = f"عکس «{{name}}» بزرگ‌تر از {persian_digits(MAX_PHOTO_BYTES // (1024 * 1024))} مگابایت است."
NOT_A_PHOTO = "فایل «{name}» عکس JPEG، PNG یا WebP نیست."
# The one step that may carry photos: the unit shows the work it reports done.
PHOTO_ACTION = TicketAction.REPORT_DONE
NOT_WITH_THIS_ACTION = "عکس فقط همراه با «اعلام انجام کار» فرستاده می‌شود."


@dataclass(frozen=True)
class Upload:
    """A file as it came in the form; ``data`` may be cut at MAX_PHOTO_BYTES + 1 (enough to know it is too big)."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Photo:
    """An upload whose bytes are a JPEG, PNG or WebP image within the size limit."""

    content_type: str
    extension: str
    data: bytes
    sha256: str


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes; None when it is not one of the three we accept.

    The name and the browser's declared type are whatever the sender says; the magic bytes are what the file
    is, and what a viewer's browser will decode (so a page or script renamed .jpg is refused)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_photos(uploads: Sequence[Upload]) -> list[Photo]:
    """Every upload as a photo without its metadata, or a Persian refusal naming the first file that is not
    acceptable."""
    if len(uploads) > MAX_PHOTOS:
        log.info("Refused %d photos: at most %d", len(uploads), MAX_PHOTOS)
        raise ValidationFailed(TOO_MANY, field="photos", count=len(uploads), limit=MAX_PHOTOS)
    photos = []
    for upload in uploads:
        shown = (upload.filename or "بی‌نام")[:_FILENAME_SHOWN]
        if len(upload.data) > MAX_PHOTO_BYTES:
            log.info("Refused photo %r: larger than %d bytes", upload.filename, MAX_PHOTO_BYTES)
            raise ValidationFailed(TOO_BIG.format(name=shown), field="photos", filename=upload.filename)
        kind = sniff_image(upload.data)
        if kind is None:
            log.info("Refused photo %r: not JPEG, PNG or WebP by its content (%d bytes)", upload.filename,
                     len(upload.data))
            raise ValidationFailed(NOT_A_PHOTO.format(name=shown), field="photos", filename=upload.filename)
        try:  # what is stored, hashed and served is the photo without its EXIF (GPS included), XMP, comments
            data = strip_metadata(upload.data, kind[0])
        except UnreadableImage as exc:
            log.info("Refused photo %r: %s by its structure (%d bytes)", upload.filename, exc, len(upload.data))
            raise ValidationFailed(NOT_A_PHOTO.format(name=shown), field="photos", filename=upload.filename) from exc
        photos.append(Photo(content_type=kind[0], extension=kind[1], data=data,
                            sha256=hashlib.sha256(data).hexdigest()))
    return photos


@dataclass(frozen=True)
class PhotoStore(NamedFileStore):
    """The photos folder under the backend's state dir; files are named by us and found through their row."""

    NAME: ClassVar[re.Pattern[str]] = _NAME
    MISSING: ClassVar[str] = "فایل عکس پیدا نشد."
    DETAIL: ClassVar[str] = "photo"

    @classmethod
    def for_settings(cls, settings: Settings) -> PhotoStore:
        return cls(directory=settings.state_dir / FOLDER)

    def save(self, photo: Photo) -> str:
        return self.save_bytes(photo.data, photo.extension)

    def files_last_written_before(self, moment: datetime) -> list[Path]:
        """Our photos and half-written ``.part`` files not touched since ``moment``."""
        if not self.directory.is_dir():
            return []
        cutoff = moment.timestamp()
        return [path for path in self.directory.iterdir()
                if path.is_file() and self.is_ours(path.name) and path.stat().st_mtime < cutoff]


# A report-done step in flight takes seconds; an hour spares even a stalled one.
SWEEP_GRACE = timedelta(hours=1)
SWEEP_EVERY = timedelta(hours=6)


def photo_sweep_job(*, engine: Engine, store: PhotoStore) -> Callable[[], int]:
    """The scheduler's job: sweep with the cutoff ``SWEEP_GRACE`` before each run."""
    def sweep() -> int:
        return sweep_orphan_photos(engine=engine, store=store, older_than=datetime.now(UTC) - SWEEP_GRACE)
    return sweep


def sweep_orphan_photos(*, engine: Engine, store: PhotoStore, older_than: datetime) -> int:
    """Delete photo files no ticket step points to, last written before ``older_than``; returns how many.

    A report-done step writes its files first and commits their rows with the step; a refused step removes them,
    but a process killed in between leaves files nobody can reach. The cutoff spares a step still in flight."""
    candidates = store.files_last_written_before(older_than)
    if not candidates:
        return 0
    linked: set[str] = set()
    with unit_of_work(engine) as session:
        for start in range(0, len(candidates), _SWEEP_BATCH):
            names = [path.name for path in candidates[start : start + _SWEEP_BATCH]]
            linked.update(session.exec(select(TicketAttachment.stored_name)
                                       .where(col(TicketAttachment.stored_name).in_(names))).all())
    swept = 0
    for path in candidates:
        if path.name in linked:
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("Could not delete orphan photo %s; retried next run", path.name)
            continue
        swept += 1
    if swept:
        log.info("Deleted %d orphan photo files last written before %s", swept, older_than.isoformat())
    return swept


def apply_action_with_photos(
    session: Session,
    store: PhotoStore,
    *,
    ticket_id: int,
    action: TicketAction,
    actor: User,
    uploads: Sequence[Upload] = (),
    note: str = "",
    unit_id: int | None = None,
    verdict: FieldVerdict | None = None,
    expected_status: TicketStatus | None = None,
) -> TicketTransition:
    """``apply_action``, with photos for a report-done step: refused photos refuse the step, and a refused step
    leaves no file behind (the rows are written with the step, in the caller's transaction; the files are removed
    if the step is refused, and a commit failing after that leaves files the photo sweep deletes)."""
    if uploads and action != PHOTO_ACTION:
        raise ValidationFailed(NOT_WITH_THIS_ACTION, field="photos")
    photos = check_photos(uploads)
    saved: list[tuple[str, Photo]] = []
    try:
        for photo in photos:
            saved.append((store.save(photo), photo))

        def attach(step_session: Session, step: TicketTransition) -> None:
            assert step.id is not None and actor.id is not None  # flushed step, stored actor
            step_session.add_all(
                TicketAttachment(ticket_id=ticket_id, transition_id=step.id, stored_name=name,
                                 content_type=photo.content_type, size=len(photo.data), sha256=photo.sha256,
                                 uploaded_by_id=actor.id)
                for name, photo in saved
            )

        return apply_action(session, ticket_id=ticket_id, action=action, actor=actor, note=note, unit_id=unit_id,
                            verdict=verdict, expected_status=expected_status, with_step=attach if saved else None)
    except BaseException:
        for name, _photo in saved:
            store.remove(name)
        raise


def photo_url(tracking_code: str, photo_id: int) -> str:
    return f"/api/tickets/{tracking_code}/photos/{photo_id}"


def history_with_photos(session: Session, ticket: Ticket) -> list[TicketTransitionWithPhotos]:
    """The ticket's history, each step with the photos sent with it; the photos the citizen filed the ticket
    with (no step of their own) are shown on its first step."""
    assert ticket.id is not None
    rows = session.exec(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)
                        .order_by(col(TicketAttachment.id))).all()
    steps = history(session, ticket.id)
    first_step = steps[0].id if steps else None
    by_step: dict[int | None, list[TicketAttachmentPublic]] = defaultdict(list)
    for row in rows:
        assert row.id is not None
        by_step[row.transition_id if row.transition_id is not None else first_step].append(TicketAttachmentPublic(
            id=row.id, content_type=row.content_type, size=row.size, sha256=row.sha256, at=row.at,
            url=photo_url(ticket.tracking_code, row.id)))
    return [TicketTransitionWithPhotos(**step.model_dump(), photos=by_step.get(step.id, [])) for step in steps]


def photo_of(session: Session, ticket: Ticket, photo_id: int) -> TicketAttachment:
    """The ticket's photo by id; another ticket's photo is not found here, whatever its id."""
    row = session.get(TicketAttachment, photo_id)
    if row is None or row.ticket_id != ticket.id:
        raise NotFound("این عکس پیدا نشد.", tracking_code=ticket.tracking_code, photo_id=photo_id)
    return row
