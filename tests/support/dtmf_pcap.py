"""Write a pcap of RFC 4733 DTMF events for sipp's play_pcap_audio: one stream, seq and timestamps rising.

sipp's own captures (one digit each) all carry the same RTP sequence numbers; Asterisk ignores an event whose
sequence number is not newer than the last one, so a second digit from them is lost. One generated stream for
the whole key sequence keeps every digit."""

from __future__ import annotations

import struct
from pathlib import Path

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PAYLOAD_TYPE = 101
PACKET_MS = 20
SAMPLES_PER_MS = 8
SSRC = 0x5A50A5A5


def _frame(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``; sipp replaces the addresses and ports with the call's."""
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                     bytes([127, 0, 0, 1])) + udp
    return b"\x00" * 12 + b"\x08\x00" + ip


def _rtp(seq: int, timestamp: int, marker: bool, event: int, end: bool, duration: int) -> bytes:
    header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | PAYLOAD_TYPE, seq & 0xFFFF,
                         timestamp & 0xFFFFFFFF, SSRC)
    return header + struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)


def write_dtmf_pcap(path: Path, digits: str, *, digit_ms: int = 120, gap_ms: int = 400) -> Path:
    """Each digit lasts ``digit_ms`` (packets every 20 ms, then three end packets); a new one every ``gap_ms``."""
    packets: list[tuple[float, bytes]] = []
    seq = 1
    for index, digit in enumerate(digits):
        event = EVENTS[digit]
        start_ms = index * gap_ms
        timestamp = start_ms * SAMPLES_PER_MS
        steps = max(1, digit_ms // PACKET_MS)
        for step in range(1, steps + 1):
            duration = step * PACKET_MS * SAMPLES_PER_MS
            packets.append((start_ms + step * PACKET_MS, _rtp(seq, timestamp, step == 1, event, False, duration)))
            seq += 1
        for _ in range(3):  # end of event, sent three times as RFC 4733 asks
            packets.append((start_ms + steps * PACKET_MS, _rtp(seq, timestamp, False, event, True, duration)))
            seq += 1
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for at_ms, payload in packets:
            frame = _frame(payload)
            out.write(struct.pack("<IIII", at_ms // 1000, (at_ms % 1000) * 1000, len(frame), len(frame)))
            out.write(frame)
    return path
