"""The session cookie: a random id naming a server-side session (callcenter/staff/sessions.py); before login, a signed
visitor cookie holding only the visitor's CSRF token (the login form needs one, and a visitor gets no row)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from anyio import to_thread
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_console.csrf import SESSION_KEY as CSRF
from callcenter.staff.sessions import ActiveSession, SessionStore

SESSION_COOKIE = "pasokh_session"
VISITOR_COOKIE = "pasokh_visitor"
VISITOR_MAX_AGE = 12 * 3600
USER_ID = "user_id"  # with CSRF, the keys of request.session that are the session row's own columns
_STATE = "pasokh.session"


@dataclass
class SessionState:
    """One request's session: the logged-in one, or a visitor's; and what the route did to it."""

    active: ActiveSession | None
    started_token: str | None = None  # set at login: the new cookie to send
    ended: bool = False  # set at logout
    stale_cookie: bool = False  # the browser sent a session cookie that names no live session


def current_session(connection: HTTPConnection) -> ActiveSession | None:
    state: SessionState = connection.scope[_STATE]
    return state.active


def start(connection: HTTPConnection, *, token: str, active: ActiveSession) -> None:
    """At login: this response sets the new session's cookie, and request.session becomes that session's
    (with its own, new CSRF token: the one the login form carried is not carried over)."""
    state: SessionState = connection.scope[_STATE]
    state.active, state.started_token = active, token
    connection.session.clear()
    connection.session.update({**active.data, USER_ID: active.user_id, CSRF: active.csrf_token})


def end(connection: HTTPConnection) -> None:
    """At logout (the row is already deleted): the cookie goes, and the next page starts a visitor session."""
    state: SessionState = connection.scope[_STATE]
    state.active, state.ended = None, True
    connection.session.clear()


class SessionCookieMiddleware:
    """Gives ``scope["session"]`` (``request.session``): the logged-in session's data, or the visitor's."""

    def __init__(self, app: ASGIApp, *, store: SessionStore, secret_key: str, always_secure: bool) -> None:
        self.app = app
        self._store = store
        self._visitor = URLSafeTimedSerializer(secret_key, salt="pasokh-visitor")
        self._always_secure = always_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = cookies.get(SESSION_COOKIE)
        active = await to_thread.run_sync(self._store.find, token) if token else None
        if active is not None:
            data: dict[str, Any] = {**active.data, USER_ID: active.user_id, CSRF: active.csrf_token}
        else:
            data = self._visitor_data(cookies.get(VISITOR_COOKIE))
        state = SessionState(active=active, stale_cookie=token is not None and active is None)
        snapshot = dict(data)
        scope["session"], scope[_STATE] = data, state
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._conclude(scope, state, data, snapshot, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_session)

    async def _conclude(
        self, scope: Scope, state: SessionState, data: dict[str, Any], snapshot: dict[str, Any],
        headers: MutableHeaders,
    ) -> None:
        """After the route: send the cookies that changed, keep what the route wrote into the session."""
        secure = self._always_secure or scope.get("scheme") == "https"
        if state.started_token is not None:
            headers.append("set-cookie", _cookie(SESSION_COOKIE, state.started_token, secure=secure,
                                                 max_age=int(self._store.policy.lifetime.total_seconds())))
            headers.append("set-cookie", _cookie(VISITOR_COOKIE, "", secure=secure, max_age=0))
        elif state.active is not None:
            if data != snapshot:
                state.active.csrf_token = str(data.get(CSRF) or state.active.csrf_token)
                state.active.data = {key: value for key, value in data.items() if key not in (USER_ID, CSRF)}
                await to_thread.run_sync(self._store.save, state.active)
        else:
            if state.ended or state.stale_cookie:
                headers.append("set-cookie", _cookie(SESSION_COOKIE, "", secure=secure, max_age=0))
            if data != snapshot or state.ended:
                visitor = {CSRF: data[CSRF]} if isinstance(data.get(CSRF), str) else {}
                headers.append("set-cookie", _cookie(VISITOR_COOKIE, self._visitor.dumps(visitor), secure=secure,
                                                     max_age=VISITOR_MAX_AGE))

    def _visitor_data(self, signed: str | None) -> dict[str, Any]:
        if not signed:
            return {}
        try:
            loaded = self._visitor.loads(signed, max_age=VISITOR_MAX_AGE)
        except (BadSignature, json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return {CSRF: loaded[CSRF]} if isinstance(loaded, dict) and isinstance(loaded.get(CSRF), str) else {}


def _cookie(name: str, value: str, *, secure: bool, max_age: int) -> str:
    """HttpOnly (no script reads it; the CSRF cookie is the script's), Lax: sent on top-level navigation only."""
    return (f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
            + ("; Secure" if secure else ""))


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                parsed = SimpleCookie(value.decode("latin-1"))
            except CookieError:  # a malformed header is no session
                continue
            found.update({key: morsel.value for key, morsel in parsed.items()})
    return found
