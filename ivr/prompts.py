"""Render the prompt catalog to 8 kHz mono WAV with espeak-ng; a recorded file of the same name wins."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from callcenter.platform.errors import ConfigurationError
from ivr.prompt_catalog import PROMPTS

# Part of every stamp: bump it when synthesize() changes so that existing prompts are rendered again.
RENDERING = "espeak-ng fa 165 wpm, trailing silence trimmed"

# Prompts made from data (unit names...) rather than the catalog: a kind prefix and a hash of the text.
DATA_PROMPT_KEY = r"unit_[0-9a-f]{12}"


def unit_prompt_key(unit_name: str) -> str:
    """The key under which a unit's spoken name is rendered; stable for the same name."""
    return "unit_" + hashlib.sha1(unit_name.encode()).hexdigest()[:12]


def unit_prompts(unit_names: Iterable[str]) -> dict[str, str]:
    return {unit_prompt_key(name): name for name in unit_names}


def render_prompts(
    target_dir: Path, *, override_dir: Path | None = None, data_prompts: Mapping[str, str] | None = None
) -> list[str]:
    """Write ``<key>.wav`` for every catalog prompt (and ``data_prompts``) into ``target_dir``; return the keys
    (re)written. Generated files are skipped when the text has not changed (a ``.sha1`` stamp beside each file).
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    prompts = {**PROMPTS, **(data_prompts or {})}
    return [key for key, text in prompts.items() if _render_prompt(target_dir, key, text, override_dir=override_dir)]


def render_unit_prompt(target_dir: Path, unit_name: str, *, override_dir: Path | None = None) -> str:
    """Just one unit's spoken name (a unit added at run time), without walking the whole catalog; returns its key."""
    key = unit_prompt_key(unit_name)
    target_dir.mkdir(parents=True, exist_ok=True)
    _render_prompt(target_dir, key, unit_name, override_dir=override_dir)
    return key


def _render_prompt(target_dir: Path, key: str, text: str, *, override_dir: Path | None) -> bool:
    """Write ``<key>.wav`` unless it is already rendered from the same text; True when written."""
    target = target_dir / f"{key}.wav"
    recorded = override_dir / f"{key}.wav" if override_dir else None
    if recorded is not None and recorded.exists():
        shutil.copyfile(recorded, target)
        return True
    stamp = target_dir / f"{key}.sha1"
    digest = hashlib.sha1(f"{RENDERING}\n{text}".encode()).hexdigest()
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return False
    synthesize(text, target, trim_trailing_silence=bool(text.strip(" ،,.")))
    stamp.write_text(digest)
    return True


def synthesize(text: str, target: Path, *, trim_trailing_silence: bool = True) -> None:
    """espeak-ng (Persian voice) → sox → 8 kHz, mono, 16-bit WAV as Asterisk plays it.

    espeak ends every utterance with ~0.35 s of silence; fragments strung into a number would drag, so it is
    cut down to a short, even gap (not for prompts that are meant to be silence, like ``pause_short``)."""
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            raise ConfigurationError(f"{tool} is not installed (make run installs it)")
    trim = ["reverse", "silence", "1", "0.02", "0.5%", "reverse", "pad", "0", "0.08"]
    effects = trim if trim_trailing_silence else []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        # "--": the text (a unit's name an administrator typed, say "-w /etc/x") is words to speak, never options.
        subprocess.run(["espeak-ng", "-v", "fa", "-s", "165", "-w", str(raw), "--", text], check=True,
                       capture_output=True)
        # Absolute paths: a file name can never start with "-" and be read by sox as an option.
        subprocess.run(["sox", str(raw.resolve()), "-r", "8000", "-c", "1", "-b", "16", str(target.resolve()),
                        *effects], check=True, capture_output=True)
