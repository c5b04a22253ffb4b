"""The caller pcap: µ-law encoding, one RTP stream across keys, silence and speech, write_dtmf_pcap unchanged."""

from __future__ import annotations

import hashlib
import math
import shutil
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dtmf_pcap import (
    SSRC,
    Keys,
    Silence,
    Speech,
    linear_to_ulaw,
    speech_wav,
    write_caller_pcap,
    write_dtmf_pcap,
)

# sha256 of write_dtmf_pcap's output, computed with the implementation before write_caller_pcap existed.
GOLDEN_DTMF = [
    ("1", {}, "08fb98753b1ab64f727912cfcd7ff82cbfa2f1a92e35e246a296e6ae9a876db5"),
    ("1234*#0", {}, "fc55b4587dcc801d03ab9459db15b8d205fcb440be3008e2331f409a796480d1"),
    ("59", {"gap_ms": 250}, "6846c286559641f362672d72ac853a66ef8507889850c38c70f4d925cf58e310"),
    ("*7", {"digit_ms": 50, "gap_ms": 300}, "1721e760d241143390c6244bf1272e7788fa28cdeeebd27bceaccdf7986a9a8b"),
    ("", {}, "acc530668c8bc60b2d229281130b1899bfc81d70fdada5c34b3236c628f739c8"),
    ("08", {"digit_ms": 130, "gap_ms": 1100}, "c7bec5d2c058ac2754b60225d93ae2c486b50b70a282f965f2399d55a878851e"),
]


@dataclass(frozen=True)
class Packet:
    at_ms: int
    marker: bool
    payload_type: int
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


def read_pcap(path: Path) -> list[Packet]:
    """Just enough of a pcap reader: Ethernet + IPv4 (no options) + UDP + RTP (no CSRCs, no extension)."""
    data = path.read_bytes()
    magic, major, minor, _, _, _, linktype = struct.unpack_from("<IHHiIII", data, 0)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1)
    packets = []
    offset = 24
    while offset < len(data):
        seconds, micros, captured, original = struct.unpack_from("<IIII", data, offset)
        assert captured == original
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        assert frame[12:14] == b"\x08\x00" and frame[14] == 0x45 and frame[23] == 17
        udp = frame[34:]
        assert struct.unpack_from("!H", udp, 4)[0] == len(udp)
        rtp = udp[8:]
        first, second, seq, timestamp, ssrc = struct.unpack_from("!BBHII", rtp, 0)
        assert first == 0x80
        assert micros % 1000 == 0
        packets.append(Packet(seconds * 1000 + micros // 1000, bool(second & 0x80), second & 0x7F, seq, timestamp,
                              ssrc, rtp[12:]))
    return packets


def ulaw_to_linear(code: int) -> int:
    """The G.711 µ-law decoding table (reference g711.c), to check the encoder against."""
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - magnitude if code & 0x80 else magnitude - 0x84


