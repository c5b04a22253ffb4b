"""Telephony fixtures (a pytest plugin): one real Asterisk per session, the backend per test, sipp, AMI observer."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from redis.asyncio import Redis

from callcenter.bootstrap.app import create_app
from callcenter.bootstrap.provisioning import provision_asterisk
from callcenter.bootstrap.services import Services
from callcenter.platform.settings import Settings, load_settings
from callcenter.telephony.asterisk_sandbox import AsteriskProcess
from db.seed import UNITS
from tests.conftest import require
from tests.support.ami import AmiObserver
from tests.support.backend import (
    PHONES_PORT,
    TEST_AMI_USER,
    TEST_SECRETS,
    TEST_STAFF,
    RunningBackend,
    free_port,
    running_backend,
    seed_staff,
    start_serving,
    telephony_settings,
)
from tests.support.private_postgres import PrivatePostgres, can_start_postgres, private_postgres
from tests.support.private_redis import can_start_redis
from tests.support.redis_service import REDIS_URL, redis_reachable
from tests.support.sipp import Sipp


@dataclass
class AsteriskUnderTest:
    settings: Settings
    process: AsteriskProcess


def can_run_asterisk() -> bool:
    has_asterisk = shutil.which("asterisk") is not None or shutil.which("debootstrap") is not None
    return os.geteuid() == 0 and has_asterisk and shutil.which("sipp") is not None


@pytest.fixture(scope="session")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AsteriskUnderTest]:
    require(can_run_asterisk(), "root, sipp and Asterisk (or debootstrap to build the sandbox)")
    settings = telephony_settings(tmp_path_factory.mktemp("asterisk-state"))
    process = provision_asterisk(
        settings, phones=[a.phone for a in TEST_STAFF], unit_names=[name for name, _kind, _parent in UNITS],
        extra_ami_users=[TEST_AMI_USER],
    )
    sipp = Sipp(sip_port=settings.sip_port, workdir=tmp_path_factory.mktemp("sipp-register"))
    registered = asyncio.run(sipp.register_phones([(a.extension, a.sip_password) for a in TEST_STAFF],
                                                  local_port=PHONES_PORT))
    assert registered.successful == len(TEST_STAFF), registered.output[-3000:]
    yield AsteriskUnderTest(settings=settings, process=process)
    process.stop()


@pytest.fixture
def sipp(asterisk: AsteriskUnderTest, tmp_path: Path) -> Sipp:
    return Sipp(sip_port=asterisk.settings.sip_port, workdir=tmp_path / "sipp")


@pytest.fixture
async def backend(asterisk: AsteriskUnderTest, database_url: str) -> AsyncIterator[RunningBackend]:
    settings = asterisk.settings.model_copy(update={"database_url": database_url, "web_port": free_port()})
    async with running_backend(settings) as running:
        yield running


@pytest.fixture
async def ami_observer(asterisk: AsteriskUnderTest) -> AsyncIterator[AmiObserver]:
    observer = AmiObserver(host=asterisk.settings.ami_host, port=asterisk.settings.ami_port,
                           username=TEST_AMI_USER.username, secret=TEST_AMI_USER.secret)
    await observer.start()
    yield observer
    observer.close()


@pytest.fixture
async def operator_phones(sipp: Sipp) -> AsyncIterator[asyncio.subprocess.Process]:
    """The registered phones' contact (PHONES_PORT) answers calls while the test runs."""
    process = await sipp.start_phones(local_port=PHONES_PORT)
    yield process
    process.kill()
    await process.wait()


@pytest.fixture
def redis_server() -> str:
    """The real Redis's URL, once it answers (the fixture every test of the running Redis depends on)."""
    require(redis_reachable(), f"Redis at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def redis_server_binary() -> str:
    """The redis-server command, for tests that start a Redis of their own."""
    require(can_start_redis(), "redis-server and openssl to start a private Redis")
    return "redis-server"


@pytest.fixture
def private_postgres_server() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own, which it may stop and start (never the machine's shared one)."""
    require(can_start_postgres(), "initdb and pg_ctl to start a private PostgreSQL")
    with private_postgres() as server:
        yield server


@pytest.fixture
async def redis_namespace(redis_server: str) -> AsyncIterator[str]:
    """A Redis key prefix of this test's own on the real Redis; its keys are deleted afterwards."""
    name = f"pasokh-test-{uuid.uuid4().hex[:10]}"
    yield name
    admin = Redis.from_url(redis_server)
    keys = [key async for key in admin.scan_iter(f"{name}:*")]
    if keys:
        await admin.delete(*keys)
    await admin.aclose()


@pytest.fixture
def web_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    """The app without telephony (no FastAGI, no AMI) on the test's seeded database, through HTTP."""
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url)
    with TestClient(create_app(settings, telephony=False), base_url="http://127.0.0.1") as test_client:
        yield test_client


@dataclass(frozen=True)
class WebBackend:
    url: str
    services: Services
    engine: sa.Engine


@pytest.fixture
async def web_backend(engine: sa.Engine, database_url: str, tmp_path: Path) -> AsyncIterator[WebBackend]:
    """The backend without telephony (for pages and APIs that need no call), with the test staff, served over a
    real socket in this event loop."""
    seed_staff(engine)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             web_port=free_port(),
                             state_dir=tmp_path / "state")
    app = create_app(settings, telephony=False)
    server, task = await start_serving(app, settings.web_port)
    try:
        yield WebBackend(url=f"http://127.0.0.1:{settings.web_port}", services=app.state.services, engine=engine)
    finally:
        server.should_exit = True
        await task
