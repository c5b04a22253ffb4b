"""The recordings disk full, for real: a 1 MiB tmpfs mounted over the test Asterisk's recordings folder and filled
to the last byte. A sipp citizen still reaches an operator and talks until they hang up themselves (MixMonitor
failing to write does not drop the call), and the metrics say recordings cannot be written, which the alert
PasokhRecordingsNotWritable fires on; once there is room again, they say so (ADR 0087)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from db.models import Call, CallOutcome
from tests.conftest import require
from tests.integration.test_ops_metrics import samples, scrape, value
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.console import operator_in_queue
from tests.support.dtmf_pcap import Keys, Silence
from tests.support.sipp import Sipp

CALLER = "09171000087"
# The greeting and the menu play out after the key, the operator's phone rings and answers; then talking.
UNTIL_ANSWERED_MS = 7000
TALKING_MS = 3000


@pytest.fixture
def database_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    """SQLite only: the disk is what this test is about, not the database."""
    path = tmp_path / "pasokh.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@contextlib.contextmanager
def full_disk_over(folder: Path) -> Iterator[None]:
    """A 1 MiB tmpfs over ``folder``, filled until the kernel says ENOSPC; unmounted afterwards."""
    require(os.geteuid() == 0 and shutil.which("mount") is not None, "root, to mount a tmpfs")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", str(folder)], check=True)
    try:
        with (folder / "filler").open("wb") as filler, contextlib.suppress(OSError):
            while True:
                filler.write(bytes(64 * 1024))
                filler.flush()
        yield
    finally:
        for _ in range(50):  # Asterisk may close the last file a moment after the call
            if subprocess.run(["umount", str(folder)], check=False, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            subprocess.run(["umount", "-l", str(folder)], check=True)


async def ended_call(backend: RunningBackend, caller: str, *, timeout: float = 15) -> Call:
    deadline = time.monotonic() + timeout
    while True:
        with Session(backend.engine) as session:
            call = session.exec(select(Call).where(Call.caller_number == caller)).first()
        if call is not None and call.ended_at is not None:
            return call
        assert time.monotonic() < deadline, f"the call of {caller} did not end: {call}"
        await asyncio.sleep(0.2)


async def test_given_the_recordings_disk_full_when_a_citizen_talks_to_an_operator_then_the_call_goes_on_and_it_alerts(
    backend: RunningBackend, sipp: Sipp, operator_phones: object,
) -> None:
    folder = backend.services.web.recordings.host_dir
    with full_disk_over(folder):
        full = samples(await scrape(backend.url))
        assert value(full, "pasokh_recordings_writable") == 0
        assert value(full, "pasokh_recordings_disk_free_bytes") == 0
        async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
            result = await sipp.citizen_calls(caller=CALLER, script=[Keys("1"), Silence(UNTIL_ANSWERED_MS)],
                                              hold_ms=UNTIL_ANSWERED_MS + TALKING_MS + 400, local_port=CITIZENS_PORT)
            call = await ended_call(backend, CALLER)
        recorded = call.recording is not None and (folder / call.recording).exists()

    # The citizen hung up themselves, after talking to the operator: nothing cut the call short.
    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
    assert call.outcome == CallOutcome.ANSWERED and call.operator_extension == OPERATOR_1.extension
    assert not recorded or backend.services.web.recordings.duration_seconds(str(call.recording)) == 0
    assert value(samples(await scrape(backend.url)), "pasokh_recordings_writable") == 1  # room again