def write_tone(path: Path, ms: int, *, rate: int = 8000, channels: int = 1) -> list[int]:
    samples = [round(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(rate * ms // 1000)]
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(struct.pack(f"<{len(samples) * channels}h", *[s for s in samples for _ in range(channels)]))
    return samples


def test_ulaw_encodes_zero_as_0xff() -> None:
    assert linear_to_ulaw(0) == 0xFF


def test_ulaw_saturates_at_0x80_for_loudest_positive_and_0x00_for_loudest_negative() -> None:
    assert linear_to_ulaw(32767) == 0x80
    assert linear_to_ulaw(32124) == 0x80
    assert linear_to_ulaw(-32768) == 0x00
    assert linear_to_ulaw(-32124) == 0x00


@pytest.mark.parametrize(("sample", "code"), [
    (100, 0xF2), (-100, 0x72), (1000, 0xCE), (-1000, 0x4E), (4000, 0xAF), (-4000, 0x2F), (8000, 0xA0),
    (-8000, 0x20), (-1, 0x7E), (1, 0xFF),
])
def test_ulaw_gives_the_g711_code_for_known_samples(sample: int, code: int) -> None:
    # The same values CPython's audioop.lin2ulaw gives (checked across all 65536 samples on 3.11).
    assert linear_to_ulaw(sample) == code


def test_ulaw_encodes_every_g711_decoded_level_back_to_its_code() -> None:
    for code in range(256):
        if code == 0x7F:  # negative zero decodes to 0, which encodes as positive zero
            assert linear_to_ulaw(ulaw_to_linear(code)) == 0xFF
        else:
            assert linear_to_ulaw(ulaw_to_linear(code)) == code, hex(code)


@pytest.mark.parametrize(("digits", "options", "digest"), GOLDEN_DTMF)
def test_write_dtmf_pcap_output_is_byte_identical_to_before(tmp_path: Path, digits: str, options: dict[str, int],
                                                            digest: str) -> None:
    pcap = write_dtmf_pcap(tmp_path / "keys.pcap", digits, **options)
    assert hashlib.sha256(pcap.read_bytes()).hexdigest() == digest


def test_write_dtmf_pcap_is_one_keys_step(tmp_path: Path) -> None:
    dtmf = write_dtmf_pcap(tmp_path / "a.pcap", "137#", gap_ms=300, digit_ms=80)
    caller = write_caller_pcap(tmp_path / "b.pcap", [Keys("137#", gap_ms=300, digit_ms=80)])
    assert dtmf.read_bytes() == caller.read_bytes()


@pytest.fixture
def voicemail(tmp_path: Path) -> tuple[list[Packet], list[int]]:
    """Press 1 2, wait 300 ms, speak 1010 ms (51 packets, the last half padding), press #."""
    samples = write_tone(tmp_path / "tone.wav", 1010)
    pcap = write_caller_pcap(tmp_path / "call.pcap", [
        Keys("12"), Silence(300), Speech(tmp_path / "tone.wav"), Keys("#"),
    ])
    return read_pcap(pcap), samples


def test_a_voicemail_call_is_one_stream_with_sequence_numbers_rising_by_one(
        voicemail: tuple[list[Packet], list[int]]) -> None:
    packets, _ = voicemail
    assert {p.ssrc for p in packets} == {SSRC}
    assert [p.seq for p in packets] == list(range(1, len(packets) + 1))


def test_a_voicemail_call_has_times_and_timestamps_that_never_go_back(
        voicemail: tuple[list[Packet], list[int]]) -> None:
    packets, _ = voicemail
    times = [p.at_ms for p in packets]
    stamps = [p.timestamp for p in packets]
    assert times == sorted(times)
    assert stamps == sorted(stamps)


def test_a_voicemail_call_has_timestamps_on_the_same_clock_as_packet_times(
        voicemail: tuple[list[Packet], list[int]]) -> None:
    packets, _ = voicemail
    for p in packets:
        if p.payload_type == 0:
            assert p.timestamp == p.at_ms * 8
        else:  # an event's timestamp is its start; its duration so far brings it to the packet's time
            assert p.timestamp + struct.unpack_from("!H", p.payload, 2)[0] == p.at_ms * 8


def test_a_voicemail_call_sends_keys_then_speech_then_keys(voicemail: tuple[list[Packet], list[int]]) -> None:
    packets, _ = voicemail
    runs: list[tuple[int, int]] = []
    for p in packets:
        if runs and runs[-1][0] == p.payload_type:
            runs[-1] = (p.payload_type, runs[-1][1] + 1)
        else:
            runs.append((p.payload_type, 1))
    assert runs == [(101, 2 * (6 + 3)), (0, 51), (101, 6 + 3)]
    assert {p.payload[0] for p in packets if p.payload_type == 101} == {1, 2, 11}
    assert all(len(p.payload) == 4 for p in packets if p.payload_type == 101)


def test_a_voicemail_call_sends_speech_as_pcmu_160_bytes_a_packet_with_one_marker(
        voicemail: tuple[list[Packet], list[int]]) -> None:
    packets, samples = voicemail
    speech = [p for p in packets if p.payload_type == 0]
    assert all(len(p.payload) == 160 for p in speech)
    assert [p.marker for p in speech] == [True] + [False] * 50
    assert speech[0].at_ms == 800 + 300
    assert [p.at_ms for p in speech] == list(range(1100, 1100 + 51 * 20, 20))
    sent = b"".join(p.payload for p in speech)
    assert sent[:len(samples)] == bytes(linear_to_ulaw(s) for s in samples)
    assert sent[len(samples):] == b"\xff" * (51 * 160 - len(samples))


def test_a_voicemail_call_presses_the_last_key_only_after_the_speech_ends(
        voicemail: tuple[list[Packet], list[int]]) -> None:
    packets, _ = voicemail
    last_speech = max((p for p in packets if p.payload_type == 0), key=lambda p: p.seq)
    hash_key = [p for p in packets if p.payload_type == 101 and p.payload[0] == 11]
    speech_end_ms = last_speech.at_ms + 20
    assert speech_end_ms == 1100 + 1020
    assert hash_key[0].marker
    assert hash_key[0].timestamp == speech_end_ms * 8
    assert min(p.at_ms for p in hash_key) > last_speech.at_ms


def test_a_wav_that_is_not_8khz_mono_16bit_is_refused(tmp_path: Path) -> None:
    write_tone(tmp_path / "cd.wav", 100, rate=44100, channels=2)
    with pytest.raises(ValueError, match="8000 Hz mono 16-bit"):
        write_caller_pcap(tmp_path / "x.pcap", [Speech(tmp_path / "cd.wav")])


def test_speech_wav_renders_persian_text_as_8khz_mono_16bit_that_plays_as_speech(tmp_path: Path) -> None:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox are needed (make installs them)")
    wav_path = speech_wav("سلام، لطفاً پیام خود را بگذارید", tmp_path / "hello.wav")
    with wave.open(str(wav_path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        frames = wav.getnframes()
    assert frames > 8000 // 2
    packets = read_pcap(write_caller_pcap(tmp_path / "hello.pcap", [Speech(wav_path)]))
    assert len(packets) == math.ceil(frames / 160)
    assert any(set(p.payload) - {0xFF, 0x7F} for p in packets)
