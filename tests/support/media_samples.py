"""Audio, video and PDF files built byte by byte for the metadata tests: each carries a ``tag`` text in every place
its format keeps metadata, and its media payload is known, so a test can say the tag is gone and the media is not."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fpdf import FPDF

from callcenter.complaints.media_metadata import ogg_crc

MP3_FRAME_HEADER = b"\xff\xfb\x90\x64"  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417-byte frames
MP3_FRAME_BYTES = 417


@dataclass(frozen=True)
class Sample:
    data: bytes
    media: bytes  # the part that must come out unchanged (frames, samples, packets, mdat, cluster)


def mp3(payload: bytes, tag: str, *, frames: int = 3) -> Sample:
    frame_body = (payload * (MP3_FRAME_BYTES // max(1, len(payload)) + 1))[:MP3_FRAME_BYTES - 4]
    media = (MP3_FRAME_HEADER + frame_body) * frames
    text = b"\x03" + tag.encode()  # encoding 3: UTF-8
    frame = b"TIT2" + struct.pack(">I", len(text)) + b"\x00\x00" + text
    id3v2 = b"ID3\x03\x00\x00" + _syncsafe(len(frame)) + frame
    ape_item = struct.pack("<II", len(tag.encode()), 0) + b"Artist\x00" + tag.encode()
    ape_footer = b"APETAGEX" + struct.pack("<IIII", 2000, len(ape_item) + 32, 1, 0) + bytes(8)
    id3v1 = b"TAG" + tag.encode()[:30].ljust(30, b"\x00") + bytes(128 - 33)
    return Sample(id3v2 + media + ape_item + ape_footer + id3v1, media)


def _syncsafe(value: int) -> bytes:
    return bytes([(value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F])


def wav(samples: bytes, tag: str) -> Sample:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    info = b"INFO" + _riff_chunk(b"INAM", tag.encode() + b"\x00") + _riff_chunk(b"ICMT", tag.encode())
    body = (b"WAVE" + _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"LIST", info) + _riff_chunk(b"data", samples)
            + _riff_chunk(b"id3 ", tag.encode()))
    return Sample(b"RIFF" + struct.pack("<I", len(body)) + body, _riff_chunk(b"data", samples))


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")


def ogg(codec: str, tag: str, audio_packets: list[bytes], *, segments_per_page: int = 255) -> Sample:
    """A one-stream Vorbis or Opus file; ``segments_per_page`` small makes the comment header span pages."""
    vendor, comment = f"vendor {tag}".encode(), f"TITLE={tag}".encode()
    comments = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 1) + struct.pack("<I", len(comment)) \
        + comment
    if codec == "vorbis":
        identification = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, 8000, 0, 16000, 0, 0xB8, 1)
        headers = [identification, b"\x03vorbis" + comments + b"\x01", b"\x05vorbis" + bytes(40)]
    else:
        identification = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
        headers = [identification, b"OpusTags" + comments]
    pages = [_ogg_page([headers[0]], sequence=0, first=True, granule=0)]
    pages += _ogg_paginate(headers[1:], sequence=1, segments_per_page=segments_per_page, granule=0)
    audio = _ogg_paginate(audio_packets, sequence=len(pages), segments_per_page=segments_per_page, granule=960,
                          last=True)
    return Sample(b"".join(pages + audio), b"".join(audio_packets))


def _lacing(packet: bytes) -> list[int]:
    return [255] * (len(packet) // 255) + [len(packet) % 255]


def _ogg_paginate(packets: list[bytes], *, sequence: int, segments_per_page: int, granule: int,
                  last: bool = False) -> list[bytes]:
    """Pages holding ``packets`` in order, a packet split over pages where the segment table is full; the last
    packet ends its page (so the next packet kind starts on a fresh page, as Vorbis and Opus require)."""
    segments: list[tuple[int, bytes, bool]] = []  # (lacing value, bytes, ends a packet)
    for packet in packets:
        offset = 0
        for value in _lacing(packet):
            segments.append((value, packet[offset:offset + value], value < 255))
            offset += value
    pages, continued = [], False
    for start in range(0, len(segments), segments_per_page):
        chunk = segments[start:start + segments_per_page]
        final = last and start + segments_per_page >= len(segments)
        pages.append(_ogg_raw_page([value for value, _b, _e in chunk], b"".join(b for _v, b, _e in chunk),
                                   sequence=sequence + len(pages), continued=continued,
                                   granule=granule if chunk[-1][2] else -1, last=final))
        continued = not chunk[-1][2]
    return pages


def _ogg_page(packets: list[bytes], *, sequence: int, first: bool = False, granule: int = 0) -> bytes:
    lacing = [value for packet in packets for value in _lacing(packet)]
    return _ogg_raw_page(lacing, b"".join(packets), sequence=sequence, first=first, granule=granule)


def _ogg_raw_page(lacing: list[int], body: bytes, *, sequence: int, first: bool = False, continued: bool = False,
                  granule: int = 0, last: bool = False) -> bytes:
    kind = (1 if continued else 0) | (2 if first else 0) | (4 if last else 0)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, kind, granule, 0x5A5A, sequence, 0, len(lacing)) + bytes(lacing)
    page = bytearray(header + body)
    page[22:26] = struct.pack("<I", ogg_crc(bytes(page)))
    return bytes(page)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(mdat: bytes, tag: str, *, audio: bool = False) -> Sample:
    """ftyp, moov (mvhd with times, a track with its own udta and times, udta with ©nam, meta with ilst), a top-level
    uuid box (XMP), then mdat; the chunk offset points into mdat."""
    text = tag.encode()
    times = struct.pack(">II", 3_800_000_000, 3_800_000_100)
    mvhd = _box(b"mvhd", b"\x00\x00\x00\x00" + times + struct.pack(">II", 1000, 5000) + bytes(80))
    tkhd = _box(b"tkhd", b"\x00\x00\x00\x07" + times + bytes(72))
    mdhd = _box(b"mdhd", b"\x01\x00\x00\x00" + struct.pack(">QQ", 3_800_000_000, 3_800_000_100) + bytes(12))
    udta = _box(b"udta", _box(b"\xa9nam", struct.pack(">HH", len(text), 0) + text)
                + _box(b"\xa9xyz", b"+35.6892+051.3890/"))
    meta = _box(b"meta", b"\x00\x00\x00\x00" + _box(b"hdlr", bytes(8) + b"mdir" + bytes(13))
                + _box(b"ilst", _box(b"\xa9ART", _box(b"data", bytes(8) + text))))
    uuid = _box(b"uuid", bytes(16) + b"<x:xmpmeta>" + text + b"</x:xmpmeta>")

    def layout(offset: int) -> bytes:
        stco = _box(b"stco", b"\x00\x00\x00\x00" + struct.pack(">II", 1, offset))
        stbl = _box(b"stbl", stco)
        trak = _box(b"trak", tkhd + _box(b"mdia", mdhd + _box(b"minf", stbl)) + _box(b"udta", _box(b"name", text)))
        ftyp = _box(b"ftyp", (b"M4A " if audio else b"isom") + b"\x00\x00\x02\x00isomiso2")
        return ftyp + _box(b"moov", mvhd + trak + udta + meta) + uuid

    head = layout(0)
    head = layout(len(head) + 8)  # the same length: the offset is where mdat's payload starts
    return Sample(head + _box(b"mdat", mdat), _box(b"mdat", mdat))


def _ebml_id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def _ebml_size(size: int) -> bytes:
    return bytes([0x01]) + size.to_bytes(7, "big")


def ebml(element_id: int, payload: bytes) -> bytes:
    return _ebml_id(element_id) + _ebml_size(len(payload)) + payload


def webm(block: bytes, tag: str, *, unknown_sizes: bool = False) -> Sample:
    """EBML header; a segment with a SeekHead pointing at Tags, Info (Title, DateUTC, apps), Tracks (a named
    track), a cluster with one SimpleBlock, Tags and Attachments; ``unknown_sizes``: as a live recorder writes."""
    text = tag.encode()
    header = ebml(0x1A45DFA3, ebml(0x4282, b"webm") + ebml(0x4287, b"\x04") + ebml(0x4285, b"\x02"))
    seek_head = ebml(0x114D9B74, ebml(0x4DBB, ebml(0x53AB, _ebml_id(0x1254C367)) + ebml(0x53AC, b"\x00\x10")))
    info = ebml(0x1549A966, ebml(0x2AD7B1, b"\x0f\x42\x40") + ebml(0x4D80, b"Lavf") + ebml(0x5741, b"Lavf")
                + ebml(0x7BA9, text) + ebml(0x4461, bytes(8)))
    tracks = ebml(0x1654AE6B, ebml(0xAE, ebml(0xD7, b"\x01") + ebml(0x536E, text) + ebml(0x86, b"A_OPUS")))
    cluster_body = ebml(0xE7, b"\x00") + ebml(0xA3, block)
    cluster = (b"\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xff" + cluster_body if unknown_sizes
               else ebml(0x1F43B675, cluster_body))
    tags = ebml(0x1254C367, ebml(0x7373, ebml(0x67C8, ebml(0x45A3, b"TITLE") + ebml(0x4487, text))))
    attachments = ebml(0x1941A469, ebml(0x61A7, ebml(0x466E, b"me.jpg") + ebml(0x465C, text)))
    body = seek_head + info + tracks + cluster + tags + attachments
    segment = (b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + body if unknown_sizes
               else ebml(0x18538067, body))
    return Sample(header + segment, cluster_body)


def pdf(tag: str, *, pages: int = 1) -> bytes:
    """A PDF with the tag (ASCII) in its /Info (title, author, subject, keywords) and its XMP metadata."""
    document = FPDF()
    document.set_title(tag)
    document.set_author(tag)
    document.set_subject(tag)
    document.set_keywords(tag)
    document.set_xmp_metadata(f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{tag}</dc:creator></x:xmpmeta>')
    document.set_font("helvetica", size=24)
    for number in range(pages):
        document.add_page()
        document.text(20, 40, f"page {number + 1}")
    return bytes(document.output())
