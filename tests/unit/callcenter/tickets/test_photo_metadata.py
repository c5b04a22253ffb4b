"""Photos lose their metadata before they are stored: a phone's JPEG with its GPS position comes out without any
EXIF, its image data unchanged; PNG text and EXIF chunks and WebP EXIF/XMP go too; a rotated photo is turned
upright. This is the common path of every stored photo (check_photos), report-done photos included."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from callcenter.platform.errors import ValidationFailed
from callcenter.tickets.attachments import Upload, check_photos
from callcenter.tickets.photo_metadata import strip_metadata
from tests.support.photos import image_bytes

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:12:02 10:00:00"  # DateTime
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (36.0, 16.0, 12.5), 3: "E", 4: (50.0, 0.0, 7.25)})
    return exif


def jpeg_with_gps(*, orientation: int | None = None, size: tuple[int, int] = (64, 48)) -> bytes:
    exif = exif_with_gps()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", size, "seagreen").save(buffer, format="JPEG", exif=exif, comment=b"taken at home")
    return buffer.getvalue()


def metadata_of(data: bytes) -> dict[str, object]:
    with Image.open(io.BytesIO(data)) as image:
        return {"exif": dict(image.getexif()), "info": {key: value for key, value in image.info.items()
                                                         if key not in ("jfif", "jfif_version", "jfif_unit",
                                                                        "jfif_density", "dpi")}}


def test_given_a_jpeg_with_gps_exif_when_checked_then_what_is_kept_has_no_exif_and_the_same_pixels() -> None:
    original = jpeg_with_gps()
    assert metadata_of(original)["exif"], "the test photo must carry EXIF"
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)

    [photo] = check_photos([Upload(filename="IMG_0001.jpg", data=original)])

    assert b"Exif" not in photo.data and b"taken at home" not in photo.data
    assert metadata_of(photo.data) == {"exif": {}, "info": {}}
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(photo.data)) as after:
        assert before.tobytes() == after.tobytes()  # the image itself, not re-encoded
    assert len(photo.data) < len(original)


def test_given_a_rotated_phone_jpeg_when_checked_then_it_is_turned_upright_and_loses_its_exif() -> None:
    original = jpeg_with_gps(orientation=6, size=(64, 48))  # "rotate 90° clockwise to view"

    [photo] = check_photos([Upload(filename="portrait.jpg", data=original)])

    assert metadata_of(photo.data)["exif"] == {}
    with Image.open(io.BytesIO(photo.data)) as upright:
        assert upright.size == (48, 64)


def test_given_a_png_with_text_and_exif_chunks_when_checked_then_only_the_image_chunks_stay() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "36.27N 50.00E")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "tomato").save(buffer, format="PNG", pnginfo=info, exif=exif_with_gps())
    original = buffer.getvalue()

    [photo] = check_photos([Upload(filename="screen.png", data=original)])

    assert b"Location" not in photo.data and b"eXIf" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.size == (20, 10) and not image.getexif() and "Location" not in image.info


def test_given_a_webp_with_exif_when_checked_then_the_exif_chunk_and_its_flag_are_gone() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "navy").save(buffer, format="WEBP", exif=exif_with_gps())
    original = buffer.getvalue()
    assert b"EXIF" in original

    [photo] = check_photos([Upload(filename="photo.webp", data=original)])

    assert b"EXIF" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as image:
        image.load()
        assert image.size == (20, 10) and not image.getexif()


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_given_a_photo_without_metadata_when_stripped_then_its_bytes_are_unchanged(kind: str) -> None:
    data = image_bytes(kind)
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[kind]
    assert strip_metadata(data, content_type) == data


@pytest.mark.parametrize("data", [b"\xff\xd8\xff\xe1\xff\xff", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"])
def test_given_a_file_that_only_starts_like_an_image_when_checked_then_refused_as_not_a_photo(data: bytes) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_photos([Upload(filename="broken.jpg", data=data)])
    assert refused.value.message == "فایل «broken.jpg» عکس JPEG، PNG یا WebP نیست."
