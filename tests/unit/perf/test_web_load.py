"""The bench's wrk driver against a small local HTTP server: the figures it reports are wrk's own."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.perf.public_site import lookups_script
from tests.perf.web_load import form_post_script, get_script, run_wrk, wrk_available

# `make deps` installs wrk; only outside CI may its absence skip these (CI must run them).
pytestmark = pytest.mark.skipif(not wrk_available() and os.environ.get("CI") != "true",
                                reason="wrk (Debian's package) is not installed")


class _Handler(BaseHTTPRequestHandler):
    """200 for GET /ok and for POSTs, 404 for anything else; remembers the POST bodies it saw."""

    bodies: ClassVar[list[bytes]] = []
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Handler.paths.append(self.path)
        self.send_response(200 if self.path.startswith("/ok") else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        _Handler.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_given_a_path_that_answers_when_loaded_then_requests_are_counted_without_errors(server_url: str) -> None:
    result = run_wrk("ok", server_url, get_script("/ok"), connections=4, seconds=1, threads=1)
    assert result.requests > 0 and result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms


def test_given_a_path_that_answers_404_when_loaded_then_every_answer_is_a_bad_status(server_url: str) -> None:
    result = run_wrk("missing", server_url, get_script("/missing"), connections=2, seconds=1, threads=1)
    assert result.requests > 0 and result.bad_status == result.requests


def test_given_rotating_paths_when_loaded_then_every_one_is_asked_for(server_url: str) -> None:
    _Handler.paths.clear()
    result = run_wrk("rotating", server_url, lookups_script(["/ok/1", "/ok/2", "/ok/3"]), connections=2, seconds=1,
                     threads=1)
    assert result.requests > 0 and result.errors == 0
    assert set(_Handler.paths) == {"/ok/1", "/ok/2", "/ok/3"}


def test_given_a_form_post_when_loaded_then_each_body_carries_its_own_counter(server_url: str) -> None:
    _Handler.bodies.clear()
    script = form_post_script("/post", body_lua='"request_id=bench-" .. thread_id .. "-" .. counter')
    result = run_wrk("posts", server_url, script, connections=2, seconds=1, threads=1)
    assert result.requests > 0 and result.errors == 0
    assert len(set(_Handler.bodies)) == len(_Handler.bodies) > 1
    assert all(body.startswith(b"request_id=bench-1-") for body in _Handler.bodies)
