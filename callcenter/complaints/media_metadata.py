"""Metadata removed from a complaint's audio and video without touching the media (ADR 0068): the recording's
frames, samples or packets are kept byte for byte, only the containers' tags go.

- MP3: ID3v2 tags at the start, ID3v1, APEv2, Lyrics3 and appended ID3v2 tags after the last MPEG frame are cut
  off; anything else after the frames is refused.
- WAV: only the ``fmt `` and ``data`` chunks are kept (LIST/INFO, bext, iXML, id3 ... are dropped).
- OGG (Vorbis or Opus, one stream): the comment header is replaced by an empty one of the same length (zero
  padding after it), so every page keeps its place and only the changed pages' checksums are recomputed.
- MP4/M4A/MOV: ``udta``, ``meta`` and ``uuid`` boxes (at the top and anywhere inside ``moov``) are overwritten by
  ``free`` boxes of the same size, and the creation and modification times of ``mvhd``/``tkhd``/``mdhd`` zeroed.
- WebM/Matroska: Tags, Attachments and Chapters, the Info's Title and DateUTC and the tracks' Names are overwritten
  by Void elements of the same size (and the SeekHead's entries that pointed at them).

Overwriting in place instead of removing keeps every offset in the file valid (MP4 chunk offsets, fragments and
indexes; Matroska's SeekHead and Cues) without rewriting any index. Anything we cannot parse is refused."""

from __future__ import annotations

import struct
from collections.abc import Iterator


class UncleanableMedia(ValueError):
    """The file does not have the structure we clean (or a variant we do not handle); it must not be stored."""


def strip_media(data: bytes, content_type: str) -> bytes:
    """The same recording without its metadata; ``content_type`` is what sniffing found."""
    cleaner = _CLEANERS.get(content_type)
    if cleaner is None:
        raise UncleanableMedia(f"no cleaner for {content_type}")
    return cleaner(data)


# --- MP3 ---


def _syncsafe(raw: bytes) -> int:
    if any(byte & 0x80 for byte in raw):
        raise UncleanableMedia("ID3 size is not sync-safe")
    value = 0
    for byte in raw:
        value = (value << 7) | byte
    return value


def strip_mp3(data: bytes) -> bytes:
    """The MPEG frames alone. The frames are walked by their headers first, so a tag found at the end is only ever
    cut from what follows the last frame: audio that happens to contain "TAG" 128 bytes from its end stays."""
    start = 0
    while data.startswith(b"ID3", start) and len(data) - start >= 10:  # ID3v2 (several may be chained)
        flags = data[start + 5]
        start += 10 + _syncsafe(data[start + 6:start + 10]) + (10 if flags & 0x10 else 0)  # 0x10: a footer
    frames_end = start
    while (length := _mpeg_frame_length(data, frames_end)) and frames_end + length <= len(data):
        frames_end += length
    if frames_end == start:
        raise UncleanableMedia("no MPEG audio frame after the tags")
    end = len(data)
    while end > frames_end and (cut := _mp3_trailer(data, frames_end, end)):
        end -= cut
    if end > frames_end and not _mpeg_frame_length(data, frames_end):  # a last frame cut short is audio; else not
        raise UncleanableMedia("unknown data after the MPEG frames")
    return data[start:end]


