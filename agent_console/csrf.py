"""CSRF protection: every state-changing request carries the session's token, in a header or a form field (the
first field of a multipart form)."""

from __future__ import annotations

import re
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_console.body_limit import MAX_BODY_BYTES
from agent_console.error_pages import error_response
from callcenter.platform.errors import CsrfFailed

SESSION_KEY = "csrf"
COOKIE = "pasokh_csrf"  # readable by our own page's script, which echoes it in the header
HEADER = "x-csrf-token"
FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = MAX_BODY_BYTES  # a bigger form never reaches us: the body limit refused it already
# Open311 (agent_console/routes/open311.py): apps post with an API key and no session, so there is no token to
# check; nothing under this prefix reads the session or its cookie, so a cross-site post gains nothing there.
EXEMPT_PREFIX = "/open311/"


def session_token(session: dict[str, Any]) -> str:
    """The session's token, created on first use. A login replaces it with the new session's own
    (agent_console/session_cookie.py): a token from before the login is worth nothing after it."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


class CsrfMiddleware:
    """Runs inside the session middleware. A cross-site page can neither read our cookie nor set our header,
    so it cannot supply the token; the session, not the cookie, is what the token is checked against."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        session: dict[str, Any] = scope["session"]
        expected = session_token(session)
        if scope["method"] not in SAFE_METHODS:
            supplied, receive = await _supplied_token(scope, receive)
            if supplied is None or not secrets.compare_digest(supplied, expected):
                await error_response(CsrfFailed(), Headers(scope=scope))(scope, receive, send)
                return
        sent_cookie = _request_cookie(scope)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = session_token(session)  # the route may have cleared the session (login, logout)
                if token != sent_cookie:
                    headers = MutableHeaders(scope=message)
                    # Secure over HTTPS (behind a TLS proxy the scheme comes from uvicorn's --proxy-headers).
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    headers.append("set-cookie", f"{COOKIE}={token}; Path=/; SameSite=Strict{secure}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _request_cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(COOKIE)
            return morsel.value if morsel else None
    return None


async def _supplied_token(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The header if present; else the form field, reading the (small) body and replaying it to the app."""
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
    if HEADER in headers:
        return headers[HEADER], receive
    content_type = headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _first_part_token(content_type, receive)
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None, receive
    body = b""
    more = True
    while more and len(body) <= MAX_FORM_BYTES:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    values = parse_qs(body.decode("utf-8", errors="replace")).get(FORM_FIELD, [])
    return (values[0] if values else None), _replaying(body, more, receive)


# A multipart form without JavaScript (a citizen's report with photos) carries the token as its first field:
# browsers send the fields in document order, so only the first few kilobytes are read here, never the files.
_FIRST_PART_BYTES = 8 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_TOKEN_PART = re.compile(rb'^\r?\n?Content-Disposition: form-data; name="' + FORM_FIELD.encode()
                         + rb'"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r\n]*)\r\n', re.IGNORECASE)


async def _first_part_token(content_type: str, receive: Receive) -> tuple[str | None, Receive]:
    boundary = _BOUNDARY.search(content_type)
    if boundary is None:
        return None, receive
    opening = b"--" + boundary.group(1).encode("latin-1")
    body = b""
    more = True
    while more and len(body) < _FIRST_PART_BYTES:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    token = None
    if body.startswith(opening):
        match = _TOKEN_PART.match(body[len(opening):])
        token = match.group(1).decode("ascii", errors="replace") if match else None
    return token, _replaying(body, more, receive)


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """``receive`` giving the bytes already read first, then the rest of the stream."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
