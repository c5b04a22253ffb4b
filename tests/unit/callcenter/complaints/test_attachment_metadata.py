"""Every accepted attachment type is stored without metadata: the tags are gone, the media is byte for byte the
same (PDFs are re-rendered: same pages, nothing else), and a file we cannot clean is refused in Persian."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callcenter.complaints.attachments import NOT_CLEANABLE, Upload, check_attachment
from callcenter.complaints.media_metadata import (
    ebml_elements,
    mp4_boxes,
    ogg_crc,
    ogg_packet_bytes,
    ogg_pages,
    strip_ogg,
)
from callcenter.complaints.pdf_metadata import MAX_PAGES
from callcenter.platform.errors import ValidationFailed
from tests.conftest import require
from tests.support import media_samples as samples
from tests.support.hypothesis_profiles import examples

# A tag a person could have typed: any letters (Persian too), long enough not to occur by chance in the media.
tags = st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=12, max_size=60)
ascii_tags = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), min_size=12, max_size=40)
payloads = st.binary(min_size=1, max_size=600)


def cleaned(data: bytes) -> bytes:
    return check_attachment(Upload(filename="پیوست", data=data)).data


def assert_no_tag(data: bytes, tag: str) -> None:
    assert tag.encode() not in data and tag.encode("utf-16-le") not in data


@given(tag=tags, payload=payloads)
@example(tag="000000000000", payload=b"AGT")  # audio with "TAG" 128 bytes before its end is not an ID3v1 tag
def test_an_mp3s_id3v2_ape_and_id3v1_tags_are_cut_and_its_frames_kept(tag: str, payload: bytes) -> None:
    sample = samples.mp3(payload, tag)
    out = cleaned(sample.data)
    assert out == sample.media


@given(tag=tags, payload=st.binary(min_size=1, max_size=2000))
def test_a_wav_keeps_only_fmt_and_data_with_the_samples_unchanged(tag: str, payload: bytes) -> None:
    sample = samples.wav(payload, tag)
    out = cleaned(sample.data)
    assert_no_tag(out, tag)
    assert sample.media in out and out[:4] == b"RIFF" and struct.unpack("<I", out[4:8])[0] == len(out) - 8
    chunks, position = [], 12
    while position < len(out):
        kind, size = out[position:position + 4], struct.unpack("<I", out[position + 4:position + 8])[0]
        chunks.append(kind)
        position += 8 + size + (size & 1)
    assert chunks == [b"fmt ", b"data"]


@given(codec=st.sampled_from(["vorbis", "opus"]), tag=tags,
       packets=st.lists(st.binary(min_size=1, max_size=700), min_size=1, max_size=5),
       segments=st.integers(min_value=1, max_value=255))
def test_an_oggs_comment_header_is_emptied_and_every_audio_packet_and_page_kept(
    codec: str, tag: str, packets: list[bytes], segments: int,
) -> None:
    sample = samples.ogg(codec, tag, packets, segments_per_page=segments)
    out = cleaned(sample.data)
    assert_no_tag(out, tag)
    assert len(out) == len(sample.data)
    before, after = ogg_packet_bytes(sample.data), ogg_packet_bytes(out)
    headers = 3 if codec == "vorbis" else 2
    assert after[headers:] == before[headers:] == packets and after[0] == before[0]
    assert after[1][:8] in (b"\x03vorbis" + b"\x00", b"OpusTags") and set(after[1][16:]) <= {0}
    for start, _body, end, _lacing in ogg_pages(out):  # every page's checksum right
        page = bytearray(out[start:end])
        crc = struct.unpack("<I", page[22:26])[0]
        page[22:26] = bytes(4)
        assert ogg_crc(bytes(page)) == crc


def test_an_ogg_vorbis_file_sox_wrote_decodes_to_the_same_samples_after_cleaning(tmp_path: Path) -> None:
    require(shutil.which("sox") is not None, "sox (apt-get install sox libsox-fmt-all)")
    original, clean = tmp_path / "original.ogg", tmp_path / "clean.ogg"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "--comment", "ARTIST=مریم کاظمی", str(original),
                    "synth", "0.5", "sine", "440"], check=True)
    data = original.read_bytes()
    assert "مریم کاظمی".encode() in data
    clean.write_bytes(cleaned(data))
    assert "مریم کاظمی".encode() not in clean.read_bytes()
    decoded = [subprocess.run(["sox", str(path), "-t", "raw", "-"], check=True, capture_output=True).stdout
               for path in (original, clean)]
    assert decoded[0] == decoded[1] and len(decoded[0]) > 1000


def test_an_ogg_with_two_streams_or_another_codec_is_refused_in_persian() -> None:
    vorbis = samples.ogg("vorbis", "برچسب آزمایشی طولانی", [b"audio"]).data
    second = bytearray(vorbis)
    second[14:18] = struct.pack("<I", 7)  # the first page now has another serial number
    theora = vorbis.replace(b"\x01vorbis", b"\x80theora", 1)
    for data in (bytes(second), theora):
        with pytest.raises(ValidationFailed) as refused:
            check_attachment(Upload(filename="صدا.ogg", data=data))
        assert refused.value.message == NOT_CLEANABLE.format(name="صدا.ogg")


def mp4_types(data: bytes, start: int, end: int) -> list[bytes]:
    found = []
    for kind, _box, payload, box_end in mp4_boxes(data, start, end):
        found.append(kind)
        if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
            found += mp4_types(data, payload, box_end)
    return found


@given(tag=tags, mdat=st.binary(min_size=1, max_size=2000), audio=st.booleans())
def test_an_mp4s_udta_meta_and_uuid_boxes_become_free_and_the_media_and_offsets_stay(
    tag: str, mdat: bytes, audio: bool,
) -> None:
    sample = samples.mp4(mdat, tag, audio=audio)
    out = cleaned(sample.data)
    assert_no_tag(out, tag)
    assert b"+35.6892" not in out  # the ©xyz place
    assert len(out) == len(sample.data) and out.endswith(sample.media)  # mdat where it was: stco still points in
    kinds = mp4_types(out, 0, len(out))
    assert not {b"udta", b"meta", b"uuid"} & set(kinds) and b"free" in kinds
    assert b"stco" in kinds and sample.data.index(b"stco") == out.index(b"stco")
    assert struct.pack(">I", 3_800_000_000) not in out  # creation times zeroed


@given(tag=tags, block=st.binary(min_size=1, max_size=1500), unknown=st.booleans())
def test_a_webms_tags_attachments_title_and_track_names_become_void_and_the_cluster_stays(
    tag: str, block: bytes, unknown: bool,
) -> None:
    sample = samples.webm(block, tag, unknown_sizes=unknown)
    out = cleaned(sample.data)
    assert_no_tag(out, tag)
    assert b"me.jpg" not in out
    assert len(out) == len(sample.data) and sample.media in out
    assert sample.data.index(sample.media) == out.index(sample.media)  # Cues and SeekHead positions stay valid
    top = [element_id for element_id, *_ in ebml_elements(out, 0, len(out))]
    assert top == [0x1A45DFA3, 0x18538067]


@settings(max_examples=examples(10))  # each example renders pages: a few are enough
@given(tag=ascii_tags, pages=st.integers(min_value=1, max_value=3))
def test_a_pdf_is_re_rendered_with_its_pages_and_without_info_or_xmp(tag: str, pages: int) -> None:
    data = samples.pdf(tag, pages=pages)
    assert tag.encode() in data
    out = cleaned(data)
    assert_no_tag(out, tag)
    assert b"/Info" not in out and b"/Metadata" not in out and b"xmpmeta" not in out
    original, clean = pdfium.PdfDocument(data), pdfium.PdfDocument(out)
    assert len(clean) == len(original) == pages
    sizes = [size for i in range(pages) for size in clean[i].get_size()]
    assert sizes == pytest.approx([size for i in range(pages) for size in original[i].get_size()], abs=0.01)
    assert not any(clean.get_metadata_dict().values())


def test_a_pdf_over_the_page_limit_or_broken_is_refused_in_persian() -> None:
    with pytest.raises(ValidationFailed, match="صفحه"):
        check_attachment(Upload(filename="بلند.pdf", data=samples.pdf("LONGPDFTAGXX", pages=MAX_PAGES + 1)))
    with pytest.raises(ValidationFailed) as refused:
        check_attachment(Upload(filename="خراب.pdf", data=b"%PDF-1.4\nnot really a pdf"))
    assert refused.value.message == NOT_CLEANABLE.format(name="خراب.pdf")


@pytest.mark.parametrize("data", [
    b"ID3\x03\x00\x00\x00\x00\x00\x05hello",                       # a tag and no frame after it
    samples.mp3(b"ab", "tag").media + b"unknown block after the frames",  # not a tag we know, not a frame
    b"RIFF\x10\x00\x00\x00WAVEfmt \x04\x00\x00\x00abcd",            # no data chunk
    b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomiso2",           # no moov
    b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isom\x00\x00\x01\x00moov",  # a box past the end
    b"\x1a\x45\xdf\xa3\x84webm",                                    # no segment
], ids=["mp3", "mp3-trailing", "wav", "mp4-no-moov", "mp4-cut", "webm"])
def test_a_file_we_cannot_parse_is_refused_never_stored_dirty(data: bytes) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_attachment(Upload(filename="فایل", data=data))
    assert refused.value.message == NOT_CLEANABLE.format(name="فایل")


def test_the_ogg_cleaner_leaves_a_clean_file_as_it_was() -> None:
    once = strip_ogg(samples.ogg("opus", "برچسب آزمایشی طولانی", [b"x" * 10]).data)
    assert strip_ogg(once) == once
