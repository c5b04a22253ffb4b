"""Recordings on disk (callers' messages, whole calls): the naming rules, and the two views of the folder."""

from __future__ import annotations

import os
import re
import shutil
import wave
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from callcenter.platform.errors import NotFound
from callcenter.platform.lines import LINES

FORMAT = "wav"
MESSAGE_PREFIX = "msg"  # a caller's voice message: ticket evidence, kept
CALL_PREFIX = "call"  # a whole answered call (MixMonitor): purged after the retention period
# Names we make ourselves; anything else (a path, "..") is refused before it reaches the file system.
_LINE_NUMBERS = "|".join(re.escape(line.number) for line in LINES)
_NAME = re.compile(rf"^({MESSAGE_PREFIX}|{CALL_PREFIX})-(?:{_LINE_NUMBERS})-[0-9A-Za-z.]{{1,40}}\.{FORMAT}$")
# A recording's first second (8 kHz, 16-bit): a folder that cannot take this cannot record a call.
WRITE_PROBE_BYTES = 16_000
_WRITE_PROBE = ".pasokh-write-probe"  # not a recording's name: the purge and the players never see it
_NOT_FOUND = {MESSAGE_PREFIX: "فایل پیام صوتی پیدا نشد.", CALL_PREFIX: "فایل ضبط این تماس پیدا نشد."}


@dataclass(frozen=True)
class RecordingStore:
    host_dir: Path  # where the backend reads the files
    asterisk_dir: PurePosixPath  # the same folder as Asterisk sees it (inside its chroot, if any)

    def new_name(self, *, line: str, uniqueid: str) -> str:
        """One file per call: a retried recording step overwrites its own file, never another caller's."""
        return f"{MESSAGE_PREFIX}-{line}-{uniqueid}.{FORMAT}"

    @staticmethod
    def call_name(*, line: str, linkedid: str) -> str:
        """The whole call's file; the dialplan renders it with ``linkedid`` as an Asterisk expression."""
        return f"{CALL_PREFIX}-{line}-{linkedid}.{FORMAT}"

    @staticmethod
    def is_call_recording(name: str) -> bool:
        match = _NAME.fullmatch(name)
        return match is not None and match.group(1) == CALL_PREFIX

    def asterisk_path(self, name: str) -> str:
        """For AGI RECORD FILE, which wants the path without the format's extension."""
        self._check(name)
        return str(self.asterisk_dir / name.removesuffix(f".{FORMAT}"))

    def host_file(self, name: str) -> Path:
        self._check(name)
        path = self.host_dir / name
        if not path.is_file():
            raise NotFound(_NOT_FOUND[name.partition("-")[0]], recording=name)
        return path

    def duration_seconds(self, name: str) -> float:
        """0 when the file is missing or unreadable: the caller said nothing we can keep."""
        try:
            with wave.open(str(self.host_file(name)), "rb") as audio:
                return audio.getnframes() / float(audio.getframerate() or 1)
        except (NotFound, OSError, wave.Error, EOFError):
            return 0.0

    def remove(self, name: str) -> None:
        """Delete one recording; a file already gone is fine (a purge interrupted and run again)."""
        self._check(name)
        (self.host_dir / name).unlink(missing_ok=True)

    def call_recordings_on_disk(self) -> list[Path]:
        """Every file named like a call recording (the purge's view of the folder)."""
        if not self.host_dir.is_dir():
            return []
        return sorted(p for p in self.host_dir.iterdir() if self.is_call_recording(p.name) and p.is_file())

    def disk_usage(self) -> tuple[int, int] | None:
        """(free, total) bytes of the file system holding the folder; None while the folder does not exist."""
        try:
            usage = shutil.disk_usage(self.host_dir)
        except OSError:
            return None
        return usage.free, usage.total

    def can_write(self) -> bool | None:
        """Whether a recording can be written to the folder now (a probe of a second's audio, removed at once):
        False when the disk is full or the folder read-only, which free bytes alone do not always tell (a file
        system out of inodes, reserved blocks, a quota); None while the folder does not exist."""
        if not self.host_dir.is_dir():
            return None
        probe = self.host_dir / f"{_WRITE_PROBE}-{os.getpid()}"  # each scraping process its own
        try:
            descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                written = os.write(descriptor, bytes(WRITE_PROBE_BYTES))
            finally:
                os.close(descriptor)
            return written == WRITE_PROBE_BYTES
        except OSError:
            return False
        finally:
            probe.unlink(missing_ok=True)

    @staticmethod
    def _check(name: str) -> None:
        if not _NAME.fullmatch(name):
            raise NotFound("فایل صوتی پیدا نشد.", recording=name)
