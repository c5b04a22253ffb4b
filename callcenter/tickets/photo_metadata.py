"""Metadata removed from photos before they are stored: EXIF (GPS position, camera, time), XMP, IPTC, comments.

A citizen's phone writes where they stood into every photo; nobody who reads a ticket needs that. The image data
itself is kept byte for byte (no re-encoding, no quality lost) by dropping the container's metadata segments or
chunks: JPEG APPn (except JFIF and Adobe's colour marker) and COM segments, PNG text/EXIF/time chunks, WebP
EXIF/XMP chunks. A JPEG whose EXIF says it is rotated is the one exception: it is turned upright with Pillow and
re-encoded, since without the tag it would show on its side.
"""

from __future__ import annotations

import io
import logging
import struct

from PIL import Image, ImageOps

_KEPT_JPEG_APP = {0xE0: b"JFIF", 0xEE: b"Adobe"}  # marker → the identifier the kept segment starts with
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROPPED = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_WEBP_DROPPED = {b"EXIF", b"XMP "}
_EXIF_ORIENTATION = 0x0112
_UPRIGHT_QUALITY = 92
# Pillow's TIFF/EXIF reader logs every tag it reads at DEBUG, values included: the GPS position and the author of
# the very photo we are stripping would reach the log of a server run at DEBUG. Its loggers never go below INFO.
logging.getLogger("PIL").setLevel(logging.INFO)


class UnreadableImage(ValueError):
    """The file starts like an image but its structure is broken."""


def strip_metadata(data: bytes, content_type: str) -> bytes:
    """The same image without metadata; ``content_type`` is what sniffing found (JPEG, PNG or WebP)."""
    if content_type == "image/jpeg":
        return _strip_jpeg(data)
    if content_type == "image/png":
        return _strip_png(data)
    if content_type == "image/webp":
        return _strip_webp(data)
    raise UnreadableImage(content_type)


def _strip_jpeg(data: bytes) -> bytes:
    if _jpeg_orientation(data) not in (None, 1):
        return _upright_jpeg(data)
    out = bytearray(b"\xff\xd8")
    position = 2
    while True:
        while position < len(data) and data[position] == 0xFF and position + 1 < len(data) \
                and data[position + 1] == 0xFF:
            position += 1  # fill bytes before a marker
        if position + 2 > len(data) or data[position] != 0xFF:
            raise UnreadableImage("JPEG marker expected")
        marker = data[position + 1]
        if marker == 0xD9:  # end of image before any scan
            out += data[position:position + 2]
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += data[position:position + 2]
            position += 2
            continue
        if position + 4 > len(data):
            raise UnreadableImage("JPEG segment cut short")
        (length,) = struct.unpack(">H", data[position + 2:position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise UnreadableImage("JPEG segment length out of range")
        if marker == 0xDA:  # start of scan: the compressed image and everything after it are kept as they are
            out += data[position:]
            return bytes(out)
        payload = data[position + 4:end]
        if not _is_jpeg_metadata(marker, payload):
            out += data[position:end]
        position = end


def _is_jpeg_metadata(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # a comment
        return True
    if 0xE0 <= marker <= 0xEF:
        kept = _KEPT_JPEG_APP.get(marker)
        return kept is None or not payload.startswith(kept)
    return False


def _jpeg_orientation(data: bytes) -> int | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            value = image.getexif().get(_EXIF_ORIENTATION)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("JPEG not decodable") from exc
    return value if isinstance(value, int) else None


def _upright_jpeg(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image)
            buffer = io.BytesIO()
            # No exif=, no comment, no icc: Pillow writes none of the original's metadata unless asked to.
            upright.convert("RGB").save(buffer, format="JPEG", quality=_UPRIGHT_QUALITY)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("JPEG not decodable") from exc
    return buffer.getvalue()


def _strip_png(data: bytes) -> bytes:
    out = bytearray(_PNG_SIGNATURE)
    position = len(_PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise UnreadableImage("PNG chunk cut short")
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        end = position + 12 + length
        if end > len(data):
            raise UnreadableImage("PNG chunk length out of range")
        if kind not in _PNG_DROPPED:
            out += data[position:end]
        position = end
        if kind == b"IEND":
            return bytes(out)
    raise UnreadableImage("PNG without its end chunk")


def _strip_webp(data: bytes) -> bytes:
    if len(data) < 12:
        raise UnreadableImage("WebP header cut short")
    chunks = bytearray()
    position = 12
    end_of_riff = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while position + 8 <= end_of_riff:
        kind = data[position:position + 4]
        (size,) = struct.unpack("<I", data[position + 4:position + 8])
        end = position + 8 + size + (size & 1)  # chunks are padded to an even length
        if position + 8 + size > end_of_riff:
            raise UnreadableImage("WebP chunk length out of range")
        chunk = bytearray(data[position:min(end, end_of_riff)])
        if kind == b"VP8X" and len(chunk) >= 9:
            chunk[8] &= ~0x0C & 0xFF  # the header's flags: no EXIF (0x08), no XMP (0x04) any more
        if kind not in _WEBP_DROPPED:
            chunks += chunk
        position = end
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)