# Kilobits per second by bitrate index, for (MPEG-1?, layer); index 0 (free format) and 15 are not handled.
_BITRATES = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def _mpeg_frame_length(data: bytes, at: int) -> int:
    """The length of the MPEG audio frame whose header is at ``at``; 0 when there is no valid header there."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return 0
    version, layer_bits = (data[at + 1] >> 3) & 3, (data[at + 1] >> 1) & 3
    bitrate_index, rate_index, padding = data[at + 2] >> 4, (data[at + 2] >> 2) & 3, (data[at + 2] >> 1) & 1
    if version == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return 0
    layer, mpeg1 = 4 - layer_bits, version == 3
    bits_per_second = _BITRATES[mpeg1, layer][bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    if layer == 1:
        return (12 * bits_per_second // rate + padding) * 4
    per_frame = 144 if layer == 2 or mpeg1 else 72
    return per_frame * bits_per_second // rate + padding


def _mp3_trailer(data: bytes, start: int, end: int) -> int:
    """The length of one tag at the end of ``data[start:end]``, 0 when there is none."""
    size = end - start
    if size >= 128 and data[end - 128:end - 125] == b"TAG":  # ID3v1 (and "TAG+" before it, handled next round)
        return 128
    if size >= 227 and data[end - 227:end - 223] == b"TAG+":
        return 227
    if size >= 32 and data[end - 32:end - 24] == b"APETAGEX":
        tag_size, flags = struct.unpack("<II", data[end - 20:end - 12])
        total = tag_size + (32 if flags & 0x80000000 else 0)  # the size excludes the optional header
        if total > size:
            raise UncleanableMedia("APE tag larger than the file")
        return total
    if size >= 10 and data[end - 10:end - 7] == b"3DI":  # an appended ID3v2 tag's footer
        total = _syncsafe(data[end - 4:end]) + 20
        if total > size:
            raise UncleanableMedia("ID3v2 footer larger than the file")
        return total
    if size >= 15 and data[end - 9:end] == b"LYRICS200" and data[end - 15:end - 9].isdigit():
        total = int(data[end - 15:end - 9]) + 15
        if total > size:
            raise UncleanableMedia("Lyrics3 tag larger than the file")
        return total
    return 0


# --- WAV ---


def strip_wav(data: bytes) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise UncleanableMedia("not a RIFF WAVE file")
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    kept: dict[bytes, bytes] = {}
    position = 12
    while position + 8 <= end:
        kind = data[position:position + 4]
        (size,) = struct.unpack("<I", data[position + 4:position + 8])
        if position + 8 + size > end:
            raise UncleanableMedia("WAV chunk runs past the end")
        if kind in (b"fmt ", b"data") and kind not in kept:
            chunk = data[position:position + 8 + size]
            kept[kind] = chunk + (b"\x00" if size & 1 else b"")
        position += 8 + size + (size & 1)
    if b"fmt " not in kept or b"data" not in kept:
        raise UncleanableMedia("WAV without fmt or data")
    body = b"WAVE" + kept[b"fmt "] + kept[b"data"]
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- OGG ---

_OGG_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, sequence, crc, segments


def _ogg_crc_table() -> list[int]:
    table = []
    for index in range(256):
        value = index << 24
        for _ in range(8):
            value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
        table.append(value & 0xFFFFFFFF)
    return table


_CRC_TABLE = _ogg_crc_table()


def ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, no final xor) over a page whose CRC field is zero."""
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def ogg_pages(data: bytes) -> Iterator[tuple[int, int, int, list[int]]]:
    """(page start, data start, page end, lacing values) of every page; the whole file must be pages."""
    position = 0
    while position < len(data):
        if position + _OGG_HEADER.size > len(data) or data[position:position + 4] != b"OggS":
            raise UncleanableMedia("OGG page expected")
        _capture, version, _kind, _granule, _serial, _sequence, _crc, segments = _OGG_HEADER.unpack_from(data, position)
        lacing = list(data[position + _OGG_HEADER.size:position + _OGG_HEADER.size + segments])
        body = position + _OGG_HEADER.size + segments
        end = body + sum(lacing)
        if version != 0 or len(lacing) != segments or end > len(data):
            raise UncleanableMedia("OGG page cut short")
        yield position, body, end, lacing
        position = end


def ogg_packets(data: bytes, count: int | None = None) -> list[list[tuple[int, int]]]:
    """The file ranges (start, length) of each of the first ``count`` packets (every complete one when None), as
    the pages' lacing lays them."""
    packets: list[list[tuple[int, int]]] = [[]]
    for _start, body, _end, lacing in ogg_pages(data):
        offset = body
        for value in lacing:
            packets[-1].append((offset, value))
            offset += value
            if value < 255:
                if len(packets) == count:
                    return packets
                packets.append([])
    if count is None:
        return packets[:-1]
    raise UncleanableMedia("OGG stream ends inside its headers")


def ogg_packet_bytes(data: bytes) -> list[bytes]:
    """Every complete packet's bytes, in order."""
    return [b"".join(data[offset:offset + length] for offset, length in packet) for packet in ogg_packets(data)]


