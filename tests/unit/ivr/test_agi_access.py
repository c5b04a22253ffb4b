"""Who may run our FastAGI flows: over a raw TCP socket, the test plays Asterisk (or an intruder). Beyond
loopback a session needs the shared secret in its URL; the verification route asks and records only for an
automatic call still under way."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest
import sqlalchemy as sa

from asterisk_config.render import render_config
from callcenter.platform.bus import InProcessBus
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.metrics import Metrics
from callcenter.platform.notifier import Notifier
from callcenter.platform.service_hours import parse_service_hours
from callcenter.platform.settings import load_settings
from callcenter.telephony.asterisk_sandbox import AsteriskRuntime
from callcenter.verification.dialer import VerificationDialer
from callcenter.verification.tasks import CallingPolicy
from db.engine import unit_of_work
from db.models import VerificationAttempt, VerificationMode, VerificationTask, VerificationTaskStatus
from ivr.agi_server import AgiChannel, AgiServer
from ivr.menu import Menu, Prompts
from ivr.verification_call import VerificationCall
from tests.support.backend import free_port
from tests.unit.callcenter.verification.test_verification_dialer import ScriptedAsterisk, tasks_reported_done
from tests.unit.ivr.test_agi_server import agi_header, read_line, read_to_eof

SECRET = "agi-shared-secret-0123456789abcdef"
SOUNDS = PurePosixPath("/sounds/fa")


async def serve(server: AgiServer) -> int:
    port = free_port()
    await server.start("127.0.0.1", port)
    return port


async def test_given_a_secret_when_a_session_has_none_or_a_wrong_one_then_hung_up_and_no_flow_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def flow(channel: AgiChannel) -> None:
        ran.append(channel.caller_number)
        await channel.command("ANSWER")

    server = AgiServer(metrics=Metrics(), secret=SECRET)
    server.add_route("line137", flow)
    port = await serve(server)
    try:
        with caplog.at_level(logging.WARNING, logger="ivr.agi_server"):
            for script in ("line137", "line137?secret=guess", f"line137?secret={SECRET[:-1]}",
                           f"line137?lang=fa&secret={SECRET}x"):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(agi_header(script))
                await writer.drain()
                assert await read_to_eof(reader) == b""  # hung up without a single AGI command
                writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(agi_header(f"line137?secret={SECRET}"))
        await writer.drain()
        assert await read_line(reader) == b"ANSWER\n"
        writer.write(b"200 result=0\n")
        await writer.drain()
        assert await read_to_eof(reader) == b""
        writer.close()
    finally:
        await server.stop()
    assert ran == ["09121111111"]  # only the session with the secret
    refusals = [r.getMessage() for r in caplog.records if "without the shared secret refused" in r.getMessage()]
    assert len(refusals) == 4 and not any(SECRET in message for message in refusals)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "asterisk.internal", "::"])
def test_given_fastagi_beyond_loopback_without_a_secret_when_loading_settings_then_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match="PASOKH_AGI_SECRET"):
        load_settings(environ={"PASOKH_AGI_HOST": host})
    assert load_settings(environ={"PASOKH_AGI_HOST": host, "PASOKH_AGI_SECRET": SECRET}).agi_secret == SECRET


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_given_fastagi_on_loopback_when_loading_settings_then_no_secret_needed(host: str) -> None:
    assert load_settings(environ={"PASOKH_AGI_HOST": host}).agi_secret is None


def test_given_a_short_or_unsafe_secret_when_loading_settings_then_refused() -> None:
    for bad in ("short", "a" * 30 + ",Hangup()", "a" * 30 + "\n"):
        with pytest.raises(ValueError):
            load_settings(environ={"PASOKH_AGI_HOST": "0.0.0.0", "PASOKH_AGI_SECRET": bad})


def test_given_a_secret_when_rendering_the_dialplan_then_every_agi_url_carries_it_and_only_then(
    tmp_path: Path,
) -> None:
    runtime = AsteriskRuntime(root=tmp_path / "root", instance_dir=PurePosixPath("/pasokh/i"))
    with_secret = load_settings(environ={"PASOKH_AGI_HOST": "10.0.0.5", "PASOKH_AGI_SECRET": SECRET},
                                state_dir=tmp_path)
    text = (render_config(settings=with_secret, runtime=runtime, phones=[]) / "extensions.conf").read_text()
    urls = [line for line in text.splitlines() if "AGI(agi://" in line]
    assert len(urls) == 3 and all(f"?secret={SECRET})" in line for line in urls)
    plain = load_settings(environ={}, state_dir=tmp_path)
    text = (render_config(settings=plain, runtime=runtime, phones=[]) / "extensions.conf").read_text()
    assert "secret=" not in text


@pytest.fixture
async def verification_agi(engine: sa.Engine) -> AsyncIterator[tuple[int, VerificationDialer]]:
    policy = CallingPolicy(hours=parse_service_hours("24/7"), max_attempts=3, retry_after=timedelta(hours=1))
    dialer = VerificationDialer(engine=engine, ami=ScriptedAsterisk(), notifier=Notifier(bus=InProcessBus()),
                                policy=policy, max_outbound=2, max_lines=30, ring_seconds=20)
    server = AgiServer(metrics=Metrics())
    VerificationCall(menu=Menu(Prompts(sounds_dir=SOUNDS)), answers=dialer).register(server)
    port = await serve(server)
    yield port, dialer
    await server.stop()


async def agi_session_for_attempt(port: int, attempt_id: int, *, press: str | None = "1") -> list[str]:
    """Play Asterisk for the verification route: answer the variable, answer each prompt (with ``press`` on the
    question); returns the AGI commands the server sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(agi_header("verification", agi_context="pasokh-verify-automatic"))
    await writer.drain()
    commands: list[str] = []
    while line := (await read_line(reader)).decode().strip():
        commands.append(line)
        if line.startswith("GET FULL VARIABLE"):
            writer.write(f"200 result=1 ({attempt_id})\n".encode())
        elif "verify_question" in line and press:
            writer.write(f"200 result={ord(press)} endpos=100\n".encode())
        else:
            writer.write(b"200 result=0 endpos=100\n")
        await writer.drain()
    writer.close()
    return commands


