"""``python -m callcenter backup`` / ``restore``: the database with the files its rows name (tickets' photos,
complaints' attachments, voice messages, call recordings) and the operator's prompts and queue music, in one tar
archive, consistent with each other: the files are those the database snapshot names (ADR 0080)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from callcenter.bootstrap.services import recording_store
from callcenter.complaints.attachments import AttachmentStore
from callcenter.platform.errors import BackupError
from callcenter.platform.settings import Settings
from callcenter.tickets.attachments import PhotoStore
from db.engine import MIGRATIONS_DIR, make_engine, upgrade_database
from db.models import Call, ComplaintAttachment, Ticket, TicketAttachment

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/pasokh.sqlite3", "postgresql": "database/pasokh.dump"}
ARCHIVE_PREFIX = "pasokh-"
# The rows whose files the archive carries, by the folder each lives in.
REFERENCES: dict[str, tuple[sa.Column[Any], ...]] = {
    "photos": (TicketAttachment.__table__.c.stored_name,),  # type: ignore[attr-defined]
    "complaint_files": (ComplaintAttachment.__table__.c.stored_name,),  # type: ignore[attr-defined]
    "recordings": (Ticket.__table__.c.recording, Call.__table__.c.recording),  # type: ignore[attr-defined]
}
# Folders no row names, taken whole: what the operator put there (recorded prompts, queue music).
WHOLE_FOLDERS = ("prompts", "hold-music")
# Counted in the snapshot and again after a restore, for the drill's report.
COUNTED = ("ticket", "ticket_transition", "ticket_attachment", "call", "complaint", "complaint_attachment",
           "staff_user")


@dataclass(frozen=True)
class Snapshot:
    """What the database held at the moment of its dump: the files its rows name, its revision, its counts."""

    kind: str
    dump: Path
    names: dict[str, set[str]]
    revision: list[str]
    counts: dict[str, int]


@dataclass(frozen=True)
class BackupReport:
    archive: Path
    files: int
    missing: list[dict[str, str]]  # rows naming a file that was gone by the time it was copied
    counts: dict[str, int]
    pruned: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreReport:
    files: int
    migrated_from: list[str]
    counts: dict[str, int]  # after the restore (and migrations)
    counts_in_backup: dict[str, int]


def file_folders(settings: Settings) -> dict[str, Path]:
    """Every folder the archive carries, by its name in the archive (``files/<name>/``), as this host has it."""
    return {
        "photos": PhotoStore.for_settings(settings).directory,
        "complaint_files": AttachmentStore.for_settings(settings).directory,
        "recordings": recording_store(settings).host_dir,
        **{name: settings.state_dir / name for name in WHOLE_FOLDERS},
    }


def back_up(settings: Settings, target: Path, *, keep: int | None = None) -> BackupReport:
    """Write the archive at ``target`` (a ``.tar`` or ``.tar.gz`` file, or a folder to name one in by the time);
    in a folder, ``keep`` leaves only that many of our archives, the newest."""
    archive = target / f"{ARCHIVE_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar" if target.is_dir() else target
    partial = archive.with_name(f".{archive.name}.part")
    try:
        with tempfile.TemporaryDirectory(prefix=".pasokh-backup-", dir=archive.parent) as work:
            snapshot = _snapshot(settings.database_url, Path(work))
            with tarfile.open(partial, "w:gz" if archive.name.endswith("gz") else "w") as tar:
                tar.add(snapshot.dump, arcname=DATABASE_MEMBERS[snapshot.kind])
                entries, missing = _add_files(tar, file_folders(settings), snapshot.names)
                manifest = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(), "database": snapshot.kind,
                            "revision": snapshot.revision, "counts": snapshot.counts, "files": entries,
                            "missing": missing}
                _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        os.replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)
    for gone in missing:
        log.warning("%s/%s is named by a row but was gone when copied (purged after the dump began)",
                    gone["area"], gone["name"])
    pruned = _prune(archive.parent, keep) if keep is not None and target.is_dir() else []
    return BackupReport(archive=archive, files=len(entries), missing=missing, counts=snapshot.counts, pruned=pruned)


def restore(settings: Settings, archive: Path, *, force: bool = False) -> RestoreReport:
    """Into an empty database (any other only with ``force``, which replaces it whole) and its folders; then the
    migrations a backup from an older version needs."""
    with tarfile.open(archive, "r:*") as tar:
        manifest = _manifest(tar)
        kind = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"] != kind:
            raise BackupError(f"the archive holds a {manifest['database']} database; this instance uses {kind}")
        _refuse_unknown_revision(manifest["revision"])
        if not force and not database_is_empty(settings.database_url):
            raise BackupError("the database is not empty: restore into an empty one, or give --force to replace "
                              "everything in it")
        folders = file_folders(settings)
        entries = [_checked_entry(entry, folders) for entry in manifest["files"]]
        conflicts = [str(path) for path, entry in entries if path.exists() and _sha256(path) != entry["sha256"]]
        if conflicts and not force:
            raise BackupError(f"{len(conflicts)} files differ from the archive's (e.g. {conflicts[0]}); "
                              "give --force to overwrite them")
        owner = settings.state_dir if settings.state_dir.exists() else None
        for path, entry in entries:
            _extract_file(tar, f"files/{entry['area']}/{entry['name']}", path, entry["sha256"], owner=owner)
        with tempfile.TemporaryDirectory(prefix=".pasokh-restore-") as work:
            dump = Path(work) / "dump"
            _extract_file(tar, DATABASE_MEMBERS[kind], dump, sha256=None, owner=None)
            _restore_database(settings.database_url, kind, dump, force=force)
    upgrade_database(settings.database_url)  # a backup of an older version: its migrations, as an upgrade would
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            counts = _counts(connection)
    finally:
        engine.dispose()
    if owner is not None and settings.is_sqlite:
        _own_like(Path(sa.engine.make_url(settings.database_url).database or ""), owner)
    return RestoreReport(files=len(entries), migrated_from=manifest["revision"], counts=counts,
                         counts_in_backup=manifest["counts"])


def database_is_empty(database_url: str) -> bool:
    """No table at all: a database just created (a migrated one already holds what a restore would bring)."""
    if database_url.startswith("sqlite"):
        path = Path(sa.engine.make_url(database_url).database or "")
        if not path.exists():
            return True
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return not sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()


# --- the snapshot ---------------------------------------------------------------------------------------------


def _snapshot(database_url: str, work: Path) -> Snapshot:
    if database_url.startswith("sqlite"):
        return _sqlite_snapshot(Path(sa.engine.make_url(database_url).database or ""), work)
    return _postgres_snapshot(database_url, work)


def _sqlite_snapshot(path: Path, work: Path) -> Snapshot:
    """SQLite's online backup API copies the database as one read transaction saw it; the copy is then read for
    the names, so the files are those of the same moment."""
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    copy = work / "pasokh.sqlite3"
    with closing(sqlite3.connect(path, timeout=30)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return Snapshot(kind="sqlite", dump=copy, **_facts(connection))
    finally:
        engine.dispose()


def _postgres_snapshot(database_url: str, work: Path) -> Snapshot:
    """One repeatable-read transaction exports its snapshot; pg_dump dumps that same snapshot while the
    transaction, still open, reads the file names from it."""
    dump = work / "pasokh.dump"
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                 postgresql_readonly=True) as connection:
            exported = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _facts(connection)
            _run_client("pg_dump", ["--format=custom", f"--snapshot={exported}", f"--file={dump}"], database_url)
            connection.rollback()
    finally:
        engine.dispose()
    return Snapshot(kind="postgresql", dump=dump, **facts)


def _facts(connection: sa.Connection) -> dict[str, Any]:
    tables = set(sa.inspect(connection).get_table_names())
    names: dict[str, set[str]] = {}
    for area, columns in REFERENCES.items():
        names[area] = set()
        for column in columns:
            if column.table.name in tables:  # an older schema may not have it yet
                names[area].update(connection.execute(sa.select(column).where(column.is_not(None))).scalars())
    revision = (sorted(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
                if "alembic_version" in tables else [])
    return {"names": names, "revision": revision, "counts": _counts(connection, tables)}


def _counts(connection: sa.Connection, tables: set[str] | None = None) -> dict[str, int]:
    present = tables if tables is not None else set(sa.inspect(connection).get_table_names())
    return {name: connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            for name in COUNTED if name in present}


# --- the files ------------------------------------------------------------------------------------------------


def _add_files(tar: tarfile.TarFile, folders: dict[str, Path],
               names: dict[str, set[str]]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    entries: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    for area, folder in folders.items():
        wanted = names[area] if area in names else _every_file(folder)
        for name in sorted(wanted):
            if not _plain_name(name):
                log.warning("%s: %r is not a file name of ours; not copied", area, name)
                continue
            try:
                size, digest = _add_file(tar, f"files/{area}/{name}", folder / name)
            except FileNotFoundError:
                missing.append({"area": area, "name": name})
                continue
            entries.append({"area": area, "name": name, "size": size, "sha256": digest})
    return entries, missing


def _every_file(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir() if path.is_file()} if folder.is_dir() else set()


def _plain_name(name: str) -> bool:
    return bool(name) and PurePosixPath(name).name == name and not name.startswith(".")


class _HashingReader:
    """The first ``size`` bytes of a file, hashed as tarfile copies them (a recording still being written goes in
    as far as it was when measured)."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._left = size
        self.digest = hashlib.sha256()

    def read(self, count: int = -1) -> bytes:
        data = self._handle.read(self._left if count < 0 else min(count, self._left))
        self._left -= len(data)
        self.digest.update(data)
        return data


