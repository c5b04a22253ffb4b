"""FastAGI server on panoramisk, with its 1.4 bugs worked around (see docs/adr/0003-panoramisk-with-workarounds.md)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from panoramisk.fast_agi import Application, Request
from panoramisk.utils import parse_agi_result

from callcenter.platform.metrics import Metrics

log = logging.getLogger(__name__)

HEADER_TIMEOUT_SECONDS = 5.0
MAX_HEADER_BYTES = 16_384
# How a session of a route ends (pasokh_agi_sessions_total's result); and of one refused before any route.
ROUTE_RESULTS = ("completed", "hangup", "protocol-error", "error")
UNROUTED_RESULTS = ("refused", "no-route")


class CallerHungUp(Exception):
    """The channel went away (hang-up or closed socket): the flow must stop quietly."""


class AgiCommandFailed(Exception):
    """Asterisk refused a command (usage error, unknown command): a bug on our side."""


def agi_quote(value: str) -> str:
    """Quote one AGI argument. Asterisk's parser honours ``"`` and backslash; line breaks would end the command."""
    flat = value.replace("\r", " ").replace("\n", " ")
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiProtocolError(Exception):
    """What arrived is not an AGI answer (unparsable, or longer than any Asterisk sends): the session ends and the
    dialplan goes on."""


class AgiRequest(Request):
    """panoramisk's Request that raises :class:`CallerHungUp` on EOF instead of parsing an empty line."""

    async def _read_result(self) -> dict[str, Any]:
        try:
            line = await self.reader.readline()
        except ValueError as exc:  # the stream's line limit (64 KiB) overrun
            raise AgiProtocolError("AGI answer longer than the line limit") from exc
        if not line:
            raise CallerHungUp("AGI socket closed")
        # Undecodable bytes become U+FFFD: the answer is then simply not one the parser knows.
        text = line.decode(self.encoding, errors="replace").rstrip("\r\n")
        try:
            result: dict[str, Any] = parse_agi_result(text)
        except ValueError as exc:  # panoramisk's int() of a code it matched but cannot read
            raise AgiProtocolError(f"not an AGI answer: {text[:80]!r}") from exc
        return result


class AgiChannel:
    """What a call flow sees: typed AGI commands with quoting, latency metrics and hang-up as an exception."""

    def __init__(self, request: AgiRequest, *, metrics: Metrics) -> None:
        self._request = request
        self._metrics = metrics
        self.headers: dict[str, str] = dict(request.headers)

    @property
    def caller_number(self) -> str:
        return self.headers.get("agi_callerid", "")

    @property
    def uniqueid(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    async def command(self, name: str, *args: str) -> tuple[str, str]:
        """Send ``name`` with quoted ``args``; return (result value, data in parentheses)."""
        line = " ".join([name, *(agi_quote(arg) for arg in args)])
        started = time.perf_counter()
        reply = await self._request.send_command(line)
        self._metrics.observe_agi_command(name, time.perf_counter() - started)
        error = reply.get("error")
        if error in ("AGIResultHangup", "AGIAppError"):
            raise CallerHungUp(reply.get("msg", ""))
        if error:
            raise AgiCommandFailed(f"{line!r}: {error} {reply.get('msg', '')}".strip())
        value, data = reply.get("result", ("", ""))
        return str(value), str(data)

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)


Route = Callable[[AgiChannel], Awaitable[None]]


