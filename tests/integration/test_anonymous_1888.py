"""Anonymous means anonymous: a real 1888 caller (sipp into real Asterisk) who chooses anonymity reaches the
operator's and the supervisor's phones, Asterisk's logs, our logs and the consoles without their number."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlmodel import Session, select

from callcenter.telephony.asterisk_sandbox import runtime_for
from db.models import Call, CallOutcome, FeedbackKind
from tests.support.ami import AmiObserver, callers_channels, heard, queued
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, PHONES_PORT, SUPERVISOR, RunningBackend
from tests.support.console import logged_in_client, operator_in_queue
from tests.support.dtmf_pcap import Keys, Silence, Step
from tests.support.sipp import Sipp, SippResult, received_requests

pytestmark = [pytest.mark.asterisk, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

# 1 criticism; # skips the personnel code; 1: anonymous.
CHOOSES_ANONYMITY: list[Step] = [Keys("1"), Silence(2000), Keys("#"), Silence(2500), Keys("1")]
IDENTITY_HEADERS = ("From", "P-Asserted-Identity", "Remote-Party-ID", "Contact")
OUR_PACKAGES = ("ivr", "callcenter", "agent_console")


class ConsoleListener:
    """A console's websocket, every message it receives kept as the raw text that arrived."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def named(self, name: str) -> list[dict[str, Any]]:
        return [m for m in map(json.loads, self.texts) if m["name"] == name]

    async def wait_for(self, name: str, timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while not self.named(name):
                await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def listening(backend: RunningBackend, cookie: str) -> AsyncIterator[ConsoleListener]:
    listener = ConsoleListener()
    async with websockets.connect(backend.ws_url, additional_headers={"Cookie": cookie}) as ws:
        listener.texts.append(str(await ws.recv()))  # hello: connected before the call starts

        async def read() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for text in ws:
                    listener.texts.append(str(text))

        reader = asyncio.create_task(read())
        try:
            yield listener
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def session_cookie(client: httpx.AsyncClient) -> str:
    return f"pasokh_session={client.cookies['pasokh_session']}"


def asterisk_files(backend: RunningBackend) -> dict[str, bytes]:
    """Everything the Asterisk instance wrote (logs incl. queue_log and any CDR/CEL, spool, its database,
    recordings), by path and content; its configuration (etc) and sounds aside."""
    runtime = runtime_for(backend.settings)
    instance = runtime.host_path(runtime.instance_dir)
    return {str(path.relative_to(instance)): path.read_bytes() for path in sorted(instance.rglob("*"))
            if path.is_file() and path.relative_to(instance).parts[0] not in ("etc", "sounds")}


def written_since(before: dict[str, bytes], after: dict[str, bytes]) -> dict[str, bytes]:
    """What was written between two looks (the instance's files outlive a test run): the appended part of a log,
    the whole of a new or rewritten file."""
    def new_part(name: str, content: bytes) -> bytes:
        old = before.get(name)
        return content[len(old):] if old is not None and content.startswith(old) else content

    return {name: new_part(name, content) for name, content in after.items() if content != before.get(name)}


def our_log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What our logging would write: INFO and up from everything (production's level), all of our own packages."""
    return [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
            if r.levelno >= logging.INFO or r.name.split(".")[0] in OUR_PACKAGES]


def header(message: str, name: str) -> str:
    found = re.search(rf"^{re.escape(name)}:\s*(.*)$", message, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else ""


async def test_given_an_anonymous_1888_caller_when_answered_and_transferred_then_no_phone_log_or_console_has_them(
    backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver, caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    citizen = "09135792468"  # digits that appear nowhere else
    invites_log = tmp_path / "phones-messages.log"
    phones = await sipp.start_phones(local_port=PHONES_PORT, message_log=invites_log)
    supervisor = await logged_in_client(backend.url, SUPERVISOR.username, SUPERVISOR.password)
    before = asterisk_files(backend)
    try:
        async with (
            operator_in_queue(backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password,
                              queue="line1888") as operator,
            listening(backend, session_cookie(supervisor)) as supervisors_console,
            listening(backend, session_cookie(operator)) as operators_console,
        ):
            call: asyncio.Task[SippResult] = asyncio.create_task(sipp.citizen_calls(
                number="1888", caller=citizen, script=CHOOSES_ANONYMITY, hold_ms=20_000, local_port=CITIZENS_PORT))
            await operators_console.wait_for("call_connected")
            moved = await operator.post("/api/call/transfer", json={"target": SUPERVISOR.extension})
            assert moved.status_code == 204, moved.text
            await ami_observer.wait_for(lambda e: e.get("Event") == "DialEnd" and e.get("DialStatus") == "ANSWER"
                                        and e.get("DestChannel", "").startswith(f"PJSIP/{SUPERVISOR.extension}-"))
            result = await call
            await supervisors_console.wait_for("call_ended", timeout=10)
    finally:
        await supervisor.aclose()
        phones.kill()
        await phones.wait()

    assert result.failed == 0, result.output[-3000:]
    assert heard(ami_observer, citizen)[:4] == ["welcome_1888", "enter_personnel_code", "anonymity_1888",
                                                "connecting_to_operator"]
    # The phones: the operator's (from the queue) and the supervisor's (the transfer) were called without the number.
    invites = received_requests(invites_log, "INVITE")
    called = sorted(invite.split(" ", 2)[1].removeprefix("sip:").split("@")[0] for invite in invites)
    assert called == [OPERATOR_1.extension, SUPERVISOR.extension], invites
    for invite in invites:
        assert "anonymous" in header(invite, "From").lower(), invite
        assert not [name for name in IDENTITY_HEADERS if citizen in header(invite, name)], invite
        assert citizen not in invite
    # Asterisk's files: queue_log's ENTERQUEUE line (caller ID at Queue() time), messages.log at verbose 3 (more
    # than production writes), no CDR or CEL, recordings' names and contents, its database.
    files = written_since(before, asterisk_files(backend))
    entered = [line for line in files["log/queue_log"].decode().splitlines() if "|line1888|" in line
               and "|ENTERQUEUE|" in line]
    assert entered and all("|anonymous|" in line for line in entered), entered
    assert "log/messages.log" in files and any(name.startswith("recordings/call-1888-") for name in files)
    assert not [name for name, content in files.items() if citizen in name or citizen.encode() in content]
    # Our own logs.
    assert our_log_lines(caplog) and not [line for line in our_log_lines(caplog) if citizen in line]
    # The consoles: the supervisor's saw the whole call, the operator's the screen pop; neither the number.
    for console in (supervisors_console, operators_console):
        assert console.named("call_started") and console.named("call_ended")
        assert not [text for text in console.texts if citizen in text]
    [pop] = operators_console.named("call_connected")
    assert pop["data"]["call"]["anonymous"] is True
    with Session(backend.engine) as session:
        [record] = session.exec(select(Call).where(Call.line == "1888")).all()
        assert (record.caller_number, record.anonymous, record.feedback_kind, record.outcome, record.transferred_to) \
            == ("", True, FeedbackKind.CRITICISM, CallOutcome.ANSWERED, SUPERVISOR.extension)


@pytest.mark.parametrize("operator_ready", [False, True], ids=["during-the-options", "while-connecting"])
async def test_given_a_1888_caller_who_chooses_anonymity_when_they_hang_up_before_the_queue_then_no_number_is_left(
    operator_ready: bool, backend: RunningBackend, sipp: Sipp, ami_observer: AmiObserver,
) -> None:
    citizen = "09135792469"
    supervisor = await logged_in_client(backend.url, SUPERVISOR.username, SUPERVISOR.password)
    phones = await sipp.start_phones(local_port=PHONES_PORT)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if operator_ready:  # then the caller hears "connecting", else why nobody can answer and the options
                await stack.enter_async_context(operator_in_queue(
                    backend.url, username=OPERATOR_1.username, password=OPERATOR_1.password, queue="line1888"))
            console = await stack.enter_async_context(listening(backend, session_cookie(supervisor)))
            # The last key is pressed 5.3 s into the script (Keys take 400 ms a digit); gone 0.7 s later, while the
            # next prompt plays.
            result = await sipp.citizen_calls(number="1888", caller=citizen, script=CHOOSES_ANONYMITY, hold_ms=6000,
                                              local_port=CITIZENS_PORT)
            await console.wait_for("call_ended", timeout=10)
    finally:
        await supervisor.aclose()
        phones.kill()
        await phones.wait()

    assert result.failed == 0, result.output[-3000:]
    next_prompt = "connecting_to_operator" if operator_ready else "no_operator_available"
    assert heard(ami_observer, citizen)[2:] == ["anonymity_1888", next_prompt]
    assert not queued(ami_observer, citizen) and callers_channels(ami_observer, citizen)
    with Session(backend.engine) as session:
        [record] = session.exec(select(Call).where(Call.line == "1888")).all()
        assert (record.caller_number, record.anonymous, record.outcome) == ("", True, CallOutcome.IVR_ONLY)
        assert record.ended_at is not None
    assert console.named("call_started") and not [text for text in console.texts if citizen in text]
