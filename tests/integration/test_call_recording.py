"""Call recording end to end: a real sipp citizen talks to an operator through real Asterisk, MixMonitor records
the conversation, the call record links the file, supervisors (and nobody else) play it until the purge."""

from __future__ import annotations

import asyncio
import time
import wave
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from callcenter.telephony.recording_retention import purge_expired_call_recordings
from callcenter.telephony.recordings import RecordingStore
from db.models import Call, CallOutcome
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, SUPERVISOR, RunningBackend
from tests.support.console import logged_in_client, operator_in_queue
from tests.support.dtmf_pcap import Keys, Silence, Speech, Step, speech_wav, wav_seconds
from tests.support.sipp import Sipp

SAID = "سلام. آب لوله‌کشی خیابان حافظ از صبح قطع است. لطفاً پیگیری کنید."
KEYS_MS = 400  # Keys("1"): one digit
# The greeting and the menu play out (about 4.5 s after the key), the operator's phone rings and answers; then
# about 2.5 s to spare before the citizen speaks.
UNTIL_ANSWERED_MS = 7000
WINDOW = 800  # 100 ms of 8 kHz audio


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_wav(SAID, tmp_path_factory.mktemp("speech") / "said.wav")


def voiced_seconds(path: Path) -> float:
    """How long the file holds sound (100 ms windows with an RMS above 300); silence and comfort noise are not."""
    with wave.open(str(path), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        samples = array("h", audio.readframes(audio.getnframes()))
    loud = 0
    for start in range(0, len(samples) - WINDOW + 1, WINDOW):
        window = samples[start : start + WINDOW]
        loud += (sum(s * s for s in window) / WINDOW) ** 0.5 > 300
    return loud * WINDOW / 8000


async def finished_recorded_call(backend: RunningBackend, caller: str, *, timeout: float = 15) -> tuple[Call, Path]:
    """The caller's call once it ended and Asterisk closed its recording (the WAV's length is written at close)."""
    store = backend.services.web.recordings
    deadline = time.monotonic() + timeout
    while True:
        with Session(backend.engine) as session:
            call = session.exec(select(Call).where(Call.caller_number == caller)).first()
        recording = call.recording if call is not None and call.ended_at is not None else None
        if call is not None and recording is not None and store.duration_seconds(recording) > 0:
            return call, store.host_file(recording)
        assert time.monotonic() < deadline, f"no finished recording for {caller}: {call}"
        await asyncio.sleep(0.2)


async def test_given_an_operator_in_the_queue_when_a_citizen_talks_to_them_then_supervisors_can_play_the_call(
    backend: RunningBackend, sipp: Sipp, operator_phones: object, spoken: Path
) -> None:
    caller = "09171000011"
    # 1 (a new request) goes to the queue; the citizen speaks once the operator has answered, then hangs up.
    script: list[Step] = [Keys("1"), Silence(UNTIL_ANSWERED_MS), Speech(spoken)]
    said_ms = int(wav_seconds(spoken) * 1000)
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password) as operator:
        result = await sipp.citizen_calls(caller=caller, script=script, local_port=CITIZENS_PORT,
                                          hold_ms=KEYS_MS + UNTIL_ANSWERED_MS + said_ms + 1000)
        assert result.failed == 0 and result.successful == 1, result.output[-3000:]
        call, audio = await finished_recorded_call(backend, caller)
        refused = await operator.get(f"/api/calls/{call.id}/recording")

    assert call.outcome == CallOutcome.ANSWERED and call.operator_extension == OPERATOR_1.extension
    assert call.recording == RecordingStore.call_name(line="137", linkedid=call.linkedid)
    # From answer to hang-up only (b): none of the greeting or the menu, all of what the citizen said. (Nobody
    # sends audio before the speech or after it, so the file holds about the speech's length.)
    assert call.answered_at is not None and call.ended_at is not None
    bridged = (call.ended_at - call.answered_at).total_seconds()
    assert wav_seconds(spoken) - 0.2 < wav_seconds(audio) < bridged + 0.5
    assert voiced_seconds(audio) > 0.9 * voiced_seconds(spoken), "the citizen's speech should be in the recording"
    assert refused.status_code == 403 and refused.json()["error_id"] == "permission-denied"

    supervisor = await logged_in_client(backend.url, SUPERVISOR.username, SUPERVISOR.password)
    try:
        played = await supervisor.get(f"/api/calls/{call.id}/recording")
        assert played.status_code == 200 and played.headers["content-type"] == "audio/wav"
        assert played.headers["content-disposition"].startswith("inline")
        assert played.content == audio.read_bytes()

        # Past the retention period the file and the link are gone, and the supervisor is told so in Persian.
        purge_expired_call_recordings(engine=backend.engine, store=backend.services.web.recordings,
                                      older_than=datetime.now(UTC) + timedelta(seconds=1))
        gone = await supervisor.get(f"/api/calls/{call.id}/recording")
    finally:
        await supervisor.aclose()
    assert not audio.exists()
    assert gone.status_code == 404 and gone.json()["message"] == "این تماس صدای ضبط‌شده ندارد."
