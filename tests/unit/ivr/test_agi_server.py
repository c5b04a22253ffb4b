"""The FastAGI server over a real TCP socket, with the test playing Asterisk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.platform.metrics import Metrics
from ivr.agi_server import AgiChannel, AgiCommandFailed, AgiServer, CallerHungUp, agi_quote
from tests.support.backend import free_port

WAIT_SECONDS = 5.0


def _unquote_like_asterisk(quoted: str) -> list[str]:
    """Split an AGI argument string the way Asterisk's parse_args does (quotes and backslash escapes)."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = escaped = False
    for char in quoted:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == " " and not in_quotes:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    return args


def test_given_double_quotes_when_quoting_an_agi_argument_then_they_are_escaped() -> None:
    assert agi_quote('say "hi"') == '"say \\"hi\\""'


def test_given_a_backslash_when_quoting_an_agi_argument_then_it_is_doubled() -> None:
    assert agi_quote("a\\b") == '"a\\\\b"'


def test_given_line_breaks_when_quoting_an_agi_argument_then_they_are_flattened_to_spaces() -> None:
    assert agi_quote("a\nb\r\nc") == '"a b  c"'


@given(st.text())
def test_given_any_text_when_quoted_then_asterisk_reads_back_one_argument_with_flattened_line_breaks(
    value: str,
) -> None:
    quoted = agi_quote(value)
    assert "\n" not in quoted and "\r" not in quoted
    assert _unquote_like_asterisk(quoted) == [value.replace("\r", " ").replace("\n", " ")]


def test_given_a_plain_function_when_adding_a_route_then_type_error_is_raised() -> None:
    server = AgiServer(metrics=Metrics())

    def not_async(channel: AgiChannel) -> None:
        return None

    with pytest.raises(TypeError):
        server.add_route("line137", not_async)  # type: ignore[arg-type]


def test_given_an_existing_route_when_adding_it_again_then_value_error_is_raised() -> None:
    server = AgiServer(metrics=Metrics())

    async def route(channel: AgiChannel) -> None:
        return None

    server.add_route("line137", route)
    with pytest.raises(ValueError):
        server.add_route("line137", route)


@dataclass
class Running:
    server: AgiServer
    port: int
    metrics: Metrics

    def sessions(self, route: str, result: str) -> float:
        value = self.metrics.registry.get_sample_value("pasokh_agi_sessions_total", {"route": route, "result": result})
        return value or 0.0


@pytest.fixture
async def agi() -> AsyncIterator[Running]:
    metrics = Metrics()
    server = AgiServer(metrics=metrics)
    port = free_port()
    await server.start("127.0.0.1", port)
    assert server.listening
    yield Running(server=server, port=port, metrics=metrics)
    await server.stop()


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for a condition that another task makes true."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not predicate():
            await asyncio.sleep(0.01)
    assert predicate(), what


def agi_header(script: str, **extra: str) -> bytes:
    headers = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1:4573/{script}",
        "agi_channel": "PJSIP/citizen-trunk-00000001",
        "agi_language": "fa",
        "agi_uniqueid": "1700000000.1",
        "agi_callerid": "09121111111",
        "agi_calleridname": "زهرا",
        "agi_context": "pasokh-inbound",
        "agi_extension": "137",
        **extra,
    }
    return ("".join(f"{key}: {value}\n" for key, value in headers.items()) + "\n").encode()


async def dial(port: int, payload: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    return reader, writer


async def read_line(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readline(), WAIT_SECONDS)


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), WAIT_SECONDS)


async def test_given_a_client_that_closes_before_the_header_when_served_then_nothing_fails_and_no_session_lingers(
    agi: Running, caplog: pytest.LogCaptureFixture
) -> None:
    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
    caplog.set_level(logging.WARNING, logger="ivr.agi_server")
    _reader, writer = await asyncio.open_connection("127.0.0.1", agi.port)
    writer.close()
    await writer.wait_closed()
    await until(lambda: any("incomplete request header" in r.message for r in caplog.records), "EOF was seen")
    await until(lambda: agi.server.active_sessions == 0, "the session ended")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert loop_errors == []


