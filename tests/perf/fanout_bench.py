"""Fan-out bench (`--parts fanout`): logged-in websocket consoles across two web-only workers with Redis; events
published through the app's notifier and Redis bus, as the telephony process publishes them; each event's time from
publish to the last console that received it, against raw Redis PUBLISH → one subscriber, side by side."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import websockets
from redis.asyncio import Redis
from sqlmodel import Session

from callcenter.platform.bus import RedisBus
from callcenter.platform.metrics import LatencyRecorder
from callcenter.platform.notifier import Notifier
from callcenter.platform.security import hash_password
from callcenter.platform.settings import Settings, load_settings
from db.engine import make_engine, upgrade_database
from db.models import CallOutcome, CallPublic, Role, User
from db.seed import seed_reference_data
from tests.support.argon2_cost import use_cheap_argon2
from tests.support.backend import TEST_SECRETS, free_port, process_environment
from tests.support.console import log_in
from tests.support.redis_service import REDIS_URL

HEADING = "## Fan-out: one event to every console"
METHOD = """`python -m tests.perf.bench --parts fanout` (tests/perf/fanout_bench.py): 500 operators logged in over HTTP,
their consoles' websockets spread over two web-only workers (`python -m callcenter serve`, `PASOKH_ROLE=web`) on
Redis and a SQLite file, held by four console processes; 200 `call_queued` events (every operator hears one)
published at 20 a second through the notifier and the Redis bus, as the telephony process publishes them. Per
event: publish → the last console's receipt (the machine-wide monotonic clock). Baseline, interleaved in the same
run: a raw Redis `PUBLISH` of the same size → one raw subscriber. The workers' own figure
(`pasokh_event_delivery_seconds`, publish → websocket send) leaves the consoles' processes out; the consoles share
the machine's two cores with the workers. Findings and the changes they led to:
[ADR 0088](adr/0088-test-hosts-from-network-namespaces-and-the-websocket-fan-out.md)."""
CONSOLES = 500
WORKERS = 2
EVENTS = 200
INTERVAL_S = 0.05  # 20 events a second reach every console: a busy center's queue, many times over
PASSWORD = "fanout-bench-pass"
LOGINS_AT_ONCE = 16
CALLER = "09120000137"
IDLE_S = 5.0  # the processes' CPU while nothing is published: session checks, Redis pings
PUBLISHER = "publisher"
CONSOLE_PROCESSES = 4


@dataclass
class FanoutOutcome:
    consoles: int
    events: int
    last_console: LatencyRecorder = field(default_factory=LatencyRecorder)  # per event: publish → last receipt
    first_console: LatencyRecorder = field(default_factory=LatencyRecorder)  # per event: publish → first receipt
    every_receipt: LatencyRecorder = field(default_factory=lambda: LatencyRecorder(capacity=200_000))
    baseline: LatencyRecorder = field(default_factory=LatencyRecorder)  # raw PUBLISH → one raw subscriber
    missing: int = 0  # receipts that never came (consoles × events − received)
    # per worker, from its /metrics: publish → websocket send of each console's copy (p50, p99)
    server_side: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    publishing_s: float = 0.0  # wall time of the publishing phase
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during that phase
    idle_cpu_per_s: dict[str, float] = field(default_factory=dict)  # the same, idle (session checks, pings)
    copies: dict[str, int] = field(default_factory=dict)  # event copies each process sent or received

    def cost_per_copy_us(self, name: str) -> float | None:
        """CPU per event copy above the idle rate: what one console more costs that process, per event."""
        if not self.copies.get(name):
            return None
        busy = self.cpu_s[name] - self.idle_cpu_per_s.get(name, 0.0) * self.publishing_s
        return busy / self.copies[name] * 1e6

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.last_console.count == self.events


def create_operators(settings: Settings, count: int) -> list[str]:
    """``count`` operator accounts in one transaction, all with one (cheap) hash of the same password."""
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    password_hash = hash_password(PASSWORD)
    names = [f"fanout{n:04d}" for n in range(1, count + 1)]
    with Session(engine) as session:
        seed_reference_data(session)
        session.add_all(User(username=name, full_name=name, role=Role.OPERATOR, extension=str(3000 + n),
                             password_hash=password_hash) for n, name in enumerate(names))
        session.commit()
    engine.dispose()
    return names


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def web_workers(settings: Settings, ports: list[int], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Web-only workers (``python -m callcenter serve`` with ``PASOKH_ROLE=web``), one process per port."""
    processes = []
    try:
        for port in ports:
            worker = settings.model_copy(update={"role": "web", "web_port": port})
            with open(logs / f"worker-{port}.log", "wb") as out:
                processes.append(subprocess.Popen([sys.executable, "-m", "callcenter", "serve", "--migrated"],
                                                  env=process_environment(worker), stdout=out,
                                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_until_serving(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/login")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker at {url} did not come up")
            await asyncio.sleep(0.3)


async def session_cookie(url: str, username: str, gate: asyncio.Semaphore) -> str:
    """A real login over HTTP: the console's session cookie."""
    async with gate, httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await log_in(client, username, PASSWORD)
        if response.status_code != 303:
            raise RuntimeError(f"login of {username} failed: {response.status_code}")
        return f"pasokh_session={client.cookies['pasokh_session']}"


async def listen(ws: websockets.ClientConnection, receipts: dict[int, list[float]]) -> None:
    """Until cancelled: when each ``call_queued`` event arrived (monotonic clock, shared by every process here)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            received = time.monotonic()
            message = json.loads(raw)
            if message["name"] == "call_queued":
                receipts[message["data"]["call"]["id"]].append(received)


def waiting_call(call_id: int) -> CallPublic:
    """A citizen waiting for an operator: the event every operator's console hears (it names no extension)."""
    now = datetime.now(UTC)
    return CallPublic(id=call_id, linkedid=f"fanout.{call_id}", line="137", caller_number=CALLER, started_at=now,
                      queued_at=now, answered_at=None, ended_at=None, operator_extension=None,
                      outcome=CallOutcome.IN_PROGRESS)


@contextlib.asynccontextmanager
async def raw_baseline(channel: str) -> AsyncIterator[tuple[Redis, asyncio.Queue[float]]]:
    """A raw Redis client to PUBLISH with and a raw subscriber on ``channel``, whose receipt times land in a queue."""
    publisher, listener = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    pubsub = listener.pubsub()
    await pubsub.subscribe(channel)
    while (await pubsub.get_message(timeout=5)) is None:
        pass  # the subscribe confirmation
    arrivals: asyncio.Queue[float] = asyncio.Queue()

    async def receive() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                arrivals.put_nowait(time.monotonic())

    receiver = asyncio.create_task(receive())
    try:
        yield publisher, arrivals
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
        await pubsub.aclose()
        await publisher.aclose()
        await listener.aclose()


async def publish(settings: Settings, outcome: FanoutOutcome) -> dict[int, float]:
    """Every ``INTERVAL_S``: one event through the notifier and the Redis bus (what the telephony process does);
    halfway between two, one raw PUBLISH of the same size for the baseline. Returns when each event went out."""
    bus = RedisBus(settings.redis_url or REDIS_URL, channel=f"{settings.redis_namespace}:events")
    await bus.start()
    notifier = Notifier(bus=bus)
    published: dict[int, float] = {}
    sample = json.dumps({"name": "call_queued", "data": {"call": waiting_call(0).model_dump(mode="json")}})
    try:
        async with raw_baseline(f"{settings.redis_namespace}:baseline") as (raw, arrivals):
            for n in range(1, outcome.events + 1):
                published[n] = time.monotonic()
                notifier.call_queued(waiting_call(n))
                await asyncio.sleep(INTERVAL_S / 2)
                sent = time.monotonic()
                await raw.publish(f"{settings.redis_namespace}:baseline", sample)
                outcome.baseline.observe(await asyncio.wait_for(arrivals.get(), 5) - sent)
                await asyncio.sleep(max(0.0, INTERVAL_S / 2 - (time.monotonic() - sent)))
            await asyncio.sleep(2)  # stragglers
    finally:
        await bus.stop()
    return published


async def delivery_quantiles(url: str) -> tuple[float | None, float | None]:
    """The worker's own figure (``pasokh_event_delivery_seconds``): its share of the time, without the consoles'."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        text = (await client.get("/metrics")).text
    found = dict(re.findall(r'^pasokh_event_delivery_seconds\{quantile="([0-9.]+)"\} (\S+)$', text, re.MULTILINE))
    return tuple(float(found[q]) if q in found else None for q in ("0.5", "0.99"))  # type: ignore[return-value]


def tally(outcome: FanoutOutcome, published: dict[int, float], receipts: dict[int, list[float]]) -> None:
    for n, at in published.items():
        times = receipts.get(n, [])
        outcome.missing += outcome.consoles - len(times)
        if times:
            outcome.last_console.observe(max(times) - at)
            outcome.first_console.observe(min(times) - at)
            for received in times:
                outcome.every_receipt.observe(received - at)


@dataclass
class ConsoleHost:
    """A process holding some of the consoles, as their browsers are other machines: the receiving side never
    queues behind one event loop (its receipts use the machine-wide monotonic clock)."""

    process: asyncio.subprocess.Process

    async def receipts(self) -> dict[int, list[float]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        found = json.loads(await self.process.stdout.read())  # one line, then the process ends
        await self.process.wait()
        return {int(call_id): times for call_id, times in found.items()}


@contextlib.asynccontextmanager
async def console_hosts(consoles: list[tuple[str, str]], folder: Path) -> AsyncIterator[list[ConsoleHost]]:
    """``CONSOLE_PROCESSES`` processes sharing ``consoles`` (websocket URL, session cookie); each is connected
    and greeted when this yields."""
    hosts = []
    try:
        for n in range(CONSOLE_PROCESSES):
            share = folder / f"consoles-{n}.json"
            share.write_text(json.dumps(consoles[n::CONSOLE_PROCESSES]))
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.perf.fanout_bench", str(share), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, env=os.environ | {"PYTHONPATH": str(Path(__file__).parents[2])})
            hosts.append(ConsoleHost(process))
        for host in hosts:
            assert host.process.stdout is not None
            if (await asyncio.wait_for(host.process.stdout.readline(), 300)).strip() != b"ready":
                raise RuntimeError("a console process did not connect its consoles")
        yield hosts
    finally:
        for host in hosts:
            if host.process.returncode is None:
                host.process.kill()
                await host.process.wait()


async def hold_consoles(share: Path) -> None:
    """A console process: connect each console of ``share``, say ``ready``, note receipts until told to stop on
    stdin, then print them (call id → monotonic times) as one JSON line."""
    receipts: dict[int, list[float]] = defaultdict(list)
    async with contextlib.AsyncExitStack() as stack:
        listeners = []
        for url, cookie in json.loads(share.read_text()):
            ws = await stack.enter_async_context(websockets.connect(
                url, additional_headers={"Cookie": cookie}, close_timeout=1, max_queue=None))
            if json.loads(await asyncio.wait_for(ws.recv(), 60))["name"] != "hello":
                raise RuntimeError("a console was not greeted")
            listeners.append(asyncio.create_task(listen(ws, receipts)))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    print(json.dumps(receipts), flush=True)


async def run_fanout(consoles: int = CONSOLES, events: int = EVENTS) -> FanoutOutcome:
    use_cheap_argon2()  # the accounts' hashes; the workers verify at the hash's own (cheap) cost
    outcome = FanoutOutcome(consoles=consoles, events=events)
    with tempfile.TemporaryDirectory(prefix="pasokh-fanout-") as tmp:
        folder = Path(tmp)
        settings = load_settings(environ={}, environment="test", **TEST_SECRETS, state_dir=folder / "state",
                                 database_url=f"sqlite:///{folder / 'fanout.sqlite3'}", redis_url=REDIS_URL,
                                 redis_namespace=f"pasokh-fanout-{uuid.uuid4().hex[:8]}")
        names = create_operators(settings, consoles)
        ports = [free_port() for _ in range(WORKERS)]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        with web_workers(settings, ports, folder) as workers:
            for url in urls:
                await wait_until_serving(url)
            gate = asyncio.Semaphore(LOGINS_AT_ONCE)
            cookies = await asyncio.gather(*(session_cookie(urls[n % len(urls)], name, gate)
                                             for n, name in enumerate(names)))
            consoles_of = [(urls[n % len(urls)].replace("http://", "ws://") + "/ws", cookie)
                           for n, cookie in enumerate(cookies)]
            async with console_hosts(consoles_of, folder) as hosts:
                pids = {f"web worker {n + 1}": worker.pid for n, worker in enumerate(workers)}
                pids |= {f"consoles {n + 1}": host.process.pid for n, host in enumerate(hosts)}
                pids[PUBLISHER] = os.getpid()
                idle = {name: cpu_seconds(pid) for name, pid in pids.items()}
                await asyncio.sleep(IDLE_S)
                outcome.idle_cpu_per_s = {name: (cpu_seconds(pid) - idle[name]) / IDLE_S
                                          for name, pid in pids.items()}
                before, started = {name: cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
                published = await publish(settings, outcome)
                for n, url in enumerate(urls):
                    outcome.server_side[f"web worker {n + 1}"] = await delivery_quantiles(url)
                outcome.publishing_s = time.monotonic() - started
                outcome.cpu_s = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
                outcome.copies = {name: events * consoles // (WORKERS if name.startswith("web") else len(hosts))
                                  for name in pids if name != PUBLISHER}
                receipts: dict[int, list[float]] = defaultdict(list)
                for host in hosts:
                    for call_id, times in (await host.receipts()).items():
                        receipts[call_id] += times
            tally(outcome, published, receipts)
        await _forget(settings)
    return outcome


async def _forget(settings: Settings) -> None:
    admin = Redis.from_url(REDIS_URL)
    keys = [key async for key in admin.scan_iter(f"{settings.redis_namespace}:*")]
    if keys:
        await admin.delete(*keys)
    await admin.aclose()


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.2f}"


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _pair(recorder: LatencyRecorder) -> str:
    return f"{_ms(recorder.quantile(0.5))} / {_ms(recorder.quantile(0.99))} (n={recorder.count})"


def _ratio(ours: float | None, base: float | None) -> str:
    return "n/a" if ours is None or not base else f"{ours / base:,.1f}×"


def fanout_section(outcome: FanoutOutcome) -> str:
    last, base = outcome.last_console, outcome.baseline
    machine = (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} "
               f"{platform.release()}; shared with other jobs (load average {os.getloadavg()[0]:.1f} at the end)")
    goal = "met" if (last.quantile(0.99) or 1.0) < 0.05 else "missed"
    rows = [
        ("Date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("Machine", machine),
        ("Consoles / web workers / events",
         f"{outcome.consoles} / {WORKERS} / {outcome.events} at {1 / INTERVAL_S:.0f} a second"),
        ("Receipts missing", str(outcome.missing)),
        ("Publish → last console p50 / p99 ms (per event)", _pair(last)),
        ("Publish → first console p50 / p99 ms (per event)", _pair(outcome.first_console)),
        ("Publish → each console p50 / p99 ms (every receipt)", _pair(outcome.every_receipt)),
        ("Publish → websocket send, each copy, p50 / p99 ms (the workers' pasokh_event_delivery_seconds, "
         "their last 20,000 copies)",
         ", ".join(f"{name} {_ms(p50)} / {_ms(p99)}" for name, (p50, p99) in outcome.server_side.items()) or "n/a"),
        ("Baseline: raw PUBLISH → one raw subscriber p50 / p99 ms", _pair(base)),
        ("Last console / baseline, p50 / p99", f"{_ratio(last.quantile(0.5), base.quantile(0.5))} / "
                                               f"{_ratio(last.quantile(0.99), base.quantile(0.99))}"),
        ("CPU seconds while publishing (wall time " + f"{outcome.publishing_s:.1f} s)",
         ", ".join(f"{name} {seconds:.1f}" for name, seconds in outcome.cpu_s.items()) or "n/a"),
        ("CPU µs per event copy, above idle (sent by a worker, received by a console process)",
         ", ".join(f"{name} {_us(outcome.cost_per_copy_us(name))}" for name in outcome.cpu_s) or "n/a"),
        ("Goal: last console p99 < 50 ms", goal),
    ]
    lines = [HEADING, "", METHOD, "", "| Measure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # a console process of console_hosts
    asyncio.run(hold_consoles(Path(sys.argv[1])))
