"""A folder of files the app keeps under its state dir: written atomically under a random name of ours, and found
or removed only by such a name (a name from a request can never reach outside the folder)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from callcenter.platform.errors import NotFound

_PARTIAL = re.compile(r"^\.(.+)\.part$")  # save writes here first, then renames


@dataclass(frozen=True)
class NamedFileStore:
    """The shared part of the photo and attachment stores; each says which names are its own and how a missing
    file is answered."""

    directory: Path
    NAME: ClassVar[re.Pattern[str]]
    MISSING: ClassVar[str]  # the Persian answer when a name is not one of ours or has no file
    DETAIL: ClassVar[str]  # the error's detail key for the name asked for

    def save_bytes(self, data: bytes, extension: str) -> str:
        """Write under a new random name; a reader never sees the file half written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{secrets.token_hex(16)}.{extension}"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(data)
        os.replace(partial, self.directory / name)
        return name

    def path(self, name: str) -> Path:
        if not self.NAME.fullmatch(name):
            raise NotFound(self.MISSING, **{self.DETAIL: name})
        path = self.directory / name
        if not path.is_file():
            raise NotFound(self.MISSING, **{self.DETAIL: name})
        return path

    def remove(self, name: str) -> None:
        if self.NAME.fullmatch(name):
            (self.directory / name).unlink(missing_ok=True)

    def is_ours(self, file_name: str) -> bool:
        """A name this store gives, or the ``.part`` file it writes first."""
        partial = _PARTIAL.fullmatch(file_name)
        return bool(self.NAME.fullmatch(partial.group(1) if partial else file_name))
