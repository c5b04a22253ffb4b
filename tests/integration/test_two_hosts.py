"""Two hosts (network namespaces joined by a veth pair, tests/support/hosts.py): Asterisk, the telephony process and
a web worker on host A, a web-only worker on host B, PostgreSQL and Redis answering on host A's address; a citizen's
call answered on host A pops up on a console that host B serves."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets

from agent_console.csrf import COOKIE as CSRF_COOKIE
from callcenter.bootstrap.provisioning import render_asterisk
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskProcess, ensure_installed, runtime_for
from db.engine import make_engine
from db.seed import UNITS
from tests.conftest import require
from tests.support.backend import (
    CITIZENS_PORT,
    OPERATOR_1,
    PHONES_PORT,
    TEST_INSTANCE,
    TEST_STAFF,
    process_environment,
    seed_staff,
    telephony_settings,
)
from tests.support.console import log_in, next_event
from tests.support.fixtures import can_run_asterisk
from tests.support.hosts import (
    Host,
    can_make_hosts,
    machine_service_on,
    reachable_from_here,
    two_hosts,
)
from tests.support.redis_service import REDIS_URL
from tests.support.sipp import Sipp, SippResult

pytestmark = pytest.mark.asterisk

CITIZEN = "09124440137"
WEB_PORT = 8000  # each host has its own network: both workers take the same port, as on two machines


@contextlib.contextmanager
def started(host: Host, args: list[str], settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m callcenter <args>`` on ``host``, configured by ``settings`` through its environment."""
    with open(log, "wb") as out:
        process = subprocess.Popen(host.command(sys.executable, "-m", "callcenter", *args),
                                   env=process_environment(settings),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def asterisk_on(host: Host, settings: Settings, log: Path) -> Iterator[AsteriskProcess]:
    """The project's Asterisk, rendered as everywhere else, started on ``host``'s network (its CLI is a Unix
    socket: driven from here as usual)."""
    runtime = runtime_for(settings)
    ensure_installed(runtime)
    render_asterisk(settings, phones=[account.phone for account in TEST_STAFF],
                    unit_names=[name for name, _kind, _parent in UNITS])
    asterisk = AsteriskProcess(runtime)
    asterisk.stop()  # one a killed run left behind
    # A new host's Asterisk: no queue members persisted from an earlier run (the operator joins through host B).
    runtime.host_path(runtime.instance_dir / "lib" / "astdb.sqlite3").unlink(missing_ok=True)
    with open(log, "wb") as out:
        child = subprocess.Popen(host.command(*runtime.command("-f", "-U", "root", "-G", "root")),
                                 stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not asterisk.is_running():
            assert child.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        asterisk.cli("core waitfullybooted", timeout=30)
        yield asterisk
    finally:
        asterisk.stop()
        if child.poll() is None:
            child.kill()
        child.wait()


async def healthy(client: httpx.AsyncClient, logs: list[Path], timeout: float = 90) -> None:
    """The worker answers and sees AMI connected: the telephony process is up and talks through Redis."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).json().get("ami") == "connected":
                return
        assert time.monotonic() < deadline, "\n".join(log.read_text()[-2000:] for log in logs)
        await asyncio.sleep(0.3)


@contextlib.asynccontextmanager
async def worker_client(host: Host, folder: Path, **options: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the worker on ``host``, as a browser on that network would address it."""
    async with reachable_from_here(host, WEB_PORT, folder / f"{host.netns}.sock") as path:
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host.address}:{WEB_PORT}",
                                     timeout=15, **options) as client:  # type: ignore[arg-type]
            yield client


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_given_two_hosts_when_a_citizen_is_answered_on_the_first_then_the_pop_reaches_a_console_on_the_second(
    database_url: str, redis_namespace: str, tmp_path: Path,
) -> None:
    require(can_make_hosts(), "root and `ip netns` to make the test hosts")
    require(can_run_asterisk(), "root, sipp and Asterisk (or debootstrap to build the sandbox)")
    engine = make_engine(database_url)
    seed_staff(engine)
    engine.dispose()
    postgres, redis = urlsplit(database_url), urlsplit(REDIS_URL)
    assert postgres.port and redis.port
    with two_hosts(TEST_INSTANCE) as (a, b):
        # Every process reaches PostgreSQL and Redis at host A's address; host B's worker crosses the link for them.
        on_a = telephony_settings(tmp_path / "state", instance=f"{TEST_INSTANCE}-hosts").model_copy(update={
            "database_url": database_url.replace(postgres.netloc, f"{postgres.username}@{a.address}:{postgres.port}"),
            "redis_url": REDIS_URL.replace(redis.netloc, f"{a.address}:{redis.port}"),
            "redis_namespace": redis_namespace, "web_host": a.address, "web_port": WEB_PORT})
        web_on_a = on_a.model_copy(update={"role": "web"})
        web_on_b = web_on_a.model_copy(update={"web_host": b.address})
        logs = [tmp_path / name for name in ("asterisk.log", "telephony.log", "web-a.log", "web-b.log")]
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(machine_service_on(a, postgres.port))
            await stack.enter_async_context(machine_service_on(a, redis.port))
            stack.enter_context(asterisk_on(a, on_a, logs[0]))
            stack.enter_context(started(a, ["telephony", "--migrated"], on_a, logs[1]))
            stack.enter_context(started(a, ["serve", "--migrated"], web_on_a, logs[2]))
            stack.enter_context(started(b, ["serve", "--migrated"], web_on_b, logs[3]))
            client_a = await stack.enter_async_context(worker_client(a, tmp_path))
            await healthy(client_a, logs)
            # The operator logs in on host A's worker; their console's websocket lands on host B's (one session,
            # kept in PostgreSQL, good on both).
            assert (await log_in(client_a, OPERATOR_1.username, OPERATOR_1.password)).status_code == 303
            cookies = {name: client_a.cookies[name] for name in ("pasokh_session", CSRF_COOKIE)}
            client_b = await stack.enter_async_context(worker_client(
                b, tmp_path, cookies=cookies, headers={"X-CSRF-Token": cookies[CSRF_COOKIE]}))
            await healthy(client_b, logs)

            sipp = Sipp(sip_port=on_a.sip_port, workdir=tmp_path / "sipp", command_prefix=a.command())
            registered = await sipp.register_phones([(OPERATOR_1.extension, OPERATOR_1.sip_password)],
                                                    local_port=PHONES_PORT)
            assert registered.successful == 1, registered.output[-3000:]
            phones = await sipp.start_phones(local_port=PHONES_PORT)
            stack.push_async_callback(phones.wait)
            stack.callback(phones.kill)
            cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
            ws = await stack.enter_async_context(websockets.unix_connect(
                str(tmp_path / f"{b.netns}.sock"), f"ws://{b.address}:{WEB_PORT}/ws",
                additional_headers={"Cookie": cookie}))
            await next_event(ws, "hello")
            joined = await client_b.post("/api/queue/join", json={"queue": "line137"})
            assert joined.status_code == 204, joined.text
            assert (await next_event(ws, "agent_state", timeout=15))["data"]["state"] == "ready"

            citizen: asyncio.Task[SippResult] = asyncio.create_task(
                sipp.citizen_calls(caller=CITIZEN, digits="1", hold_ms=30_000, local_port=CITIZENS_PORT))
            try:
                pop = await next_event(ws, "call_connected", timeout=40)
                assert pop["data"]["call"]["caller_number"] == CITIZEN
                hung_up = await client_b.post("/api/call/hangup")
                assert hung_up.status_code == 204, hung_up.text
                ended = await next_event(ws, "call_ended", timeout=15)
                assert ended["data"]["call"]["id"] == pop["data"]["call"]["id"]
            finally:
                result = await citizen
    assert result.failed == 0 and result.successful == 1, result.output[-3000:]
