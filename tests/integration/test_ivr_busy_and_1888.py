"""When no operator can answer, and the 1888 menu: real calls (sipp, RFC 4733 DTMF, spoken audio) into real
Asterisk; what the citizen reached is read from Asterisk's AGI events, the database and the recording itself."""

from __future__ import annotations

import asyncio
import json
import logging
import wave
from array import array
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import jdatetime
import pytest
import websockets
from sqlmodel import Session, select

from callcenter.intake.routing import RoutingPolicy
from callcenter.platform.calendar import TEHRAN
from callcenter.platform.service_hours import parse_service_hours
from db.models import Call, CallbackRequest, CallOutcome, FeedbackKind, SmsMessage, Ticket, TicketSource
from ivr.operator_access import OperatorAccess
from ivr.speech import say_number, say_tracking_code
from tests.support.ami import AmiObserver, contains_run, heard, queued
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.console import logged_in_client, next_event, operator_in_queue
from tests.support.dtmf_pcap import Keys, Silence, Speech, Step, speech_wav, wav_seconds
from tests.support.sipp import Sipp

# Menu behaviour does not depend on the database kind; these long calls run once, on SQLite.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PROBLEM = "سلام. چراغ‌های خیابان نادری از دیشب خاموش است. لطفاً رسیدگی کنید."


@pytest.fixture(scope="module")
def spoken_problem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_wav(PROBLEM, tmp_path_factory.mktemp("speech") / "problem.wav")


def loudness(path: Path) -> float:
    """RMS of the 16-bit samples: a recording of our speech is far from silence."""
    with wave.open(str(path), "rb") as audio:
        samples = array("h", audio.readframes(audio.getnframes()))
    return (sum(s * s for s in samples) / max(1, len(samples))) ** 0.5


def tickets_with_recordings(backend: RunningBackend) -> list[Ticket]:
    with Session(backend.engine) as session:
        return list(session.exec(select(Ticket).where(Ticket.source == TicketSource.VOICE_MESSAGE)).all())


