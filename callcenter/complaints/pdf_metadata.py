"""A complaint's PDF made clean by re-rendering it (ADR 0068): every page drawn to an image by pdfium and written
into a new PDF of our own, so nothing of the original file is kept — no /Info dictionary, no XMP, no embedded
files, scripts, form data, hidden layers, annotations' authors or earlier revisions of an incremental update.

The cost is that text is no longer selectable and files grow; an inspector reads the pages as the complainant saw
them, which is what the evidence is for."""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium
from PIL import Image

MAX_PAGES = 30
_DPI = 150
_LONGEST_SIDE_PX = 2400  # a poster-sized page is rendered smaller, not to a gigapixel image
_JPEG_QUALITY = 85
_POINTS_PER_INCH = 72
# pdfium is not thread-safe, and routes run in a thread pool: one document at a time.
_PDFIUM = threading.Lock()


class UncleanablePdf(ValueError):
    """The PDF cannot be opened (broken, encrypted) or has more pages than we re-render."""

    def __init__(self, reason: str, *, too_many_pages: bool = False) -> None:
        super().__init__(reason)
        self.too_many_pages = too_many_pages


def strip_pdf(data: bytes) -> bytes:
    """A new PDF with the same pages as images and nothing else."""
    pages = _rendered_pages(data)
    return _write_pdf(pages)


def _rendered_pages(data: bytes) -> list[tuple[float, float, bytes]]:
    """(width pt, height pt, JPEG bytes) of every page."""
    with _PDFIUM:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise UncleanablePdf(f"pdfium cannot open it: {exc}") from exc
        try:
            if len(document) == 0:
                raise UncleanablePdf("no pages")
            if len(document) > MAX_PAGES:
                raise UncleanablePdf(f"{len(document)} pages, over {MAX_PAGES}", too_many_pages=True)
            return [_render(document[index]) for index in range(len(document))]
        finally:
            document.close()


def _render(page: pdfium.PdfPage) -> tuple[float, float, bytes]:
    width, height = page.get_size()
    if width <= 0 or height <= 0:
        raise UncleanablePdf("a page without size")
    scale = min(_DPI / _POINTS_PER_INCH, _LONGEST_SIDE_PX / max(width, height))
    image: Image.Image = page.render(scale=scale).to_pil()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=_JPEG_QUALITY)  # Pillow adds no EXIF unless asked
    page.close()
    return width, height, buffer.getvalue()


def _write_pdf(pages: list[tuple[float, float, bytes]]) -> bytes:
    """The smallest valid PDF: a catalog, a page tree, and per page an image drawn over the whole page. No trailer
    /Info, no /Metadata, no /ID (nothing that could tie two files together)."""
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree, filled in below
    kids: list[int] = []
    for width, height, jpeg in pages:
        with Image.open(io.BytesIO(jpeg)) as image:
            pixels_wide, pixels_high = image.size
        image_number = len(objects) + 1
        objects.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                       b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream"
                       % (pixels_wide, pixels_high, len(jpeg), jpeg))
        drawing = b"q %.2f 0 0 %.2f 0 0 cm /P Do Q" % (width, height)
        contents_number = len(objects) + 1
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(drawing), drawing))
        kids.append(len(objects) + 1)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /P %d 0 R "
                       b">> >> /Contents %d 0 R >>" % (width, height, image_number, contents_number))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % kid for kid in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