class AgiServer(Application):
    """Serves FastAGI routes; every connection is a tracked task that ends with the call or on shutdown."""

    def __init__(self, *, metrics: Metrics, secret: str | None = None) -> None:
        """``secret``: when set, a session runs only if its script URL carries ``?secret=<it>`` (Asterisk's
        AGI(agi://host:port/route?secret=…)); required by the settings when listening beyond loopback."""
        # panoramisk's __init__ calls get_event_loop(); we never use its loop attribute.
        dict.__init__(self)
        self._secret = secret
        self.default_encoding = "utf-8"
        self._route: OrderedDict[str, Route] = OrderedDict()
        self._metrics = metrics
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()  # sessions running a route now, by route
        for result in UNROUTED_RESULTS:
            metrics.agi_sessions.labels(route="unknown", result=result)

    def add_route(self, path: str, endpoint: Route) -> None:
        # panoramisk wraps non-async routes with asyncio.coroutine, removed in Python 3.11.
        if not asyncio.iscoroutinefunction(endpoint):
            raise TypeError(f"FastAGI route {path!r} must be an async def")
        if path in self._route:
            raise ValueError(f"FastAGI route {path!r} already exists")
        self._route[path] = endpoint
        # Every series exists from the start at 0, so that the first error is an increase an alert sees.
        for result in ROUTE_RESULTS:
            self._metrics.agi_sessions.labels(route=path, result=result)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    def sessions_in_flight(self) -> dict[str, int]:
        """Sessions running each route now (every route present, 0 when idle); read by the metrics' scrape."""
        return {route: self._in_flight.get(route, 0) for route in list(self._route)}

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._track, host, port)

    async def stop(self) -> None:
        """Stop listening, end the calls in flight (the dialplan sends them to the queue), leave no task."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        if server is not None:
            # From Python 3.12.1 wait_closed() also waits for open connections, so it comes after the cancel.
            await server.wait_closed()

    async def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self.handler(reader, writer)
        finally:
            self._sessions.discard(task)

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One FastAGI session. Unlike panoramisk's, it stops on EOF and lets cancellation through."""
        route_name = "-"
        try:
            headers = await self._read_headers(reader)
            if headers is None:
                return
            route_name, _, query = headers.get("agi_network_script", "").partition("?")
            if not self._authorised(query):
                log.warning("FastAGI: session for route %r without the shared secret refused (from %s)",
                            route_name[:40], writer.get_extra_info("peername"))
                self._metrics.agi_sessions.labels(route="unknown", result="refused").inc()
                route_name = "-"
                return
            route = self._route.get(route_name)
            if route is None:
                log.error("FastAGI: no route %r", route_name)
                self._metrics.agi_sessions.labels(route="unknown", result="no-route").inc()
                return
            request = AgiRequest(app=self, headers=headers, reader=reader, writer=writer)
            self._in_flight[route_name] += 1
            try:
                await route(AgiChannel(request, metrics=self._metrics))
            finally:
                self._in_flight[route_name] -= 1
            self._metrics.agi_sessions.labels(route=route_name, result="completed").inc()
        except CallerHungUp:
            self._metrics.agi_sessions.labels(route=route_name, result="hangup").inc()
        except (ConnectionError, asyncio.IncompleteReadError):
            self._metrics.agi_sessions.labels(route=route_name, result="hangup").inc()
        except AgiProtocolError as exc:
            log.warning("FastAGI route %r: %s; closing", route_name, exc)
            self._metrics.agi_sessions.labels(route=route_name, result="protocol-error").inc()
        except Exception:
            log.exception("FastAGI route %r failed; the dialplan falls back to the queue", route_name)
            self._metrics.agi_sessions.labels(route=route_name, result="error").inc()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _authorised(self, query: str) -> bool:
        if self._secret is None:
            return True
        offered = parse_qs(query).get("secret", [""])[-1]
        return hmac.compare_digest(offered.encode(), self._secret.encode())

    async def _read_headers(self, reader: asyncio.StreamReader) -> dict[str, str] | None:
        """``agi_*: value`` lines up to a blank line; None (logged) on EOF, garbage, overflow or timeout."""
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), HEADER_TIMEOUT_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            log.warning("FastAGI: malformed or incomplete request header; closing")
            return None
        if len(raw) > MAX_HEADER_BYTES:
            log.warning("FastAGI: request header too large; closing")
            return None
        headers: dict[str, str] = {}
        for line in raw.decode("utf-8", errors="replace").splitlines():
            key, sep, value = line.partition(": ")
            if sep and key.startswith("agi_"):
                headers[key] = value
        if "agi_network_script" not in headers:
            log.warning("FastAGI: request without agi_network_script; closing")
            return None
        return headers
