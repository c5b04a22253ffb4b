"""Write a pcap of what a citizen sends for sipp's play_pcap_audio: DTMF (RFC 4733), silence and speech (PCMU).

sipp's own captures (one digit each) all carry the same RTP sequence numbers; Asterisk ignores an event whose
sequence number is not newer than the last one, so a second digit from them is lost. One generated stream for
the whole key sequence keeps every digit.

Voice rides in the same stream: one SSRC, one sequence counter rising across every step, and one 8 kHz clock
(timestamp = elapsed ms × 8) shared by the speech packets and the DTMF events; each packet's time in the pcap is
its elapsed ms, which sipp replays as the pacing."""

from __future__ import annotations

import math
import struct
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PAYLOAD_TYPE = 101
PCMU_PAYLOAD_TYPE = 0
PACKET_MS = 20
SAMPLES_PER_MS = 8
SAMPLES_PER_PACKET = PACKET_MS * SAMPLES_PER_MS
SAMPLE_RATE = 1000 * SAMPLES_PER_MS
SSRC = 0x5A50A5A5

_ULAW_SILENCE = 0xFF
_ULAW_BIAS = 0x84 >> 2  # in the 14-bit domain G.711 works in
_ULAW_CLIP = 8159
_ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


@dataclass(frozen=True)
class Keys:
    """Press ``digits``: each lasts ``digit_ms``, a new one every ``gap_ms``; the step takes len × ``gap_ms``."""

    digits: str
    gap_ms: int = 400
    digit_ms: int = 120


@dataclass(frozen=True)
class Silence:
    """Send nothing for ``ms``."""

    ms: int


@dataclass(frozen=True)
class Speech:
    """Say ``wav`` (8 kHz mono 16-bit PCM, see ``speech_wav``) as PCMU, 20 ms a packet; takes its duration,
    rounded up to whole packets."""

    wav: Path


Step = Keys | Silence | Speech


def linear_to_ulaw(sample: int) -> int:
    """G.711 µ-law byte for one signed 16-bit sample (same table as the reference g711.c and audioop.lin2ulaw)."""
    value = sample >> 2  # G.711 µ-law takes 14-bit linear PCM
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, _ULAW_CLIP) + _ULAW_BIAS
    for segment, end in enumerate(_ULAW_SEGMENT_ENDS):
        if value <= end:
            return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask
    return 0x7F ^ mask


def _frame(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``; sipp replaces the addresses and ports with the call's."""
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                     bytes([127, 0, 0, 1])) + udp
    return b"\x00" * 12 + b"\x08\x00" + ip


def _rtp_header(seq: int, timestamp: int, marker: bool, payload_type: int) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | payload_type, seq & 0xFFFF,
                       timestamp & 0xFFFFFFFF, SSRC)


def _rtp(seq: int, timestamp: int, marker: bool, event: int, end: bool, duration: int) -> bytes:
    """One RFC 4733 event packet (volume 10)."""
    return _rtp_header(seq, timestamp, marker, PAYLOAD_TYPE) + struct.pack("!BBH", event, (0x80 if end else 0) | 10,
                                                                           duration)


def _pcm_samples(wav_path: Path) -> tuple[int, ...]:
    with wave.open(str(wav_path), "rb") as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getcomptype())
        if shape != (SAMPLE_RATE, 1, 2, "NONE"):
            raise ValueError(f"{wav_path}: want 8000 Hz mono 16-bit PCM, got (rate, channels, bytes, compression) "
                             f"{shape}; convert it with speech_wav or `sox IN -r 8000 -c 1 -b 16 OUT`")
        data = wav.readframes(wav.getnframes())
    return struct.unpack(f"<{len(data) // 2}h", data)


class _Stream:
    """The packets of one RTP stream as (pcap ms, RTP bytes), with its sequence counter and elapsed time."""

    def __init__(self) -> None:
        self.packets: list[tuple[int, bytes]] = []
        self.seq = 1
        self.now_ms = 0

    def _add(self, at_ms: int, rtp: bytes) -> None:
        self.packets.append((at_ms, rtp))
        self.seq += 1

    def keys(self, step: Keys) -> None:
        """Each digit lasts ``digit_ms`` (packets every 20 ms, then three end packets); a new one every ``gap_ms``."""
        for index, digit in enumerate(step.digits):
            event = EVENTS[digit]
            start_ms = self.now_ms + index * step.gap_ms
            timestamp = start_ms * SAMPLES_PER_MS
            count = max(1, step.digit_ms // PACKET_MS)
            duration = 0
            for number in range(1, count + 1):
                duration = number * PACKET_MS * SAMPLES_PER_MS
                self._add(start_ms + number * PACKET_MS, _rtp(self.seq, timestamp, number == 1, event, False,
                                                              duration))
            for _ in range(3):  # end of event, sent three times as RFC 4733 asks
                self._add(start_ms + count * PACKET_MS, _rtp(self.seq, timestamp, False, event, True, duration))
        self._advance(len(step.digits) * step.gap_ms)

    def speech(self, step: Speech) -> None:
        """20 ms of PCMU a packet, marker on the first (a talk spurt); the last packet is padded with silence."""
        samples = _pcm_samples(step.wav)
        packets = math.ceil(len(samples) / SAMPLES_PER_PACKET)
        for number in range(packets):
            chunk = samples[number * SAMPLES_PER_PACKET:(number + 1) * SAMPLES_PER_PACKET]
            payload = bytes(linear_to_ulaw(sample) for sample in chunk)
            payload += bytes([_ULAW_SILENCE]) * (SAMPLES_PER_PACKET - len(payload))
            at_ms = self.now_ms + number * PACKET_MS
            self._add(at_ms, _rtp_header(self.seq, at_ms * SAMPLES_PER_MS, number == 0, PCMU_PAYLOAD_TYPE) + payload)
        self._advance(packets * PACKET_MS)

    def silence(self, step: Silence) -> None:
        self._advance(step.ms)

    def _advance(self, ms: int) -> None:
        """Move on by ``ms``, and never to before the last packet sent, so the pcap's times never go back."""
        self.now_ms = max(self.now_ms + ms, self.packets[-1][0] if self.packets else 0)


def write_caller_pcap(path: Path, steps: Sequence[Step]) -> Path:
    """One RTP stream playing ``steps`` one after another: key presses, silences and speech."""
    stream = _Stream()
    for step in steps:
        if isinstance(step, Keys):
            stream.keys(step)
        elif isinstance(step, Speech):
            stream.speech(step)
        else:
            stream.silence(step)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for at_ms, payload in stream.packets:
            frame = _frame(payload)
            out.write(struct.pack("<IIII", at_ms // 1000, (at_ms % 1000) * 1000, len(frame), len(frame)))
            out.write(frame)
    return path


def write_dtmf_pcap(path: Path, digits: str, *, digit_ms: int = 120, gap_ms: int = 400) -> Path:
    """Each digit lasts ``digit_ms`` (packets every 20 ms, then three end packets); a new one every ``gap_ms``."""
    return write_caller_pcap(path, [Keys(digits, gap_ms=gap_ms, digit_ms=digit_ms)])


def speech_wav(text: str, path: Path) -> Path:
    """Persian ``text`` spoken by espeak-ng, as the 8 kHz mono 16-bit WAV that ``Speech`` plays."""
    with tempfile.TemporaryDirectory(prefix="pasokh-speech-") as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-v", "fa", "-w", str(raw), text], check=True, capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path)], check=True,
                       capture_output=True)
    return path


def wav_seconds(path: Path) -> float:
    """How long a WAV file plays."""
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()