def _add_file(tar: tarfile.TarFile, arcname: str, path: Path) -> tuple[int, str]:
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        info = tarfile.TarInfo(arcname)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o640
        reader = _HashingReader(handle, stat.st_size)
        tar.addfile(info, reader)
    return stat.st_size, reader.digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o640
    tar.addfile(info, io.BytesIO(data))


def _manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        raise BackupError("not a Pasokh backup: the archive has no manifest.json") from None
    assert member is not None
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"archive format {manifest.get('format')} is not {FORMAT}: made by another version")
    return manifest


def _checked_entry(entry: dict[str, Any], folders: dict[str, Path]) -> tuple[Path, dict[str, Any]]:
    """Where a file of the archive goes: only our folders, only a plain name (nothing the archive says can reach
    another path)."""
    if entry["area"] not in folders or not _plain_name(entry["name"]):
        raise BackupError(f"the manifest names {entry['area']}/{entry['name']}, which is not a file of ours")
    return folders[entry["area"]] / entry["name"], entry


def _extract_file(tar: tarfile.TarFile, member: str, path: Path, sha256: str | None, *, owner: Path | None) -> None:
    """Written beside its place and renamed into it once its bytes hashed as the manifest says."""
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"the archive lacks {member}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.restoring")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
    if sha256 is not None and digest.hexdigest() != sha256:
        partial.unlink()
        raise BackupError(f"{member} does not match its hash in the manifest: the archive is damaged")
    os.replace(partial, path)
    if owner is not None:
        _own_like(path, owner)
        _own_like(path.parent, owner)


