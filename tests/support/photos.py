"""Small real images for photo tests (Pillow comes with fpdf2), and files that only pretend to be images."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(kind: str = "JPEG", *, size: tuple[int, int] = (64, 48), colour: str = "seagreen") -> bytes:
    """A real image a browser decodes: ``kind`` is Pillow's format name (JPEG, PNG, WEBP)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=kind)
    return buffer.getvalue()


# An HTML page named like a photo: the kind of file magic bytes catch and an extension check does not.
FAKE_JPEG = b"<!doctype html><script>alert(1)</script>"