def strip_ogg(data: bytes) -> bytes:
    pages = list(ogg_pages(data))
    if not pages:
        raise UncleanableMedia("empty OGG")
    serials = {_OGG_HEADER.unpack_from(data, start)[4] for start, _body, _end, _lacing in pages}
    if len(serials) != 1:
        raise UncleanableMedia("OGG with more than one stream (chained or multiplexed)")
    identification_ranges, ranges = ogg_packets(data, 2)
    identification, comment = (b"".join(data[offset:offset + length] for offset, length in packet)
                               for packet in (identification_ranges, ranges))
    if identification.startswith(b"\x01vorbis") and comment.startswith(b"\x03vorbis"):
        empty = b"\x03vorbis" + struct.pack("<II", 0, 0) + b"\x01"  # no vendor, no comments, the framing bit
    elif identification.startswith(b"OpusHead") and comment.startswith(b"OpusTags"):
        empty = b"OpusTags" + struct.pack("<II", 0, 0)  # then zero padding, which RFC 7845 lets readers skip
    else:
        raise UncleanableMedia("OGG that is neither Vorbis nor Opus")
    if len(comment) < len(empty):
        raise UncleanableMedia("OGG comment header too short")
    replacement = empty + bytes(len(comment) - len(empty))
    out = bytearray(data)
    written = 0
    for offset, length in ranges:
        out[offset:offset + length] = replacement[written:written + length]
        written += length
    touched = {start for start, body, end, _lacing in pages for offset, _n in ranges if body <= offset < end}
    for start, _body, end, _lacing in pages:
        if start in touched:
            out[start + 22:start + 26] = bytes(4)  # the checksum is computed with its own field zero
            out[start + 22:start + 26] = struct.pack("<I", ogg_crc(bytes(out[start:end])))
    return bytes(out)


# --- MP4 ---

_MP4_DROPPED = {b"udta", b"meta", b"uuid"}
_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex"}
_MP4_TIMED = {b"mvhd", b"tkhd", b"mdhd"}


def mp4_boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, payload start, box end) of the boxes between ``start`` and ``end``."""
    position = start
    while position < end:
        if position + 8 > end:
            raise UncleanableMedia("MP4 box header cut short")
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        header = 8
        if size == 1:
            if position + 16 > end:
                raise UncleanableMedia("MP4 large box header cut short")
            (size,) = struct.unpack(">Q", data[position + 8:position + 16])
            header = 16
        elif size == 0:
            size = end - position  # to the end of the file (or of its parent)
        if size < header or position + size > end:
            raise UncleanableMedia(f"MP4 box {kind!r} runs past its parent")
        yield kind, position, position + header, position + size
        position += size


def strip_mp4(data: bytes) -> bytes:
    out = bytearray(data)
    top = [kind for kind, *_ in mp4_boxes(data, 0, len(data))]
    if not top or top[0] != b"ftyp" or b"moov" not in top:
        raise UncleanableMedia("MP4 without ftyp first or without moov")
    _clean_mp4_level(out, 0, len(out), inside_moov=False)
    return bytes(out)


def _clean_mp4_level(out: bytearray, start: int, end: int, *, inside_moov: bool) -> None:
    for kind, box, payload, box_end in list(mp4_boxes(out, start, end)):
        if kind in _MP4_DROPPED:
            _free_box(out, box, payload, box_end)
        elif kind == b"moov" or (inside_moov and kind in _MP4_CONTAINERS):
            _clean_mp4_level(out, payload, box_end, inside_moov=True)
        elif inside_moov and kind in _MP4_TIMED:
            _zero_times(out, payload, box_end)


def _free_box(out: bytearray, box: int, payload: int, box_end: int) -> None:
    """The box's size fields stay (32 or 64 bits); its type becomes ``free`` and its contents zeros."""
    out[box + 4:box + 8] = b"free"
    out[payload:box_end] = bytes(box_end - payload)


def _zero_times(out: bytearray, payload: int, box_end: int) -> None:
    """mvhd/tkhd/mdhd: version, flags, then creation and modification time (32 bits each, or 64 in version 1)."""
    width = 8 if out[payload] == 1 else 4
    if payload + 4 + 2 * width > box_end:
        raise UncleanableMedia("MP4 header box cut short")
    out[payload + 4:payload + 4 + 2 * width] = bytes(2 * width)


# --- WebM / Matroska ---

EBML_HEADER = 0x1A45DFA3
SEGMENT = 0x18538067
CLUSTER = 0x1F43B675
SEEK_HEAD, SEEK, SEEK_ID = 0x114D9B74, 0x4DBB, 0x53AB
INFO, TITLE, DATE_UTC = 0x1549A966, 0x7BA9, 0x4461
TRACKS, TRACK_ENTRY, TRACK_NAME = 0x1654AE6B, 0xAE, 0x536E
TAGS, ATTACHMENTS, CHAPTERS = 0x1254C367, 0x1941A469, 0x1043A770
VOID = 0xEC
_VOIDED_TOP = {TAGS, ATTACHMENTS, CHAPTERS}
_SEGMENT_CHILDREN = {SEEK_HEAD, INFO, TRACKS, CLUSTER, 0x1C53BB6B, TAGS, ATTACHMENTS, CHAPTERS, VOID}
_UNKNOWN = -1