def _own_like(path: Path, reference: Path) -> None:
    """Root restoring for the service user: what it writes belongs to whoever owns the state dir."""
    if os.geteuid() != 0 or not path.exists():
        return
    stat = reference.stat()
    os.chown(path, stat.st_uid, stat.st_gid)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _prune(folder: Path, keep: int) -> list[Path]:
    ours = sorted((path for path in folder.iterdir()
                   if path.name.startswith(ARCHIVE_PREFIX) and path.name.endswith((".tar", ".tar.gz"))),
                  key=lambda path: path.name, reverse=True)
    pruned = ours[max(keep, 1):]
    for path in pruned:
        path.unlink()
    return pruned


# --- the database ---------------------------------------------------------------------------------------------


def _refuse_unknown_revision(revision: list[str]) -> None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    for name in revision:
        try:
            script.get_revision(name)
        except CommandError:
            raise BackupError(f"the backup's database is at revision {name}, which this version of Pasokh does not "
                              "know: restore with the version that made it (or a newer one)") from None


def _restore_database(database_url: str, kind: str, dump: Path, *, force: bool) -> None:
    if kind == "sqlite":
        target = Path(sa.engine.make_url(database_url).database or "")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(dump)) as source, closing(sqlite3.connect(target, timeout=30)) as restored:
            restored.execute("PRAGMA journal_mode=DELETE")  # a WAL database cannot take another page size
            source.backup(restored)
        return
    if force:
        _drop_everything(database_url)
    _run_client("pg_restore", ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", str(dump)],
                database_url, connection_option="--dbname")


def _drop_everything(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _run_client(program: str, arguments: list[str], database_url: str, *, connection_option: str = "") -> None:
    """pg_dump or pg_restore with the database's address; its password goes in the environment, never on a command
    line that ``ps`` shows."""
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"{program} is missing: apt-get install postgresql-client (of the server's version)")
    address, environment = _libpq(database_url)
    target = [f"{connection_option}={address}"] if connection_option else [address]
    result = subprocess.run([executable, "--no-password", *arguments, *target], env=environment,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()[-2000:]}")


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    url = sa.engine.make_url(database_url)
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), environment
