"""Whole-call recordings: the names the store accepts, and the purge after the retention period (SQLite and
PostgreSQL, real files in a temporary folder)."""

from __future__ import annotations

import os
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from callcenter.bootstrap.cli import main
from callcenter.bootstrap.services import recording_store
from callcenter.platform.errors import NotFound
from callcenter.platform.settings import load_settings
from callcenter.telephony.recording_retention import RecordingPurger, purge_expired_call_recordings
from callcenter.telephony.recordings import RecordingStore
from db.models import Call

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)


def write_wav(path: Path, seconds: float = 1.0, *, modified: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x10\x00" * int(8000 * seconds))
    if modified is not None:
        os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


def a_recorded_call(engine: sa.Engine, store: RecordingStore, linkedid: str, *, started: datetime,
                    line: str = "137", on_disk: bool = True) -> int:
    """A call answered at ``started`` whose conversation Asterisk wrote (and finished writing) a minute later."""
    name = store.call_name(line=line, linkedid=linkedid)
    if on_disk:
        write_wav(store.host_dir / name, modified=started + timedelta(minutes=1))
    with Session(engine) as session:
        call = Call(linkedid=linkedid, line=line, started_at=started, answered_at=started, recording=name)
        session.add(call)
        session.commit()
        assert call.id is not None
        return call.id


def recording_of(engine: sa.Engine, call_id: int) -> str | None:
    with Session(engine) as session:
        call = session.get(Call, call_id)
        assert call is not None
        return call.recording


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(host_dir=tmp_path / "recordings", asterisk_dir=PurePosixPath("/opt/pasokh/x/recordings"))


# -- names -------------------------------------------------------------------------------------------------------


def test_given_a_call_and_a_message_of_one_caller_when_named_then_two_files_the_store_serves(
    store: RecordingStore,
) -> None:
    call = store.call_name(line="1888", linkedid="1700000000.42")
    message = store.new_name(line="1888", uniqueid="1700000000.42")
    assert (call, message) == ("call-1888-1700000000.42.wav", "msg-1888-1700000000.42.wav")
    for name in (call, message):
        write_wav(store.host_dir / name)
        assert store.host_file(name) == store.host_dir / name
    assert store.is_call_recording(call) and not store.is_call_recording(message)
    assert store.asterisk_path(call) == "/opt/pasokh/x/recordings/call-1888-1700000000.42"


@pytest.mark.parametrize("name", [
    "call-999-1700000000.42.wav",  # not one of our lines
    "call-137-../../etc/passwd.wav",
    "../call-137-1700000000.42.wav",
    "call-137-1700000000.42.gsm",
    "call-137-.wav",
    "rec-137-1700000000.42.wav",
    "call-137-1700000000.42.wav.bak",
])
def test_given_a_name_we_never_make_when_asked_for_its_file_then_refused_before_the_disk(
    store: RecordingStore, name: str
) -> None:
    write_wav(store.host_dir / "call-137-1700000000.42.wav")
    with pytest.raises(NotFound):
        store.host_file(name)
    with pytest.raises(NotFound):
        store.remove(name)
    assert not store.is_call_recording(name)


def test_given_a_purged_call_recording_when_asked_for_it_then_not_found_in_persian_about_the_call(
    store: RecordingStore,
) -> None:
    with pytest.raises(NotFound) as refused:
        store.host_file(store.call_name(line="137", linkedid="1700000000.42"))
    assert refused.value.message == "فایل ضبط این تماس پیدا نشد."


def test_given_a_folder_of_mixed_files_when_listing_call_recordings_then_only_those(store: RecordingStore) -> None:
    for name in ("call-137-1.1.wav", "msg-137-1.1.wav", "call-1888-2.2.wav", "notes.txt", "call-137-3.3.gsm"):
        write_wav(store.host_dir / name)
    assert [p.name for p in store.call_recordings_on_disk()] == ["call-137-1.1.wav", "call-1888-2.2.wav"]


# -- purge -------------------------------------------------------------------------------------------------------


def test_given_old_and_recent_calls_when_purging_then_only_the_old_calls_lose_their_recordings(
    engine: sa.Engine, store: RecordingStore
) -> None:
    old = a_recorded_call(engine, store, "1600000000.1", started=CUTOFF - timedelta(days=1))
    old_1888 = a_recorded_call(engine, store, "1600000000.2", started=CUTOFF - timedelta(minutes=5), line="1888")
    recent = a_recorded_call(engine, store, "1700000000.3", started=CUTOFF + timedelta(minutes=5))
    message = write_wav(store.host_dir / store.new_name(line="137", uniqueid="1500000000.9"),
                        modified=CUTOFF - timedelta(days=400))  # a ticket's evidence, whatever its age

    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 2

    assert (recording_of(engine, old), recording_of(engine, old_1888)) == (None, None)
    assert recording_of(engine, recent) == "call-137-1700000000.3.wav"
    assert sorted(p.name for p in store.host_dir.iterdir()) == ["call-137-1700000000.3.wav", message.name]
    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 0


def test_given_call_files_no_call_points_to_when_purging_then_the_old_ones_go_by_their_last_write(
    engine: sa.Engine, store: RecordingStore
) -> None:
    # Nobody answered (no link was ever made), or the backend was down when the operator did.
    stale = write_wav(store.host_dir / "call-137-1600000000.7.wav", modified=CUTOFF - timedelta(seconds=1))
    fresh = write_wav(store.host_dir / "call-137-1700000000.8.wav", modified=CUTOFF + timedelta(seconds=1))
    other = write_wav(store.host_dir / "prompt-copy.wav", modified=CUTOFF - timedelta(days=1))

    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 1

    assert (stale.exists(), fresh.exists(), other.exists()) == (False, True, True)


def test_given_a_recent_call_whose_file_looks_old_when_purging_then_the_call_keeps_it(
    engine: sa.Engine, store: RecordingStore
) -> None:
    """The database decides: a file's time can be wrong (a restored backup), a link to a recent call cannot."""
    recent = a_recorded_call(engine, store, "1700000000.5", started=CUTOFF + timedelta(days=1))
    os.utime(store.host_dir / "call-137-1700000000.5.wav", (0, 0))

    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 0

    assert recording_of(engine, recent) == "call-137-1700000000.5.wav"
    assert (store.host_dir / "call-137-1700000000.5.wav").exists()


def test_given_a_purge_that_deleted_files_and_then_crashed_when_run_again_then_the_links_are_cleared(
    engine: sa.Engine, store: RecordingStore
) -> None:
    old = a_recorded_call(engine, store, "1600000000.4", started=CUTOFF - timedelta(days=3), on_disk=False)

    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 1

    assert recording_of(engine, old) is None


def test_given_a_file_the_disk_refuses_to_delete_when_purging_then_the_call_keeps_its_link_for_the_next_run(
    engine: sa.Engine, store: RecordingStore
) -> None:
    stuck = a_recorded_call(engine, store, "1600000000.5", started=CUTOFF - timedelta(days=3), on_disk=False)
    (store.host_dir / "call-137-1600000000.5.wav").mkdir(parents=True)  # unlink() fails on it, as on a bad disk
    gone = a_recorded_call(engine, store, "1600000000.6", started=CUTOFF - timedelta(days=3))

    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 1

    assert recording_of(engine, stuck) == "call-137-1600000000.5.wav"
    assert recording_of(engine, gone) is None


def test_given_a_link_that_is_not_a_name_we_make_when_purging_then_it_is_cleared_and_nothing_else_deleted(
    engine: sa.Engine, store: RecordingStore, tmp_path: Path
) -> None:
    outside = write_wav(tmp_path / "outside.wav")
    with Session(engine) as session:
        call = Call(linkedid="1600000000.8", line="137", started_at=CUTOFF - timedelta(days=1),
                    recording="../outside.wav")
        session.add(call)
        session.commit()
        call_id = call.id
    assert call_id is not None

    assert purge_expired_call_recordings(engine=engine, store=store, older_than=CUTOFF) == 1

    assert recording_of(engine, call_id) is None and outside.exists()


def test_given_the_backends_purger_when_it_runs_then_it_purges_with_the_retention_before_now(
    engine: sa.Engine, store: RecordingStore
) -> None:
    old = a_recorded_call(engine, store, "1600000000.9", started=NOW - timedelta(days=31))
    kept = a_recorded_call(engine, store, "1700000000.9", started=NOW - timedelta(days=29))
    purger = RecordingPurger(engine=engine, store=store, retention=timedelta(days=30), now=lambda: NOW)

    assert purger.purge_now() == 1

    assert recording_of(engine, old) is None and not (store.host_dir / "call-137-1600000000.9.wav").exists()
    assert recording_of(engine, kept) == "call-137-1700000000.9.wav"


def test_given_the_retention_in_the_environment_when_purging_from_the_command_line_then_older_calls_lose_theirs(
    engine: sa.Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {"DATABASE_URL": database_url, "PASOKH_STATE_DIR": str(tmp_path / "state"),
               "PASOKH_ASTERISK_CACHE_DIR": str(tmp_path / "cache"), "PASOKH_CALL_RECORDING_RETENTION_DAYS": "30"}
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    store = recording_store(load_settings(environ))
    now = datetime.now(UTC)
    old = a_recorded_call(engine, store, "1600000001.1", started=now - timedelta(days=31))
    kept = a_recorded_call(engine, store, "1700000001.2", started=now - timedelta(days=29))

    assert main(["purge-recordings"]) == 0

    assert recording_of(engine, old) is None and not (store.host_dir / "call-137-1600000001.1.wav").exists()
    assert recording_of(engine, kept) == "call-137-1700000001.2.wav"
    assert "1 call recordings purged" in capsys.readouterr().out