async def test_given_no_operator_when_137_caller_asks_for_one_and_presses_1_then_a_callback_in_turn(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver
) -> None:
    caller = "09171000001"
    result = await sipp.citizen_calls(caller=caller, script=[Keys("1"), Silence(2500), Keys("1")],
                                      hold_ms=40000, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    assert played[:2] == ["welcome_137", "no_operator_available"], played  # 1 pressed as the options begin
    assert contains_run(played, ["callback_registered", *say_number(1), "callback_in_turn", "goodbye"]), played
    assert not queued(ami_observer, caller)
    await asyncio.sleep(0.5)
    with Session(backend.engine) as session:
        [callback] = session.exec(select(CallbackRequest)).all()
        call = session.exec(select(Call).where(Call.caller_number == caller)).one()
        assert (callback.caller_number, callback.line, callback.call_id) == (caller, "137", call.id)
        assert callback.waiting_since == call.started_at  # their turn is when they called
        assert call.outcome == CallOutcome.CALLBACK
    client = await logged_in_client(backend.url, OPERATOR_1.username, OPERATOR_1.password)
    listed = (await client.get("/api/callbacks")).json()
    await client.aclose()
    assert [c["caller_number"] for c in listed] == [caller]


async def test_given_no_operator_when_caller_leaves_a_spoken_message_then_ticket_with_audio_and_code_read_back(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, spoken_problem: Path
) -> None:
    caller = "09171000002"
    # 1 for a new request; 2 for a message once the options play; speak after the prompt and the beep; # ends.
    script: list[Step] = [Keys("1"), Silence(2500), Keys("2"), Silence(8000), Speech(spoken_problem), Keys("#")]
    result = await sipp.citizen_calls(caller=caller, script=script, hold_ms=60000, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    [ticket] = tickets_with_recordings(backend)
    played = heard(ami_observer, caller)
    assert contains_run(played, ["message_recorded", *say_tracking_code(ticket.tracking_code), "goodbye"]), played
    assert ticket.caller_number == caller and ticket.line == "137" and ticket.category_id is None
    audio = backend.services.web.recordings.host_file(ticket.recording or "")
    assert 1.5 < wav_seconds(audio) < wav_seconds(spoken_problem) + 3
    assert loudness(audio) > 300, "the recording should hold the caller's speech, not silence"
    with Session(backend.engine) as session:
        sms = session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).one()
        assert sms.to_number == caller

    # An operator plays it from the console: the list shows it and the file comes back as WAV.
    client = await logged_in_client(backend.url, OPERATOR_1.username, OPERATOR_1.password)
    listed = (await client.get("/api/voice-messages")).json()
    response = await client.get(f"/api/tickets/{ticket.tracking_code}/recording")
    await client.aclose()
    assert [t["tracking_code"] for t in listed] == [ticket.tracking_code] and listed[0]["has_recording"]
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert response.content == audio.read_bytes()


async def test_given_a_caller_who_hangs_up_while_speaking_then_the_message_is_kept_and_its_code_goes_by_sms(
    backend: RunningBackend, sipp: Sipp, spoken_problem: Path
) -> None:
    caller = "09171000003"
    script: list[Step] = [Keys("1"), Silence(2500), Keys("2"), Silence(8000), Speech(spoken_problem)]
    listen_ms = 2500 + 2900 + 8000 + int(wav_seconds(spoken_problem) * 1000) + 500  # then the citizen hangs up
    result = await sipp.citizen_calls(caller=caller, script=script, hold_ms=listen_ms, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    await asyncio.sleep(1.0)
    [ticket] = tickets_with_recordings(backend)
    assert ticket.caller_number == caller
    assert wav_seconds(backend.services.web.recordings.host_file(ticket.recording or "")) > 1.0
    with Session(backend.engine) as session:
        assert session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).one().to_number == caller


async def test_given_an_operator_when_1888_caller_chooses_suggestion_and_a_personnel_code_then_the_pop_shows_them(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, operator_phones: object
) -> None:
    caller = "09171000004"
    # 2 suggestion (interrupting the welcome); code 4711 then #; 2: not anonymous.
    script: list[Step] = [Keys("2"), Silence(2000), Keys("4711#"), Silence(2500), Keys("2")]
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password,
                                 queue="line1888") as client:
        cookie = f"pasokh_session={client.cookies['pasokh_session']}"
        async with websockets.connect(backend.ws_url, additional_headers={"Cookie": cookie}) as ws:
            assert json.loads(await ws.recv())["name"] == "hello"
            citizen = asyncio.create_task(sipp.citizen_calls(number="1888", caller=caller, script=script,
                                                             hold_ms=30000, local_port=CITIZENS_PORT))
            pop = await next_event(ws, "call_connected", timeout=60)
            result = await citizen

    assert result.failed == 0, result.output[-2000:]
    assert heard(ami_observer, caller)[:4] == ["welcome_1888", "enter_personnel_code", "anonymity_1888",
                                               "connecting_to_operator"]
    call = pop["data"]["call"]
    assert (call["line"], call["feedback_kind"], call["personnel_code"], call["anonymous"]) == (
        "1888", "suggestion", "4711", False)
    assert call["caller_number"] == caller


async def test_given_no_operator_when_anonymous_1888_caller_leaves_criticism_then_no_number_is_kept(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, spoken_problem: Path
) -> None:
    caller = "09171000005"
    # 1 criticism; # skips the code; 1 anonymous; 2 for a message (no callback offered to the anonymous).
    script: list[Step] = [Keys("1"), Silence(2000), Keys("#"), Silence(2500), Keys("1"), Silence(3000), Keys("2"),
              Silence(8000), Speech(spoken_problem), Keys("#")]
    result = await sipp.citizen_calls(number="1888", caller=caller, script=script, hold_ms=60000,
                                      local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    assert "option_callback" not in played
    [ticket] = tickets_with_recordings(backend)
    assert contains_run(played, ["message_recorded", *say_tracking_code(ticket.tracking_code)]), played
    assert (ticket.line, ticket.feedback_kind, ticket.anonymous) == ("1888", FeedbackKind.CRITICISM, True)
    assert ticket.caller_number is None and ticket.call_id is None
    with Session(backend.engine) as session:
        assert session.exec(select(Call).where(Call.caller_number == caller)).first() is None
        assert session.exec(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)).first() is None


@pytest.fixture
def routing(backend: RunningBackend) -> Iterator[OperatorAccess]:
    """The backend's own operator-access step; a test may give it other hours or a wait limit, restored after."""
    operators = backend.services.telephony.flows.operators
    original = operators.routing
    yield operators
    operators.routing = original


