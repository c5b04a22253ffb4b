"""A local HTTP server that answers like Kavenegar's send.json, and one that never answers (tests only)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

GOOD_KEY = "good-api-key-0123456789"
NO_CREDIT_KEY = "no-credit-key"
INVALID_KEY = "invalid-key"
HTML_KEY = "html-answer-key"
FIRST_MESSAGE_ID = 8792343

# (HTTP status, "return" object) per API key, as Kavenegar answers: the JSON status mirrors the HTTP one.
_REFUSALS = {
    NO_CREDIT_KEY: (418, {"status": 418, "message": "اعتبار حساب شما کافی نیست"}),
    INVALID_KEY: (403, {"status": 403, "message": "کد شناسائی API-Key معتبر نمی‌باشد"}),
}


@dataclass
class ReceivedRequest:
    method: str
    path: str
    content_type: str
    form: dict[str, str]


@dataclass
class FakeKavenegar:
    base_url: str
    requests: list[ReceivedRequest] = field(default_factory=list)

    def sent_to(self, receptor: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.form.get("receptor") == receptor]


def _handler(state: FakeKavenegar) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            form = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
            state.requests.append(ReceivedRequest("POST", self.path, self.headers.get("Content-Type", ""), form))
            parts = self.path.strip("/").split("/")  # v1/<key>/sms/send.json
            key = parts[1] if len(parts) == 4 and parts[0] == "v1" and parts[2:] == ["sms", "send.json"] else ""
            if key == GOOD_KEY:
                entry = {"messageid": FIRST_MESSAGE_ID + len(state.requests) - 1, "message": form.get("message"),
                         "status": 1, "statustext": "در صف ارسال", "sender": form.get("sender", "10004346"),
                         "receptor": form.get("receptor"), "date": 1356619709, "cost": 120}
                self._json(200, {"return": {"status": 200, "message": "تایید شد"}, "entries": [entry]})
            elif key in _REFUSALS:
                status, result = _REFUSALS[key]
                self._json(status, {"return": result, "entries": None})
            elif key == HTML_KEY:
                self._send(502, "text/html", b"<html><body>Bad Gateway</body></html>")
            else:
                self._json(404, {"return": {"status": 404, "message": "متد مورد نظر وجود ندارد"}, "entries": None})

        def _json(self, status: int, payload: object) -> None:
            self._send(status, "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            return

    return Handler


@contextmanager
def fake_kavenegar() -> Iterator[FakeKavenegar]:
    """Kavenegar's JSON answers on 127.0.0.1, in a thread; answers by API key (see the *_KEY constants)."""
    state = FakeKavenegar(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kavenegar",
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel does, from its backlog) and never answers; yields its URL."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
