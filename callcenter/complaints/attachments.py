"""Files sent with a complaint or a complainant's answer: the type told by the bytes (never the name or the
browser's word), a size limit per type, metadata stripped (a file we cannot clean is refused, never stored as it
came), SHA-256 kept, the bytes stored under the state dir."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from callcenter.complaints.media_metadata import UncleanableMedia, strip_media
from callcenter.complaints.pdf_metadata import MAX_PAGES, UncleanablePdf, strip_pdf
from callcenter.platform.errors import ValidationFailed
from callcenter.platform.file_store import NamedFileStore
from callcenter.platform.persian import persian_digits
from callcenter.platform.settings import Settings
from callcenter.tickets.attachments import sniff_image
from callcenter.tickets.photo_metadata import UnreadableImage, strip_metadata
from db.models import AttachmentKind

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_FILES = 10
MAX_BYTES: dict[AttachmentKind, int] = {
    AttachmentKind.IMAGE: 10 * MB,
    AttachmentKind.AUDIO: 20 * MB,
    AttachmentKind.VIDEO: 50 * MB,
    AttachmentKind.PDF: 10 * MB,
}
# The most one request may carry: the form sends files one step at a time, so one video and some text.
MAX_REQUEST_BYTES = max(MAX_BYTES.values()) + 256 * 1024
FOLDER = "complaint_files"
_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,4}$")
_FILENAME_SHOWN = 60

KIND_NAMES = {AttachmentKind.IMAGE: "عکس", AttachmentKind.AUDIO: "صدا", AttachmentKind.VIDEO: "فیلم",
              AttachmentKind.PDF: "PDF"}
NOT_ACCEPTED = ("فایل «{name}» پذیرفته نمی‌شود: فقط عکس (JPEG، PNG، WebP)، صدا (MP3، OGG، WAV، M4A)، "
                "فیلم (MP4، WebM) یا PDF می‌توانید بفرستید.")
TOO_BIG = "فایل «{name}» بزرگ‌تر از {limit} مگابایت است (حد {kind})."
NOT_CLEANABLE = ("فایل «{name}» را نتوانستیم از اطلاعات پنهانِ همراهش (مانند نام دستگاه، زمان یا مکان ضبط) پاک "
                 "کنیم؛ برای حفظ حریم شما ذخیره نشد. لطفاً آن را در قالب دیگری بفرستید.")
PDF_TOO_LONG = (f"فایل «{{name}}» بیش از {persian_digits(MAX_PAGES)} صفحه دارد؛ لطفاً فقط صفحه‌های لازم را "
                "جدا کنید و بفرستید.")
TOO_MANY = f"حداکثر {persian_digits(MAX_FILES)} پیوست می‌توانید بفرستید."


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its bytes, and the name the sender gave (only ever echoed in a refusal)."""

    filename: str | None
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """A file we accept, as it will be stored: its metadata already removed."""

    kind: AttachmentKind
    content_type: str
    extension: str
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> tuple[AttachmentKind, str, str] | None:
    """(kind, content type, extension) from the first bytes; None for anything we do not accept."""
    image = sniff_image(data)
    if image is not None:
        return AttachmentKind.IMAGE, image[0], image[1]
    if data.startswith(b"%PDF-"):
        return AttachmentKind.PDF, "application/pdf", "pdf"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return AttachmentKind.AUDIO, "audio/mpeg", "mp3"
    if data.startswith(b"OggS"):
        return AttachmentKind.AUDIO, "audio/ogg", "ogg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return AttachmentKind.AUDIO, "audio/wav", "wav"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"M4A ", b"M4B "):
            return AttachmentKind.AUDIO, "audio/mp4", "m4a"
        return AttachmentKind.VIDEO, "video/mp4", "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return AttachmentKind.VIDEO, "video/webm", "webm"
    return None


def check_attachment(upload: Upload) -> CheckedFile:
    """The upload as we would store it, or a Persian refusal that names the file."""
    shown = (upload.filename or "بی‌نام")[:_FILENAME_SHOWN]
    found = sniff(upload.data)
    if found is None:
        log.info("Refused an attachment: not an accepted type by its content (%d bytes)", len(upload.data))
        raise ValidationFailed(NOT_ACCEPTED.format(name=shown), field="attachments")
    kind, content_type, extension = found
    if len(upload.data) > MAX_BYTES[kind]:
        log.info("Refused a %s attachment: %d bytes, over %d", kind, len(upload.data), MAX_BYTES[kind])
        raise ValidationFailed(TOO_BIG.format(name=shown, limit=persian_digits(MAX_BYTES[kind] // MB),
                                              kind=KIND_NAMES[kind]), field="attachments")
    data = _without_metadata(upload.data, kind, content_type, shown)
    return CheckedFile(kind=kind, content_type=content_type, extension=extension, data=data,
                       sha256=hashlib.sha256(data).hexdigest())


def check_attachments(uploads: Sequence[Upload], *, already: int = 0) -> list[CheckedFile]:
    """Every upload checked; refused as a whole when, with the ``already`` attached, they are too many."""
    if already + len(uploads) > MAX_FILES:
        raise ValidationFailed(TOO_MANY, field="attachments")
    return [check_attachment(upload) for upload in uploads]


def _without_metadata(data: bytes, kind: AttachmentKind, content_type: str, shown: str) -> bytes:
    """Every accepted type is cleaned here: photos (tickets' photo_metadata), PDFs re-rendered, audio and video
    containers' tags overwritten (media_metadata)."""
    try:
        if kind == AttachmentKind.IMAGE:
            return strip_metadata(data, content_type)
        if kind == AttachmentKind.PDF:
            return strip_pdf(data)
        return strip_media(data, content_type)
    except UnreadableImage as exc:
        raise ValidationFailed(NOT_ACCEPTED.format(name=shown), field="attachments") from exc
    except UncleanablePdf as exc:
        log.info("Refused a PDF attachment we cannot clean: %s", exc)
        message = PDF_TOO_LONG if exc.too_many_pages else NOT_CLEANABLE
        raise ValidationFailed(message.format(name=shown), field="attachments") from exc
    except UncleanableMedia as exc:
        log.info("Refused a %s attachment we cannot clean: %s", content_type, exc)
        raise ValidationFailed(NOT_CLEANABLE.format(name=shown), field="attachments") from exc


@dataclass(frozen=True)
class AttachmentStore(NamedFileStore):
    """The complaint files' folder under the state dir; files are named by us and found through their row."""

    NAME: ClassVar[re.Pattern[str]] = _NAME
    MISSING: ClassVar[str] = "پیوست پیدا نشد."
    DETAIL: ClassVar[str] = "attachment"

    @classmethod
    def for_settings(cls, settings: Settings) -> AttachmentStore:
        return cls(directory=settings.state_dir / FOLDER)

    def save(self, checked: CheckedFile) -> str:
        return self.save_bytes(checked.data, checked.extension)
