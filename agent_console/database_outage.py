"""A database outage answered as what it is: 503 database-unavailable (JSON or a Persian page), never a bug's 500.

Wherever the database is reached while a request is served (a route, a dependency, the session lookup of
agent_console/session_cookie.py), the error it raises passes through here; one that says the database cannot be
reached now (db/engine.py ``is_database_outage``) is answered as such, with a warning instead of a traceback,
so the console can retry the same request (ADR 0087). Any other error goes on to the bug handler.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_console.error_pages import error_response
from callcenter.platform.errors import DatabaseUnavailable
from db.engine import is_database_outage

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2  # what the 503 asks a client to wait; the console retries on its own clock


class DatabaseOutageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            if started or not is_database_outage(exc):
                raise
            # The error's class only: its text may quote the statement's parameters (a citizen's words), and a
            # path may hold a tracking code or a signed link.
            log.warning("Database unavailable (%s); a %s request answered 503", type(exc).__name__, scope["method"])
            response = error_response(DatabaseUnavailable(), Headers(scope=scope),
                                      extra_headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            await response(scope, receive, send)