async def test_given_today_is_a_listed_holiday_when_137_caller_asks_for_an_operator_then_closed_and_options(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, routing: OperatorAccess, operator_phones: object
) -> None:
    today = jdatetime.date.fromgregorian(date=datetime.now(TEHRAN).date())
    routing.routing = RoutingPolicy(hours=parse_service_hours("sat-fri 00:00-24:00", holidays=[today]),
                                    max_wait_seconds=120)
    caller = "09171000006"
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        result = await sipp.citizen_calls(caller=caller, script=[Keys("1"), Silence(3000), Keys("1")],
                                          hold_ms=30000, local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    played = heard(ami_observer, caller)
    assert played[:2] == ["welcome_137", "closed_now"], played  # even with an operator logged in
    assert "callback_registered" in played and not queued(ami_observer, caller)


async def test_given_the_only_operator_busy_and_a_short_wait_limit_when_a_second_caller_comes_then_long_wait(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, routing: OperatorAccess, operator_phones: object
) -> None:
    # One operator, on a call: the next caller's estimate is one average hold (60 s assumed with no history yet).
    routing.routing = RoutingPolicy(hours=routing.routing.hours, max_wait_seconds=30)
    first, second = "09171000007", "09171000008"
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password):
        talking = asyncio.create_task(sipp.citizen_calls(caller=first, digits="0", hold_ms=25000,
                                                         local_port=CITIZENS_PORT))
        await ami_observer.wait_for(lambda e: e.get("Event") == "AgentConnect", timeout=30)
        waiting = await sipp.citizen_calls(caller=second, script=[Keys("0"), Silence(3000), Keys("3")],
                                           hold_ms=12000, local_port=CITIZENS_PORT + 5)  # its own SIP and RTP ports
        assert (await talking).failed == 0

    assert waiting.failed == 0, waiting.output[-2000:]
    played = heard(ami_observer, second)
    assert played[:2] == ["welcome_137", "long_wait"], played
    assert queued(ami_observer, second)  # 3: the caller chose to wait after all


async def test_given_a_1888_caller_who_hangs_up_mid_menu_then_no_error_no_session_left_and_the_call_closed(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, caplog: pytest.LogCaptureFixture
) -> None:
    caller = "09171000009"
    caplog.set_level(logging.WARNING)
    # 1 criticism, then gone while the personnel-code prompt plays.
    result = await sipp.citizen_calls(number="1888", caller=caller, digits="1", hold_ms=4000,
                                      local_port=CITIZENS_PORT)

    assert result.failed == 0, result.output[-2000:]
    await asyncio.sleep(1.0)
    assert "enter_personnel_code" in heard(ami_observer, caller)
    assert backend.services.telephony.agi.active_sessions == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    with Session(backend.engine) as session:
        call = session.exec(select(Call).where(Call.caller_number == caller)).one()
        assert call.outcome == CallOutcome.IVR_ONLY and call.ended_at is not None


async def test_given_the_only_operator_paused_for_a_break_when_137_caller_asks_for_one_then_not_rung_but_offered(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, operator_phones: object
) -> None:
    caller = "09171000010"
    async with operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password) as client:
        cookie = f"pasokh_session={client.cookies['pasokh_session']}"
        async with websockets.connect(backend.ws_url, additional_headers={"Cookie": cookie}) as ws:
            paused = await client.post("/api/queue/pause", json={"queue": "line137", "reason": "training"})
            state = await next_event(ws, "agent_state")
            while state["data"]["state"] != "paused":
                state = await next_event(ws, "agent_state")
            me = (await client.get("/api/me")).json()
            result = await sipp.citizen_calls(caller=caller, script=[Keys("1"), Silence(3000), Keys("1")],
                                              hold_ms=30000, local_port=CITIZENS_PORT)
            resumed = await client.post("/api/queue/resume", json={"queue": "line137"})
            state = await next_event(ws, "agent_state")

    assert paused.status_code == resumed.status_code == 204
    assert [(q["queue"], q["state"], q["reason"]) for q in me["queues"]] == [("line137", "paused", "training")]
    assert result.failed == 0, result.output[-2000:]
    assert heard(ami_observer, caller)[:2] == ["welcome_137", "no_operator_available"]
    assert not ami_observer.matching(lambda e: e.get("Event") == "AgentCalled")
    assert {k: state["data"][k] for k in ("extension", "queue", "state", "reason")} == {
        "extension": OPERATOR_1.extension, "queue": "line137", "state": "ready", "reason": None}
    assert state["data"]["since"]  # when they became ready, for the time in state
