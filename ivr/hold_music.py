"""Music for callers waiting in a queue: the municipality's own recordings, else a synthesized santur-like loop."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from callcenter.platform.errors import ConfigurationError

# Formats Asterisk's files mode plays; anything else in the recordings folder (an MP3, a README) is ignored.
PLAYABLE_SUFFIXES = (".wav", ".gsm", ".ulaw", ".alaw", ".sln")
GENERATED_NAME = "pasokh-hold.wav"

# A phrase in the spirit of dastgah Shur on D (without its quarter tones, which a telephone would blur anyway),
# plucked like a santur: (note, seconds). A held note closes it, then a breath of silence before the loop.
PHRASE: tuple[tuple[str, float], ...] = (
    ("D4", 0.45), ("F4", 0.45), ("G4", 0.45), ("A4", 0.9), ("G4", 0.45), ("F4", 0.45), ("E4", 0.45), ("D4", 0.9),
    ("A4", 0.45), ("A#4", 0.45), ("C5", 0.45), ("A#4", 0.45), ("A4", 0.9), ("G4", 0.45), ("F4", 0.45),
    ("E4", 0.45), ("F4", 0.45), ("D4", 1.8),
)
REST_SECONDS = 1.5
# Part of the stamp: change it with the synthesis and existing files are made again.
RENDERING = "sox pluck, 8 kHz, echo 0.8 0.6 90 0.25, normalised to -10 dBFS, " + " ".join(f"{n}/{s}" for n, s in PHRASE)


def render_hold_music(target_dir: Path, *, recorded_dir: Path | None = None) -> list[str]:
    """Leave ``target_dir`` holding exactly the files callers should hear, and return their names.

    Playable files in ``recorded_dir`` (the municipality's licensed music) win; without any, our synthesized
    loop is written, and only when its recipe changed (a ``.sha1`` stamp beside the folder: Asterisk would take a
    stamp inside it, minus its extension, for one more file to play)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    recorded = _playable(recorded_dir)
    wanted = {path.name for path in recorded} or {GENERATED_NAME}
    stamp = _stamp_of(target_dir)
    for stale in target_dir.iterdir():
        if stale.is_file() and stale.name not in wanted:
            stale.unlink()
    if recorded:
        for path in recorded:
            shutil.copyfile(path, target_dir / path.name)
        stamp.unlink(missing_ok=True)
        return sorted(wanted)
    _synthesize_if_changed(target_dir / GENERATED_NAME, stamp)
    return [GENERATED_NAME]


def _stamp_of(target_dir: Path) -> Path:
    return target_dir.with_name(f"{target_dir.name}.sha1")


def _playable(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in PLAYABLE_SUFFIXES)


def _synthesize_if_changed(target: Path, stamp: Path) -> None:
    digest = hashlib.sha1(RENDERING.encode()).hexdigest()
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return
    synthesize_phrase(target)
    stamp.write_text(digest)


def synthesize_phrase(target: Path) -> None:
    """sox: one plucked note per effects chain (sox plays the chains one after another), then a short echo for
    the room, quiet enough that a voice prompt after it does not startle, a rest, and 8 kHz mono 16-bit as
    Asterisk plays it."""
    if not shutil.which("sox"):
        raise ConfigurationError("sox is not installed (make run installs it)")
    notes: list[str] = []
    for note, seconds in PHRASE:
        notes += [":", "synth", f"{seconds}", "pluck", note, "fade", "0", f"{seconds}", f"{seconds / 2:.3f}"]
    with tempfile.TemporaryDirectory() as tmp:
        phrase = Path(tmp) / "phrase.wav"
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(phrase), *notes[1:]], check=True,
                       capture_output=True)
        subprocess.run(["sox", str(phrase), str(target.resolve()), "echo", "0.8", "0.6", "90", "0.25", "norm", "-10",
                        "pad", "0", f"{REST_SECONDS}"], check=True, capture_output=True)
