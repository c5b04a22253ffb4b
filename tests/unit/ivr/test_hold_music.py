"""Queue music: a synthesized loop Asterisk can play, replaced by the municipality's own recordings when given."""

from __future__ import annotations

import array
import math
import wave
from pathlib import Path

import pytest

from ivr import hold_music
from ivr.hold_music import GENERATED_NAME, render_hold_music


def loudness(path: Path) -> tuple[float, float]:
    """(seconds, RMS of the samples on a 0..1 scale)."""
    with wave.open(str(path)) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        samples = array.array("h", audio.readframes(audio.getnframes()))
    rms = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768
    return len(samples) / 8000, rms


def test_given_no_recordings_when_rendering_then_a_loop_of_audible_8khz_music_is_written(tmp_path: Path) -> None:
    assert render_hold_music(tmp_path / "moh") == [GENERATED_NAME]
    # Nothing else in the folder: Asterisk plays every file there (a stamp "x.wav.sha1" would be one more).
    assert [p.name for p in (tmp_path / "moh").iterdir()] == [GENERATED_NAME]
    seconds, rms = loudness(tmp_path / "moh" / GENERATED_NAME)
    assert 8 < seconds < 30
    assert 0.02 < rms < 0.3  # audible over a phone, nowhere near clipping


def test_given_the_loop_already_made_when_rendering_again_then_sox_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    render_hold_music(tmp_path / "moh")

    def must_not_run(target: Path) -> None:
        raise AssertionError(f"synthesized {target} again")

    monkeypatch.setattr(hold_music, "synthesize_phrase", must_not_run)
    assert render_hold_music(tmp_path / "moh") == [GENERATED_NAME]


def test_given_recordings_of_the_municipality_when_rendering_then_callers_hear_exactly_those(tmp_path: Path) -> None:
    render_hold_music(tmp_path / "moh")
    recorded = tmp_path / "hold-music"
    recorded.mkdir()
    (recorded / "02-ney.wav").write_bytes(b"RIFF-ney")
    (recorded / "01-santur.gsm").write_bytes(b"gsm-santur")
    (recorded / "notes.txt").write_text("licence: municipality")
    (recorded / "song.mp3").write_bytes(b"ID3")

    assert render_hold_music(tmp_path / "moh", recorded_dir=recorded) == ["01-santur.gsm", "02-ney.wav"]
    assert sorted(p.name for p in (tmp_path / "moh").iterdir()) == ["01-santur.gsm", "02-ney.wav"]
    assert (tmp_path / "moh" / "02-ney.wav").read_bytes() == b"RIFF-ney"


def test_given_recordings_taken_away_when_rendering_then_the_synthesized_loop_comes_back(tmp_path: Path) -> None:
    recorded = tmp_path / "hold-music"
    recorded.mkdir()
    (recorded / "ney.wav").write_bytes(b"RIFF-ney")
    render_hold_music(tmp_path / "moh", recorded_dir=recorded)
    (recorded / "ney.wav").unlink()

    assert render_hold_music(tmp_path / "moh", recorded_dir=recorded) == [GENERATED_NAME]
    assert sorted(p.name for p in (tmp_path / "moh").iterdir()) == [GENERATED_NAME]
    assert loudness(tmp_path / "moh" / GENERATED_NAME)[1] > 0.02
