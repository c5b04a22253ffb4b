"""CSRF protection: every state-changing request carries the session's token, in a header or a form field."""

from __future__ import annotations

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
        if scope["type"] != "http":
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
    if headers.get("content-type", "").startswith("multipart/form-data"):
        # A form with a file, sent without JavaScript (a citizen's photo): its action's query carries the field,
        # so the token is checked before a byte of the upload is read.
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(FORM_FIELD, [])
        return (values[0] if values else None), receive
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None, receive
    body = b""
    more = True
    while more and len(body) <= MAX_FORM_BYTES:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    values = parse_qs(body.decode("utf-8", errors="replace")).get(FORM_FIELD, [])
    return (values[0] if values else None), replay
