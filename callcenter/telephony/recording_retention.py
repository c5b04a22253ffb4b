"""Call recordings past the retention period: their files deleted, their calls unlinked, on a timer or by hand."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from callcenter.platform.errors import NotFound
from callcenter.telephony.recordings import RecordingStore
from db.engine import unit_of_work
from db.models import Call

log = logging.getLogger(__name__)

BATCH = 500  # calls unlinked per transaction: a first purge of a large backlog never holds one huge transaction


def purge_expired_call_recordings(*, engine: Engine, store: RecordingStore, older_than: datetime) -> int:
    """Delete the recordings of calls started before ``older_than`` and files of no call last written before it.

    Returns how many recordings were purged. Voice messages (ticket evidence) are never touched. A file is deleted
    before its call forgets it, so a crash in between leaves a link to a missing file (404, cleared on the next
    run), never an unreachable file."""
    purged = _purge_linked(engine, store, older_than)
    purged += _purge_orphans(engine, store, older_than)
    if purged:
        log.info("Purged %d call recordings older than %s", purged, older_than.isoformat())
    return purged


def _purge_linked(engine: Engine, store: RecordingStore, older_than: datetime) -> int:
    with unit_of_work(engine) as session:
        rows = session.exec(
            select(Call.id, Call.recording)
            .where(col(Call.recording).is_not(None), col(Call.started_at) < older_than)
            .order_by(col(Call.id))
        ).all()
    expired = [(call_id, name) for call_id, name in rows if call_id is not None and name is not None]
    purged = 0
    for start in range(0, len(expired), BATCH):
        batch = expired[start : start + BATCH]
        removed = [(call_id, name) for call_id, name in batch if _remove_file(store, call_id, name)]
        purged += _unlink_calls(engine, removed)
    return purged


def _remove_file(store: RecordingStore, call_id: int, name: str) -> bool:
    """False keeps the call's link (and the file) for the next run, e.g. when the disk refused the deletion."""
    try:
        store.remove(name)
    except NotFound:
        log.warning("Call %d: recording name %r is not one we make; unlinking it without touching the disk",
                    call_id, name)
    except OSError:
        log.exception("Call %d: could not delete recording %s; it stays linked and is retried", call_id, name)
        return False
    return True


def _unlink_calls(engine: Engine, removed: list[tuple[int, str]]) -> int:
    with unit_of_work(engine) as session:
        for call_id, name in removed:
            call = session.get(Call, call_id)
            if call is not None and call.recording == name:
                call.recording = None
                session.add(call)
    return len(removed)


def _purge_orphans(engine: Engine, store: RecordingStore, older_than: datetime) -> int:
    """Files no call points to (nobody answered, the backend was down at answer...), by their last write."""
    cutoff = older_than.timestamp()
    purged = 0
    for path in store.call_recordings_on_disk():
        try:
            if path.stat().st_mtime >= cutoff or _is_linked(engine, path.name):
                continue
            store.remove(path.name)
        except OSError:
            log.exception("Could not delete orphan call recording %s; retried next run", path.name)
            continue
        purged += 1
    return purged


def _is_linked(engine: Engine, name: str) -> bool:
    """A call still pointing to the file is newer than the cutoff (its link would be gone otherwise): keep it."""
    with unit_of_work(engine) as session:
        return session.exec(select(Call.id).where(col(Call.recording) == name)).first() is not None


class RecordingPurger:
    """The purge with the cutoff ``retention`` before now: the scheduler's ``recording-purge`` job and the CLI."""

    def __init__(self, *, engine: Engine, store: RecordingStore, retention: timedelta,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._engine = engine
        self._store = store
        self._retention = retention
        self._now = now

    def purge_now(self) -> int:
        return purge_expired_call_recordings(engine=self._engine, store=self._store,
                                             older_than=self._now() - self._retention)
