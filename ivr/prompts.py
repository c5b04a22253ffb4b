"""Render the prompt catalog to 8 kHz mono WAV with espeak-ng; a recorded file of the same name wins."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from callcenter.errors import ConfigurationError
from ivr.prompt_catalog import PROMPTS


def render_prompts(target_dir: Path, *, override_dir: Path | None = None) -> list[str]:
    """Write ``<key>.wav`` for every prompt into ``target_dir``; return the keys (re)written.

    Generated files are skipped when the text has not changed (a ``.sha1`` stamp beside each file).
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key, text in PROMPTS.items():
        target = target_dir / f"{key}.wav"
        recorded = override_dir / f"{key}.wav" if override_dir else None
        if recorded is not None and recorded.exists():
            shutil.copyfile(recorded, target)
            written.append(key)
            continue
        stamp = target_dir / f"{key}.sha1"
        digest = hashlib.sha1(text.encode()).hexdigest()
        if target.exists() and stamp.exists() and stamp.read_text() == digest:
            continue
        synthesize(text, target)
        stamp.write_text(digest)
        written.append(key)
    return written


def synthesize(text: str, target: Path) -> None:
    """espeak-ng (Persian voice) → sox → 8 kHz, mono, 16-bit WAV as Asterisk plays it."""
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            raise ConfigurationError(f"{tool} is not installed (make run installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "fa", "-s", "165", "-w", str(raw), text], check=True, capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(target)], check=True,
                       capture_output=True)