def ebml_vint(data: bytes | bytearray, position: int, *, keep_marker: bool) -> tuple[int, int]:
    """(value, length) of the variable-size integer at ``position``; a size of all ones is ``_UNKNOWN``."""
    if position >= len(data) or data[position] == 0:
        raise UncleanableMedia("EBML number expected")
    first = data[position]
    length = 8 - first.bit_length() + 1
    if position + length > len(data):
        raise UncleanableMedia("EBML number cut short")
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[position + 1:position + length]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return _UNKNOWN, length
    return value, length


def ebml_elements(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(id, element start, payload start, element end) between ``start`` and ``end``; an unknown-sized element
    (a live recording's cluster) ends where the next element of the segment's own level begins."""
    position = start
    while position < end:
        element_id, id_length = ebml_vint(data, position, keep_marker=True)
        size, size_length = ebml_vint(data, position + id_length, keep_marker=False)
        payload = position + id_length + size_length
        if size == _UNKNOWN:
            if element_id != CLUSTER and element_id != SEGMENT:
                raise UncleanableMedia(f"EBML element {element_id:#x} of unknown size")
            element_end = end if element_id == SEGMENT else _unknown_cluster_end(data, payload, end)
        else:
            element_end = payload + size
        if element_end > end:
            raise UncleanableMedia(f"EBML element {element_id:#x} runs past its parent")
        yield element_id, position, payload, element_end
        position = element_end


def _unknown_cluster_end(data: bytes | bytearray, payload: int, end: int) -> int:
    position = payload
    while position < end:
        element_id, id_length = ebml_vint(data, position, keep_marker=True)
        if element_id in _SEGMENT_CHILDREN and element_id != VOID:
            return position
        size, size_length = ebml_vint(data, position + id_length, keep_marker=False)
        if size == _UNKNOWN:
            raise UncleanableMedia("unknown-sized element inside a cluster")
        position += id_length + size_length + size
    return min(position, end)


def void(out: bytearray, start: int, end: int) -> None:
    """Overwrite ``out[start:end]`` (a whole element, two bytes at least) with a Void element of that length."""
    length = end - start
    if length - 2 <= 126:
        header = bytes([VOID, 0x80 | (length - 2)])
    else:
        header = bytes([VOID, 0x01]) + (length - 9).to_bytes(7, "big")
    out[start:end] = header + bytes(length - len(header))


def strip_webm(data: bytes) -> bytes:
    out = bytearray(data)
    top = list(ebml_elements(data, 0, len(data)))
    if not top or top[0][0] != EBML_HEADER or not any(element[0] == SEGMENT for element in top):
        raise UncleanableMedia("WebM without its EBML header or segment")
    for element_id, _start, payload, end in top:
        if element_id == SEGMENT:
            _clean_segment(out, payload, end)
    return bytes(out)


def _clean_segment(out: bytearray, start: int, end: int) -> None:
    for element_id, element, payload, element_end in list(ebml_elements(out, start, end)):
        if element_id in _VOIDED_TOP:
            void(out, element, element_end)
        elif element_id == INFO:
            _void_children(out, payload, element_end, {TITLE, DATE_UTC})
        elif element_id == TRACKS:
            for child_id, _child, child_payload, child_end in list(ebml_elements(out, payload, element_end)):
                if child_id == TRACK_ENTRY:
                    _void_children(out, child_payload, child_end, {TRACK_NAME})
        elif element_id == SEEK_HEAD:
            _void_seeks_to_voided(out, payload, element_end)


def _void_children(out: bytearray, start: int, end: int, ids: set[int]) -> None:
    for child_id, child, _payload, child_end in list(ebml_elements(out, start, end)):
        if child_id in ids:
            void(out, child, child_end)


def _void_seeks_to_voided(out: bytearray, start: int, end: int) -> None:
    for child_id, child, payload, child_end in list(ebml_elements(out, start, end)):
        if child_id != SEEK:
            continue
        for entry_id, _entry, entry_payload, entry_end in ebml_elements(out, payload, child_end):
            if entry_id == SEEK_ID and int.from_bytes(out[entry_payload:entry_end], "big") in _VOIDED_TOP:
                void(out, child, child_end)
                break


_CLEANERS = {
    "audio/mpeg": strip_mp3,
    "audio/wav": strip_wav,
    "audio/ogg": strip_ogg,
    "audio/mp4": strip_mp4,
    "video/mp4": strip_mp4,
    "video/webm": strip_webm,
}
