"""Redis restarted under two web workers (a private redis-server, stopped and started again mid-test, empty as a
Redis without persistence comes back): each worker's bus resubscribes, every console on either worker is told to
resync (and so reloads its snapshot from the database: the truth), and events cross the workers again (ADR 0087)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import websockets
from fastapi import FastAPI

from callcenter.bootstrap.app import create_app
from callcenter.bootstrap.services import Services
from callcenter.platform.bus import RedisBus
from callcenter.platform.settings import Settings, load_settings
from db.engine import make_engine, upgrade_database
from tests.support.backend import (
    OPERATOR_1,
    OPERATOR_2,
    TEST_SECRETS,
    StaffAccount,
    free_port,
    seed_staff,
    start_serving,
)
from tests.support.console import logged_in_client, next_event
from tests.support.private_redis import PrivateRedis, private_redis

# Generous: the bus retries at most a second apart, so a resync follows a Redis back in about one; a loaded
# machine may take longer, and the test is about the resync happening, not its speed (no timing asserts).
EVENT_TIMEOUT = 15


@pytest.fixture
def restartable_redis(tmp_path: Path, redis_server_binary: str) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path, tls=False) as server:
        yield server


@contextlib.asynccontextmanager
async def web_worker(settings: Settings) -> AsyncIterator[Services]:
    app: FastAPI = create_app(settings)
    server, task = await start_serving(app, settings.web_port)
    try:
        yield app.state.services
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def console(url: str, account: StaffAccount) -> AsyncIterator[Any]:
    client = await logged_in_client(url, account.username, account.password)
    cookie = f"pasokh_session={client.cookies['pasokh_session']}"
    try:
        async with websockets.connect(url.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie}) as ws:
            await next_event(ws, "hello")
            yield ws
    finally:
        await client.aclose()


def announce_ready(services: Services, account: StaffAccount) -> None:
    services.web.notifier.agent_state(extension=account.extension, queue="line137", state="ready",
                                      since=datetime.now(UTC))


async def heard(ws: Any) -> dict[str, Any]:
    """The next agent_state a console is sent (its own operator's)."""
    return dict((await next_event(ws, "agent_state", EVENT_TIMEOUT))["data"])


async def test_given_two_web_workers_when_redis_restarts_then_every_console_resyncs_and_events_cross_again(
    restartable_redis: PrivateRedis, tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'pasokh.sqlite3'}"
    upgrade_database(database_url)
    engine = make_engine(database_url)
    seed_staff(engine)
    engine.dispose()
    first_settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                                   role="web", redis_url=restartable_redis.url, web_port=free_port(),
                                   state_dir=tmp_path / "state")
    second_settings = first_settings.model_copy(update={"web_port": free_port()})
    async with web_worker(first_settings) as first, web_worker(second_settings) as second, \
            console(f"http://127.0.0.1:{first_settings.web_port}", OPERATOR_1) as on_first, \
            console(f"http://127.0.0.1:{second_settings.web_port}", OPERATOR_2) as on_second:
        announce_ready(first, OPERATOR_2)  # across the workers before the restart
        assert (await heard(on_second))["extension"] == OPERATOR_2.extension

        await asyncio.to_thread(restartable_redis.restart)
        for ws in (on_first, on_second):
            await next_event(ws, "resync", EVENT_TIMEOUT)

        announce_ready(first, OPERATOR_2)
        announce_ready(second, OPERATOR_1)
        assert (await heard(on_second))["extension"] == OPERATOR_2.extension
        assert (await heard(on_first))["extension"] == OPERATOR_1.extension
        for services in (first, second):
            assert isinstance(services.bus, RedisBus) and services.bus.reconnects == 1
