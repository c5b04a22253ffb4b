"""Callers' recorded messages on disk: one naming rule, and the two views of the folder (Asterisk's and ours)."""

from __future__ import annotations

import re
import wave
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from callcenter.errors import NotFound

FORMAT = "wav"
# Names we make ourselves; anything else (a path, "..") is refused before it reaches the file system.
_NAME = re.compile(r"^msg-(?:137|1888)-[0-9A-Za-z.]{1,40}\.wav$")


@dataclass(frozen=True)
class RecordingStore:
    host_dir: Path  # where the backend reads the files
    asterisk_dir: PurePosixPath  # the same folder as Asterisk sees it (inside its chroot, if any)

    def new_name(self, *, line: str, uniqueid: str) -> str:
        """One file per call: a retried recording step overwrites its own file, never another caller's."""
        return f"msg-{line}-{uniqueid}.{FORMAT}"

    def asterisk_path(self, name: str) -> str:
        """For AGI RECORD FILE, which wants the path without the format's extension."""
        self._check(name)
        return str(self.asterisk_dir / name.removesuffix(f".{FORMAT}"))

    def host_file(self, name: str) -> Path:
        self._check(name)
        path = self.host_dir / name
        if not path.is_file():
            raise NotFound("فایل پیام صوتی پیدا نشد.", recording=name)
        return path

    def duration_seconds(self, name: str) -> float:
        """0 when the file is missing or unreadable: the caller said nothing we can keep."""
        try:
            with wave.open(str(self.host_file(name)), "rb") as audio:
                return audio.getnframes() / float(audio.getframerate() or 1)
        except (NotFound, OSError, wave.Error, EOFError):
            return 0.0

    @staticmethod
    def _check(name: str) -> None:
        if not _NAME.fullmatch(name):
            raise NotFound("فایل پیام صوتی پیدا نشد.", recording=name)