async def test_given_garbage_without_a_network_script_when_served_then_the_server_closes_the_connection(
    agi: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ivr.agi_server")
    reader, writer = await dial(agi.port, b"hello: world\nGET / HTTP/1.0\nagi_callerid: 0912\n\n")
    assert await read_to_eof(reader) == b""
    writer.close()
    await until(lambda: agi.server.active_sessions == 0, "the session ended")
    assert any("without agi_network_script" in r.message for r in caplog.records)


async def test_given_an_unknown_route_when_served_then_the_connection_is_closed_and_counted_as_no_route(
    agi: Running,
) -> None:
    reader, writer = await dial(agi.port, agi_header("nowhere"))
    assert await read_to_eof(reader) == b""
    writer.close()
    await until(lambda: agi.sessions("unknown", "no-route") == 1, "no-route counted")


async def test_given_a_route_that_streams_a_file_when_asterisk_answers_then_the_route_gets_the_digit_code(
    agi: Running,
) -> None:
    results: list[tuple[str, str]] = []
    seen: dict[str, str] = {}

    async def route(channel: AgiChannel) -> None:
        seen.update(caller=channel.caller_number, uniqueid=channel.uniqueid)
        results.append(await channel.command("STREAM FILE", "/x/y", "1"))

    agi.server.add_route("line137", route)
    reader, writer = await dial(agi.port, agi_header("line137?lang=fa"))
    assert await read_line(reader) == b'STREAM FILE "/x/y" "1"\n'
    writer.write(b"200 result=49 endpos=1000\n")
    await writer.drain()
    assert await read_to_eof(reader) == b""
    writer.close()
    assert results == [("49", "")]
    assert seen == {"caller": "09121111111", "uniqueid": "1700000000.1"}
    await until(lambda: agi.sessions("line137", "completed") == 1, "completion counted")
    await until(lambda: agi.server.active_sessions == 0, "the session ended")
    assert agi.metrics.agi_by_command["STREAM FILE"].count == 1
    assert agi.metrics.agi_command.count == 0  # media commands are the caller's time, kept out of it


async def test_given_asterisk_says_trying_first_when_a_command_runs_then_the_final_answer_is_returned(
    agi: Running,
) -> None:
    results: list[tuple[str, str]] = []

    async def route(channel: AgiChannel) -> None:
        results.append(await channel.command("GET DATA", "/snd/fa/press_1_for_operator", "5000", "1"))

    agi.server.add_route("line137", route)
    reader, writer = await dial(agi.port, agi_header("line137"))
    assert await read_line(reader) == b'GET DATA "/snd/fa/press_1_for_operator" "5000" "1"\n'
    writer.write(b"100 result=0 Trying...\n200 result=1\n")
    await writer.drain()
    assert await read_to_eof(reader) == b""
    writer.close()
    assert results == [("1", "")]


async def test_given_asterisk_refuses_a_command_when_a_route_sends_it_then_agi_command_failed_is_raised(
    agi: Running,
) -> None:
    raised: list[BaseException] = []

    async def route(channel: AgiChannel) -> None:
        try:
            await channel.command("NO SUCH COMMAND")
        except AgiCommandFailed as exc:
            raised.append(exc)
            raise

    agi.server.add_route("line137", route)
    reader, writer = await dial(agi.port, agi_header("line137"))
    assert await read_line(reader) == b"NO SUCH COMMAND\n"
    writer.write(b"510 Invalid or unknown command\n")
    await writer.drain()
    assert await read_to_eof(reader) == b""
    writer.close()
    assert len(raised) == 1
    await until(lambda: agi.sessions("line137", "error") == 1, "error counted")


@pytest.mark.parametrize("hang_up", ["HANGUP line", "result -1", "closed socket"])
async def test_given_the_caller_hangs_up_mid_route_when_served_then_caller_hung_up_ends_the_session_quietly(
    agi: Running, hang_up: str, caplog: pytest.LogCaptureFixture
) -> None:
    raised: list[BaseException] = []

    async def route(channel: AgiChannel) -> None:
        try:
            await channel.command("STREAM FILE", "/x/y", "")
        except CallerHungUp as exc:
            raised.append(exc)
            raise
        raise AssertionError("the flow must not go on after a hang-up")

    agi.server.add_route("line137", route)
    reader, writer = await dial(agi.port, agi_header("line137"))
    assert await read_line(reader) == b'STREAM FILE "/x/y" ""\n'
    if hang_up == "HANGUP line":
        writer.write(b"HANGUP\n")
    elif hang_up == "result -1":
        writer.write(b"200 result=-1\n")
    else:
        writer.close()
    await until(lambda: agi.sessions("line137", "hangup") == 1, "hang-up counted")
    await until(lambda: agi.server.active_sessions == 0, "the session ended")
    writer.close()
    assert [type(exc) for exc in raised] == [CallerHungUp]
    assert agi.sessions("line137", "error") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_given_a_route_that_raises_when_served_then_it_is_logged_the_socket_closed_and_serving_goes_on(
    agi: Running, caplog: pytest.LogCaptureFixture
) -> None:
    served: list[str] = []

    async def broken(channel: AgiChannel) -> None:
        raise RuntimeError("bug in a flow")

    async def healthy(channel: AgiChannel) -> None:
        served.append(channel.caller_number)

    agi.server.add_route("line137", broken)
    agi.server.add_route("line1888", healthy)
    caplog.set_level(logging.ERROR, logger="ivr.agi_server")

    reader, writer = await dial(agi.port, agi_header("line137"))
    assert await read_to_eof(reader) == b""
    writer.close()
    await until(lambda: agi.sessions("line137", "error") == 1, "error counted")
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and isinstance(failures[0].exc_info[1], RuntimeError)

    reader, writer = await dial(agi.port, agi_header("line1888", agi_callerid="09122222222"))
    assert await read_to_eof(reader) == b""
    writer.close()
    assert served == ["09122222222"]
    await until(lambda: agi.sessions("line1888", "completed") == 1, "next call served")
    assert agi.server.listening


async def test_given_a_session_in_flight_when_stopping_the_server_then_it_is_cancelled_and_no_task_is_left(
    agi: Running,
) -> None:
    started = asyncio.Event()
    route_tasks: list[asyncio.Task[object]] = []
    cancelled: list[bool] = []

    async def forever(channel: AgiChannel) -> None:
        task = asyncio.current_task()
        assert task is not None
        route_tasks.append(task)
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    agi.server.add_route("line137", forever)
    reader, writer = await dial(agi.port, agi_header("line137"))
    await asyncio.wait_for(started.wait(), WAIT_SECONDS)
    assert agi.server.active_sessions == 1

    await asyncio.wait_for(agi.server.stop(), WAIT_SECONDS)

    assert cancelled == [True]
    assert agi.server.active_sessions == 0
    assert not agi.server.listening
    assert route_tasks[0].done()
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    assert await read_to_eof(reader) == b""
    writer.close()


async def test_given_a_session_running_a_route_when_counted_then_it_is_in_flight_until_it_ends(agi: Running) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def held(channel: AgiChannel) -> None:
        started.set()
        await release.wait()

    async def idle(channel: AgiChannel) -> None:
        return None

    agi.server.add_route("line137", held)
    agi.server.add_route("line1888", idle)
    assert agi.server.sessions_in_flight() == {"line137": 0, "line1888": 0}
    # The error series exists at 0 before any error, so that an alert sees the first one as an increase.
    assert agi.metrics.registry.get_sample_value("pasokh_agi_sessions_total",
                                                 {"route": "line137", "result": "error"}) == 0
    _reader, writer = await dial(agi.port, agi_header("line137"))
    await asyncio.wait_for(started.wait(), WAIT_SECONDS)

    assert agi.server.sessions_in_flight() == {"line137": 1, "line1888": 0}
    release.set()
    await until(lambda: agi.sessions("line137", "completed") == 1, "the session ended")
    assert agi.server.sessions_in_flight() == {"line137": 0, "line1888": 0}
    writer.close()
