"""A console the way a test drives it: a logged-in HTTP client and the next websocket event of a kind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets

from agent_console.csrf import COOKIE as CSRF_COOKIE


def csrf_armed(client: httpx.Client | httpx.AsyncClient) -> str:
    """After any page was fetched: send the session's CSRF token (from its cookie) with every request, as the
    console's script does; returns it for form posts."""
    token = client.cookies[CSRF_COOKIE]
    client.headers["X-CSRF-Token"] = token
    return token


def login_form(client: httpx.Client | httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password, "csrf_token": csrf_armed(client)}


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """The login form as a browser submits it: load the page, then post with its CSRF token. A login rotates the
    token: like the next page's script, the client then sends the new one."""
    await client.get("/login")
    response = await client.post("/login", data=login_form(client, username, password))
    csrf_armed(client)
    return response


def log_in_sync(client: httpx.Client, username: str, password: str) -> httpx.Response:
    client.get("/login")
    response = client.post("/login", data=login_form(client, username, password), follow_redirects=False)
    csrf_armed(client)
    return response


async def logged_in_client(base_url: str, username: str, password: str, *, timeout: float = 10) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=timeout)
    response = await log_in(client, username, password)
    assert response.status_code == 303, response.text
    return client


async def next_event(ws: Any, name: str, timeout: float = 30) -> dict[str, Any]:
    """Skip other events until ``name`` arrives (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic())))
        if message["name"] == name:
            return message


async def accepted_while_listening(base_url: str, username: str, password: str,
                                   tracking_code: str) -> tuple[dict[str, Any], str]:
    """``username`` on the websocket while they accept the ticket: the ``ticket_changed`` event they hear, and the
    accept's response body."""
    client = await logged_in_client(base_url, username, password)
    cookie = f"pasokh_session={client.cookies['pasokh_session']}"
    try:
        async with websockets.connect(base_url.replace("http", "ws") + "/ws",
                                      additional_headers={"Cookie": cookie}) as ws:
            assert json.loads(await ws.recv())["name"] == "hello"
            accepted = await client.post(f"/api/tickets/{tracking_code}/actions", json={"action": "accept"})
            assert accepted.status_code == 200, accepted.text
            return await next_event(ws, "ticket_changed"), accepted.text
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def operator_in_queue(base_url: str, *, username: str, password: str,
                            queue: str = "line137") -> AsyncIterator[httpx.AsyncClient]:
    """An operator logged in to the console and in ``queue`` for the duration (their phone must be registered)."""
    client = await logged_in_client(base_url, username, password)
    try:
        joined = await client.post("/api/queue/join", json={"queue": queue})
        assert joined.status_code == 204, joined.text
        yield client
    finally:
        await client.post("/api/queue/leave", json={"queue": queue})
        await client.aclose()
