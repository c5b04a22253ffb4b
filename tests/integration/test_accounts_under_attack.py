"""Logins and sessions attacked over real HTTP on a live server (SQLite and PostgreSQL): concurrent guessing, a
stranger trying to lock an operator out, name probing, copied cookies, revoked sessions and their websockets."""

from __future__ import annotations

import asyncio
import hashlib
import re
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import websockets
from sqlmodel import Session, select

from callcenter.bootstrap.app import create_app
from callcenter.bootstrap.services import Services
from callcenter.platform.security import hash_password, verify_password
from callcenter.platform.settings import load_settings
from db.models import Role, StaffSession, User, utcnow
from tests.support.backend import OPERATOR_1, OPERATOR_2, TEST_SECRETS, free_port, seed_staff, start_serving
from tests.support.console import csrf_armed, log_in_sync, login_form
from tests.support.redis_service import REDIS_URL

MAX_FAILURES = 5
GUESSES = 20
ADMIN, ADMIN_PASSWORD = "attack.admin", "admin-attack-password"
OPERATOR_ADDRESS, STRANGER_ADDRESS, NEW_DESK_ADDRESS = "127.0.0.1", "127.0.0.9", "127.0.0.3"


@dataclass
class Live:
    url: str
    services: Services
    engine: sa.Engine

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def client(self, *, address: str = OPERATOR_ADDRESS) -> httpx.Client:
        """A browser on the machine at ``address`` (a loopback address of its own: the server sees it)."""
        return httpx.Client(base_url=self.url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


@pytest.fixture
async def live(engine: sa.Engine, database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    seed_staff(engine)
    with Session(engine) as session:
        session.add(User(username=ADMIN, full_name="مدیر", role=Role.ADMIN,
                         password_hash=hash_password(ADMIN_PASSWORD)))
        session.commit()
    port = free_port()
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             web_port=port, state_dir=tmp_path / "state", login_max_failures=MAX_FAILURES,
                             asterisk_instance="accounts-attack")
    app = create_app(settings, telephony=False)
    server, task = await start_serving(app, port)
    try:
        yield Live(url=f"http://127.0.0.1:{port}", services=app.state.services, engine=engine)
    finally:
        server.should_exit = True
        await task


def guess(live: Live, username: str, password: str, *, address: str, barrier: threading.Barrier | None = None
          ) -> httpx.Response:
    """One attacker's browser: loads the form, waits for the others, posts."""
    with live.client(address=address) as client:
        client.get("/login")
        form = login_form(client, username, password)
        if barrier is not None:
            barrier.wait()
        return client.post("/login", data=form, follow_redirects=False)


async def together(live: Live, username: str, password: str, *, address: str, count: int = GUESSES) -> list[int]:
    """``count`` guesses from ``count`` threads, released at the same moment; their statuses."""
    barrier = threading.Barrier(count, timeout=60)
    with ThreadPoolExecutor(max_workers=count) as attackers:  # one thread each (the default pool is smaller)
        futures = [asyncio.wrap_future(attackers.submit(guess, live, username, password, address=address,
                                                         barrier=barrier)) for _ in range(count)]
        responses = await asyncio.gather(*futures)
    return sorted(response.status_code for response in responses)


async def test_given_twenty_concurrent_wrong_passwords_for_one_account_then_only_the_limit_is_checked(
    live: Live,
) -> None:
    statuses = await together(live, OPERATOR_1.username, "wrong-password", address=STRANGER_ADDRESS)

    # 401 is answered only after the password was checked, 429 without checking it.
    assert statuses == [401] * MAX_FAILURES + [429] * (GUESSES - MAX_FAILURES)
    right = await asyncio.to_thread(guess, live, OPERATOR_1.username, OPERATOR_1.password, address=STRANGER_ADDRESS)
    assert right.status_code == 429


async def test_given_a_stranger_hammering_an_operators_name_when_the_operator_logs_in_from_their_desk_then_they_get_in(
    live: Live,
) -> None:
    def at_the_desk() -> str:
        with live.client(address=OPERATOR_ADDRESS) as desk:
            assert log_in_sync(desk, OPERATOR_1.username, OPERATOR_1.password).status_code == 303
            username: str = desk.get("/api/me").json()["user"]["username"]
            desk.post("/logout")
            return username

    assert await asyncio.to_thread(at_the_desk) == OPERATOR_1.username  # the operator's usual desk, before

    statuses = await together(live, OPERATOR_1.username, "guess", address=STRANGER_ADDRESS)
    stranger_right = await asyncio.to_thread(guess, live, OPERATOR_1.username, OPERATOR_1.password,
                                             address=STRANGER_ADDRESS)
    new_desk = await asyncio.to_thread(guess, live, OPERATOR_1.username, OPERATOR_1.password,
                                       address=NEW_DESK_ADDRESS)

    assert statuses == [401] * MAX_FAILURES + [429] * (GUESSES - MAX_FAILURES)
    assert stranger_right.status_code == 429  # the name is locked to strangers, even with the right password
    assert new_desk.status_code == 429  # and to any address the account never logged in from
    assert await asyncio.to_thread(at_the_desk) == OPERATOR_1.username  # during the attack, from the desk


def _without_token(page: str) -> str:
    return re.sub(r'(name="csrf-token" content|name="csrf_token" value)="[^"]*"', r'\1=""', page)


async def test_given_an_unknown_name_and_a_real_one_when_both_are_guessed_then_the_answers_cannot_be_told_apart(
    production_argon2: None, live: Live,
) -> None:
    def attempts(username: str) -> list[tuple[int, str, float]]:
        answers = []
        for _ in range(MAX_FAILURES + 1):
            started = time.perf_counter()
            response = guess(live, username, "not-the-password", address=STRANGER_ADDRESS)
            answers.append((response.status_code, _without_token(response.text), time.perf_counter() - started))
        return answers

    real = await asyncio.to_thread(attempts, OPERATOR_2.username)
    unknown = await asyncio.to_thread(attempts, "no.such.person")

    assert [(status, body) for status, body, _ in real] == [(status, body) for status, body, _ in unknown]
    assert [status for status, _, _ in real] == [401] * MAX_FAILURES + [429]
    # Timing class: each checked answer (401) cost an argon2 verification, for the unknown name as for the real one.
    argon2 = min(_timed(lambda: verify_password("x", hash_password("y"))) for _ in range(3)) / 2
    for answers in (real, unknown):
        assert statistics.median(seconds for status, _, seconds in answers if status == 401) >= argon2 / 2


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


async def test_given_a_copied_session_cookie_when_its_owner_logs_out_then_the_copy_stops_working(live: Live) -> None:
    def scenario() -> tuple[int, int, str]:
        with live.client() as owner, live.client(address=STRANGER_ADDRESS) as thief:
            assert log_in_sync(owner, OPERATOR_1.username, OPERATOR_1.password).status_code == 303
            cookie = owner.cookies["pasokh_session"]
            thief.cookies.set("pasokh_session", cookie)
            before = thief.get("/api/me").status_code
            assert owner.post("/logout", follow_redirects=False).status_code == 303
            return before, thief.get("/api/me").status_code, cookie

    before, after, _ = await asyncio.to_thread(scenario)

    assert (before, after) == (200, 401)
    with Session(live.engine) as session:  # the session is gone, not merely marked
        assert session.exec(select(StaffSession)).all() == []


async def test_given_a_session_when_stored_then_the_database_holds_only_the_hash_of_the_cookie(live: Live) -> None:
    with live.client() as browser:
        await asyncio.to_thread(log_in_sync, browser, OPERATOR_1.username, OPERATOR_1.password)
        cookie = browser.cookies["pasokh_session"]
    with Session(live.engine) as session:
        row = session.exec(select(StaffSession)).one()
    assert row.token_hash == hashlib.sha256(cookie.encode()).hexdigest() and cookie not in str(row.model_dump())
    assert (row.address, row.user_agent.startswith("python-httpx")) == (OPERATOR_ADDRESS, True)


async def test_given_a_login_when_it_succeeds_then_the_csrf_token_is_new_and_the_old_one_refused(live: Live) -> None:
    def scenario() -> tuple[str, str, int, int]:
        with live.client() as browser:
            browser.get("/login")
            before = csrf_armed(browser)
            log_in_sync(browser, OPERATOR_1.username, OPERATOR_1.password)  # re-arms with the new token
            after = browser.cookies["pasokh_csrf"]
            stale = browser.post("/api/queue/leave", json={}, headers={"X-CSRF-Token": before}).status_code
            fresh = browser.post("/api/tickets", json={}, headers={"X-CSRF-Token": after}).status_code
            return before, after, stale, fresh

    before, after, stale, fresh = await asyncio.to_thread(scenario)
    assert before != after and stale == 403 and fresh == 422  # past the CSRF check, refused for its empty body


async def test_given_two_sessions_when_one_changes_the_password_then_the_other_ends_and_the_new_password_works(
    live: Live,
) -> None:
    new_password = "a-new-operator-pass"

    def scenario() -> dict[str, int]:
        with live.client() as here, live.client(address=NEW_DESK_ADDRESS) as there:
            log_in_sync(here, OPERATOR_1.username, OPERATOR_1.password)
            log_in_sync(there, OPERATOR_1.username, OPERATOR_1.password)
            wrong = here.post("/account/password", data={
                "current_password": "not-it", "new_password": new_password, "repeated_password": new_password,
                "csrf_token": here.cookies["pasokh_csrf"]})
            there_after_wrong = there.get("/api/me").status_code
            changed = here.post("/account/password", data={
                "current_password": OPERATOR_1.password, "new_password": new_password,
                "repeated_password": new_password, "csrf_token": here.cookies["pasokh_csrf"]})
            result = {"wrong": wrong.status_code, "there_after_wrong": there_after_wrong,
                      "changed": changed.status_code, "here": here.get("/api/me").status_code,
                      "there": there.get("/api/me").status_code}
        with live.client() as again:
            result["old"] = log_in_sync(again, OPERATOR_1.username, OPERATOR_1.password).status_code
        with live.client() as again:
            result["new"] = log_in_sync(again, OPERATOR_1.username, new_password).status_code
        return result

    assert await asyncio.to_thread(scenario) == {"wrong": 401, "there_after_wrong": 200, "changed": 200, "here": 200,
                                                 "there": 401, "old": 401, "new": 303}


async def test_given_a_session_idle_too_long_when_used_then_it_is_gone(live: Live) -> None:
    with live.client() as browser:
        await asyncio.to_thread(log_in_sync, browser, OPERATOR_1.username, OPERATOR_1.password)
        with Session(live.engine) as session:
            row = session.exec(select(StaffSession)).one()
            idle = live.services.web.sessions.policy.idle
            row.last_seen_at = utcnow() - idle - idle / 10
            session.add(row)
            session.commit()
        assert (await asyncio.to_thread(browser.get, "/api/me")).status_code == 401
    with Session(live.engine) as session:
        assert session.exec(select(StaffSession)).all() == []


def _logged_in(live: Live, username: str, password: str) -> httpx.Client:
    client = live.client()
    assert log_in_sync(client, username, password).status_code == 303
    return client


async def _closed_within(ws: websockets.ClientConnection, seconds: float) -> int | None:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_given_an_open_console_when_its_session_logs_out_then_the_websocket_closes_4401_within_a_second(
    live: Live,
) -> None:
    operator = await asyncio.to_thread(_logged_in, live, OPERATOR_1.username, OPERATOR_1.password)
    cookie = f"pasokh_session={operator.cookies['pasokh_session']}"
    async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
        assert "hello" in await ws.recv()
        await asyncio.to_thread(operator.post, "/logout")
        assert await _closed_within(ws, 1.0) == 4401
    operator.close()


async def test_given_an_open_console_when_the_admin_deactivates_the_account_then_the_websocket_closes_within_a_second(
    live: Live,
) -> None:
    operator = await asyncio.to_thread(_logged_in, live, OPERATOR_1.username, OPERATOR_1.password)
    admin = await asyncio.to_thread(_logged_in, live, ADMIN, ADMIN_PASSWORD)
    with Session(live.engine) as session:
        operator_id = session.exec(select(User.id).where(User.username == OPERATOR_1.username)).one()
    cookie = f"pasokh_session={operator.cookies['pasokh_session']}"
    async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
        assert "hello" in await ws.recv()
        off = await asyncio.to_thread(admin.post, f"/admin/staff/{operator_id}/active", data={"active": "false"})
        assert off.status_code in (200, 303)
        assert await _closed_within(ws, 1.0) == 4401
    assert (await asyncio.to_thread(operator.get, "/api/me")).status_code == 401
    operator.close()
    admin.close()


async def test_given_a_session_deleted_behind_the_hubs_back_when_the_console_is_open_then_the_periodic_check_closes_it(
    live: Live,
) -> None:
    operator = await asyncio.to_thread(_logged_in, live, OPERATOR_1.username, OPERATOR_1.password)
    cookie = f"pasokh_session={operator.cookies['pasokh_session']}"
    check_every = live.services.settings.session_check_seconds
    async with websockets.connect(live.ws_url, additional_headers={"Cookie": cookie}) as ws:
        assert "hello" in await ws.recv()
        with Session(live.engine) as session:  # no event on the bus: only the backstop can notice
            session.execute(sa.delete(StaffSession))
            session.commit()
        assert await _closed_within(ws, check_every + 2) == 4401
    operator.close()


async def test_given_a_page_of_another_origin_when_it_opens_the_websocket_then_refused_and_our_own_origin_accepted(
    live: Live,
) -> None:
    operator = await asyncio.to_thread(_logged_in, live, OPERATOR_1.username, OPERATOR_1.password)
    cookie = f"pasokh_session={operator.cookies['pasokh_session']}"
    with pytest.raises(websockets.InvalidStatus) as refused:  # closed before accept: the handshake fails
        async with websockets.connect(live.ws_url, origin="https://evil.example",  # type: ignore[arg-type]
                                      additional_headers={"Cookie": cookie}):
            pass
    async with websockets.connect(live.ws_url, origin=live.url, additional_headers={"Cookie": cookie}) as ws:  # type: ignore[arg-type]
        assert "hello" in await ws.recv()
    assert refused.value.response.status_code == 403
    operator.close()


async def test_given_two_workers_sharing_redis_when_a_session_logs_out_on_one_then_its_websocket_on_the_other_closes(
    engine: sa.Engine, database_url: str, redis_namespace: str, tmp_path: Path,
) -> None:
    seed_staff(engine)
    servers = []
    urls = []
    for n in range(2):
        port = free_port()
        settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                                 web_port=port, state_dir=tmp_path / f"state{n}", redis_url=REDIS_URL,
                                 redis_namespace=redis_namespace)
        servers.append(await start_serving(create_app(settings, telephony=False), port))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        first = httpx.Client(base_url=urls[0], timeout=30)
        logged_in = await asyncio.to_thread(log_in_sync, first, OPERATOR_1.username, OPERATOR_1.password)
        assert logged_in.status_code == 303
        cookie = f"pasokh_session={first.cookies['pasokh_session']}"
        on_the_other = urls[1].replace("http://", "ws://") + "/ws"
        async with websockets.connect(on_the_other, additional_headers={"Cookie": cookie}) as ws:
            assert "hello" in await ws.recv()
            await asyncio.to_thread(first.post, "/logout")
            assert await _closed_within(ws, 1.0) == 4401
        first.close()
    finally:
        for server, task in servers:
            server.should_exit = True
            await task
