"""Property-based fuzzing of the FastAGI server on a real loopback socket: whatever bytes arrive (garbage,
truncated or huge headers, non-UTF-8, answers that are not AGI, an early EOF), the server closes the connection,
leaves no session or task behind and raises nothing it does not document.

A deeper run: PASOKH_FUZZ_EXAMPLES=2000 (examples per property)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callcenter.platform.metrics import Metrics
from ivr.agi_server import MAX_HEADER_BYTES, AgiChannel, AgiCommandFailed, AgiServer
from tests.support.hypothesis_profiles import examples

EXAMPLES = int(os.environ.get("PASOKH_FUZZ_EXAMPLES", examples(150)))
CLOSE_SECONDS = 2.0
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HEADER_NAMES = st.sampled_from(["agi_network_script", "agi_callerid", "agi_uniqueid", "agi_channel", "agi_x", "x"])
HEADER_LINE = st.one_of(
    st.builds(lambda name, value: f"{name}: {value}\n".encode(), HEADER_NAMES, st.text(max_size=40)),
    st.binary(max_size=60),
)
# What Asterisk would answer to a command, and what it never would.
ANSWER = st.one_of(
    st.sampled_from([b"200 result=1\n", b"200 result=0 (timeout)\n", b"HANGUP\n", b"510 Invalid\n",
                     b"520-Invalid command syntax.\n", b"200 result=-1\n", b"\n"]),
    st.binary(max_size=80),
)


async def _fuzz_route(channel: AgiChannel) -> None:
    """A flow that asks three things, so the command/answer parser meets the fuzzed answers."""
    for _ in range(3):
        await channel.command("GET VARIABLE", "PASOKH_X")


class Harness:
    """One FastAGI server on a loopback port for the whole property, in its own event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = AgiServer(metrics=Metrics())
        self.server.add_route("fuzz", _fuzz_route)
        self.loop.run_until_complete(self.server.start("127.0.0.1", 0))
        assert self.server._server is not None
        self.port = self.server._server.sockets[0].getsockname()[1]

    def session(self, data: bytes, *, send_eof: bool) -> None:
        self.loop.run_until_complete(self._session(data, send_eof=send_eof))

    async def _session(self, data: bytes, *, send_eof: bool) -> None:
        tasks_before = len(asyncio.all_tasks())
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(data)
            await writer.drain()
            if send_eof:
                writer.write_eof()
            # The server must close its side: read to EOF (anything it wrote before is fine).
            await asyncio.wait_for(_read_to_eof(reader), CLOSE_SECONDS)
        except ConnectionError:
            pass  # the server closed with our bytes unread: closed all the same
        finally:
            writer.close()
            await writer.wait_closed()
        for _ in range(100):  # the session task ends right after it closed the socket
            if self.server.active_sessions == 0 and len(asyncio.all_tasks()) <= tasks_before:
                break
            await asyncio.sleep(0.01)
        assert self.server.active_sessions == 0
        assert len(asyncio.all_tasks()) <= tasks_before

    def close(self) -> None:
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()


async def _read_to_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def _no_undocumented_failure(caplog: pytest.LogCaptureFixture) -> None:
    """The server logs a route's exception with its traceback: only the documented one may appear (Asterisk
    refused a command, which a fuzzed answer may well say)."""
    crashes = [record for record in caplog.records
               if record.exc_info is not None and not isinstance(record.exc_info[1], AgiCommandFailed)]
    assert not crashes, crashes[0].getMessage() + "\n" + logging.Formatter().formatException(crashes[0].exc_info)


@FUZZ
@given(data=st.binary(max_size=2048), send_eof=st.booleans())
@example(data=b"", send_eof=True)  # connect and hang up at once (panoramisk spun on this)
@example(data=b"agi_network_script: fuzz\n", send_eof=True)  # EOF inside the header
@example(data=b"agi_network_script: fuzz\n\n", send_eof=True)  # EOF before the first answer
def test_given_any_bytes_when_sent_as_a_fastagi_request_then_closed_cleanly(
    harness: Harness, caplog: pytest.LogCaptureFixture, data: bytes, send_eof: bool
) -> None:
    caplog.clear()
    harness.session(data, send_eof=send_eof or not data.endswith(b"\n\n"))
    _no_undocumented_failure(caplog)


@FUZZ
@given(headers=st.lists(HEADER_LINE, max_size=8), answers=st.lists(ANSWER, max_size=4))
@example(headers=[], answers=[b"\xff\xfe not utf-8\n"])
@example(headers=[], answers=[b"2" * 70_000 + b"\n"])  # an answer longer than the stream's line limit
@example(headers=[], answers=[b"x200 result=5\n"])  # no leading code: panoramisk int("") raised
def test_given_a_valid_request_when_asterisk_answers_anything_then_the_flow_ends_cleanly(
    harness: Harness, caplog: pytest.LogCaptureFixture, headers: list[bytes], answers: list[bytes]
) -> None:
    caplog.clear()
    request = b"agi_network_script: fuzz\n" + b"".join(headers) + b"\n"
    harness.session(request + b"".join(answers), send_eof=True)
    _no_undocumented_failure(caplog)


def test_given_a_header_larger_than_the_limit_when_sent_then_closed_without_reading_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.session(b"agi_network_script: fuzz\nagi_x: " + b"x" * (MAX_HEADER_BYTES * 8) + b"\n\n", send_eof=False)
    _no_undocumented_failure(caplog)