def first_attempt(engine: sa.Engine, task_id: int) -> VerificationAttempt:
    with unit_of_work(engine) as session:
        task = session.get(VerificationTask, task_id)
        attempt = session.exec(sa.select(VerificationAttempt).where(  # type: ignore[call-overload]
            VerificationAttempt.task_id == task_id)).scalars().first()
        assert task is not None and attempt is not None
        session.expunge(attempt)
        return attempt


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", ["manual", "finished", "not-the-latest", "unknown"])
async def test_given_an_attempt_that_is_not_a_live_automatic_call_when_fastagi_is_asked_then_nothing_asked_or_recorded(
    case: str, engine: sa.Engine, verification_agi: tuple[int, VerificationDialer],
) -> None:
    port, _dialer = verification_agi
    supervisor, [task_id] = tasks_reported_done(engine, 1)
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:  # the task is being called; its attempt is shaped by the case
        task = session.get(VerificationTask, task_id)
        assert task is not None and supervisor.id is not None
        task.status = VerificationTaskStatus.CALLING
        mode = VerificationMode.MANUAL if case == "manual" else VerificationMode.AUTOMATIC
        attempt = VerificationAttempt(task_id=task_id, mode=mode, placed_by_id=supervisor.id, started_at=now,
                                      ended_at=now if case == "finished" else None)
        session.add(task)
        session.add(attempt)
        if case == "not-the-latest":
            session.flush()
            session.add(VerificationAttempt(task_id=task_id, mode=mode, placed_by_id=supervisor.id, started_at=now))
        session.commit()
        attempt_id = (attempt.id or 0) + (1000 if case == "unknown" else 0)

    commands = await agi_session_for_attempt(port, attempt_id)

    assert commands[0] == 'GET FULL VARIABLE "${PASOKH_VERIFY_ATTEMPT}"'
    assert commands[1:] == [f'STREAM FILE "{SOUNDS}/goodbye" ""']  # no greeting, no question
    with unit_of_work(engine) as session:
        task = session.get(VerificationTask, task_id)
        assert task is not None and task.status == VerificationTaskStatus.CALLING
        assert all(a.key_pressed is None and a.outcome is None
                   for a in session.exec(sa.select(VerificationAttempt)).scalars())  # type: ignore[call-overload]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_given_a_live_automatic_attempt_when_the_citizen_presses_1_then_recorded_once(
    engine: sa.Engine, verification_agi: tuple[int, VerificationDialer],
) -> None:
    port, dialer = verification_agi
    supervisor, [task_id] = tasks_reported_done(engine, 1)
    await dialer.ask_automatic(task_ids=[task_id], by=supervisor)
    assert await dialer.dial_due(datetime.now(UTC) + timedelta(seconds=1)) == 1
    attempt = first_attempt(engine, task_id)

    commands = await agi_session_for_attempt(port, attempt.id or 0)

    assert any("verify_question" in c for c in commands) and any("verify_thanks_resolved" in c for c in commands)
    with unit_of_work(engine) as session:
        task = session.get(VerificationTask, task_id)
        assert task is not None and task.status == VerificationTaskStatus.DONE
    # The same attempt, asked about again (a replayed session), is finished: nothing more is asked.
    again = await agi_session_for_attempt(port, attempt.id or 0)
    assert again[1:] == [f'STREAM FILE "{SOUNDS}/goodbye" ""']
