"""Load benchmark: N citizens call 137 at once, M operators answer, every console gets its screen pop.

Everything is real (Asterisk sandbox, sipp, the backend in-process, websockets); nothing asserts on time.
Speed is reported as ratios against a baseline measured side by side, in the same run and process: the
round trip of one line over loopback TCP to a trivial echo process (see docs/benchmarks.md).

    python -m tests.perf.bench [--calls N] [--operators M] [--hold-ms X] [--parts calls,public]
                               [--rate R --duration S] [--public-connections C] [--public-seconds S]
                               [--output docs/benchmarks.md]

``--rate R --duration S`` is the sustained mode: R new calls each second for S seconds (sipp -r), instead of
N at once. Each mode writes its own section of the report (the 30-call burst keeps "Latest run").

The public part (tests/perf/public_site.py) loads the citizens' site with wrk after the calls. The clusters part
(tests/perf/complaint_clusters.py, `--parts clusters`), the fan-out part (tests/perf/fanout_bench.py,
`--parts fanout`), the years-of-data part (tests/perf/data_bench.py, `--parts data`, on PostgreSQL) and the reports
part (tests/perf/reports_bench.py, `--parts reports`, on PostgreSQL) need neither root nor Asterisk and write their
own sections; so does the AGI baseline (tests/perf/agi_baseline.py, `--parts agi-baseline`), which needs both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from callcenter.bootstrap.provisioning import provision_asterisk
from callcenter.platform.lines import LINE_137
from callcenter.platform.metrics import LatencyRecorder
from callcenter.platform.settings import Settings
from callcenter.telephony.asterisk_sandbox import AsteriskProcess, runtime_for
from db.models import Role
from tests.perf.agi_baseline import HEADING as AGI_BASELINE_HEADING
from tests.perf.agi_baseline import run_agi_baseline_part
from tests.perf.complaint_clusters import HEADING as CLUSTERS_HEADING
from tests.perf.complaint_clusters import clusters_section, run_clusters
from tests.perf.data_bench import DEFAULT_URL as DATA_URL
from tests.perf.data_bench import HEADING as DATA_HEADING
from tests.perf.data_bench import PLANS as DATA_PLANS
from tests.perf.data_bench import data_table, existing_section, run_data, upsert_block, write_plans
from tests.perf.fanout_bench import HEADING as FANOUT_HEADING
from tests.perf.fanout_bench import fanout_section, run_fanout
from tests.perf.process_usage import UsageReport, watched
from tests.perf.public_site import PublicSiteOutcome, public_site_rows, run_public_site
from tests.perf.reports_bench import HEADING as REPORTS_HEADING
from tests.perf.reports_bench import reports_section, run_reports
from tests.support.backend import (
    TEST_AMI_USER,
    RunningBackend,
    StaffAccount,
    free_port,
    running_backend,
    seed_staff,
    telephony_settings,
)
from tests.support.console import log_in, next_event
from tests.support.sipp import Sipp, SippResult

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "benchmarks.md"
BENCH_INSTANCE = os.environ.get("PASOKH_BENCH_INSTANCE", "bench")  # another checkout runs its own
BENCH_BASE_PORT = 17000
CITIZEN = "09121234567"
FIRST_EXTENSION = 2001
LATEST_HEADING = "## Latest run"
BASELINE_INTERVAL_S = 0.02

# A separate process that answers each line at once: the floor for "send one line over loopback TCP to another
# process and read its answer", which is what an AGI command is, minus Asterisk's own work.
ECHO_SERVER = """
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while conn.recv(4096):
    conn.sendall(b"200 result=0\\n")
"""


@dataclass
class Outcome:
    calls: int
    operators: int
    hold_ms: int
    rate: int | None = None  # the sustained mode: new calls each second (calls = rate x duration)
    duration_s: int | None = None
    sipp: SippResult | None = None
    pops: int = 0
    agi_all: tuple[float | None, float | None, int] = (None, None, 0)
    agi_by_command: dict[str, LatencyRecorder] = field(default_factory=lambda: defaultdict(LatencyRecorder))
    baseline: LatencyRecorder = field(default_factory=LatencyRecorder)
    pop_server: tuple[float | None, float | None, int] = (None, None, 0)
    pop_client: LatencyRecorder = field(default_factory=LatencyRecorder)
    pop_from_phone: LatencyRecorder = field(default_factory=LatencyRecorder)  # operator's 200 OK → ws receive
    usage: UsageReport = field(default_factory=UsageReport)
    asterisk_version: str = "?"
    run_calls: bool = True
    public: PublicSiteOutcome | None = None
    run_public: bool = True

    @property
    def failed_calls(self) -> int:
        if self.sipp is None:
            return self.calls
        return max(self.sipp.failed, self.calls - self.sipp.successful)

    @property
    def calls_ok(self) -> bool:
        return not self.run_calls or (self.failed_calls == 0 and self.pops >= self.calls)

    @property
    def public_ok(self) -> bool:
        return not self.run_public or (self.public is not None and self.public.ok)

    @property
    def ok(self) -> bool:
        return self.calls_ok and self.public_ok


def bench_operators(count: int) -> tuple[StaffAccount, ...]:
    return tuple(
        StaffAccount(f"bench{n:03d}", f"bench-pass-{n:03d}", Role.OPERATOR, str(FIRST_EXTENSION + n - 1),
                     f"Sip{FIRST_EXTENSION + n - 1}bench")
        for n in range(1, count + 1)
    )


@contextlib.asynccontextmanager
async def echo_baseline(samples: LatencyRecorder, running: asyncio.Event) -> AsyncIterator[None]:
    """Ping the echo process from this event loop every 20 ms while ``running`` is set."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", ECHO_SERVER, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    port = int((await asyncio.wait_for(process.stdout.readline(), 10)).decode())
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def ping() -> None:
        await running.wait()
        while running.is_set():
            started = time.perf_counter()
            writer.write(b"NOOP\n")
            await writer.drain()
            await reader.readline()
            samples.observe(time.perf_counter() - started)
            await asyncio.sleep(BASELINE_INTERVAL_S)

    pinger = asyncio.create_task(ping())
    try:
        yield
    finally:
        pinger.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pinger
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        process.kill()
        await process.wait()


@dataclass
class Console:
    account: StaffAccount
    client: httpx.AsyncClient
    ws: Any
    pops: list[tuple[dict[str, Any], datetime]] = field(default_factory=list)


async def open_console(backend: RunningBackend, account: StaffAccount, stack: contextlib.AsyncExitStack) -> Console:
    client = httpx.AsyncClient(base_url=backend.url, timeout=30)
    stack.push_async_callback(client.aclose)
    response = await log_in(client, account.username, account.password)
    if response.status_code != 303:
        raise RuntimeError(f"login of {account.username} failed: {response.status_code} {response.text[:200]}")
    cookie = f"pasokh_session={client.cookies['pasokh_session']}"
    ws = await stack.enter_async_context(
        websockets.connect(backend.ws_url, additional_headers={"Cookie": cookie}, close_timeout=2)
    )
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if hello["name"] != "hello":
        raise RuntimeError(f"unexpected first websocket message: {hello}")
    return Console(account=account, client=client, ws=ws)


async def collect_pops(console: Console) -> None:
    """Until cancelled: note each screen pop and when it arrived (wall clock, UTC)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in console.ws:
            message = json.loads(raw)
            if message["name"] == "call_connected":
                console.pops.append((message, datetime.now(UTC)))


ANSWER_SENT = re.compile(r"^-{10,} (\d{4}-\d\d-\d\d[ \t]\d\d:\d\d:\d\d\.\d+)", re.MULTILINE)


def phone_answers(message_log: Path) -> dict[str, list[datetime]]:
    """When each operator's phone sent its 200 OK to an INVITE (it answered), by extension, from sipp's
    -trace_msg log (its clock is this machine's, in UTC here)."""
    if not message_log.exists():
        return {}
    text = message_log.read_text(errors="replace")
    answers: dict[str, list[datetime]] = defaultdict(list)
    stamps = list(ANSWER_SENT.finditer(text))
    for stamp, after in zip(stamps, [*stamps[1:], None], strict=True):
        body = text[stamp.end():after.start() if after else len(text)]
        if "message sent" not in body[:120]:  # the line after the stamp: "UDP message sent (N bytes):"
            continue
        if "SIP/2.0 200 OK" not in body or not re.search(r"^CSeq:\s*\d+ INVITE", body, re.MULTILINE):
            continue
        to = re.search(r"^To:.*?sip:([^@>;]+)@", body, re.MULTILINE)
        if to:
            at = datetime.fromisoformat(stamp.group(1).replace("\t", " ")).replace(tzinfo=UTC)
            answers[to.group(1)].append(at)
    return {extension: sorted(times) for extension, times in answers.items()}


def answered_on_phone(answers: dict[str, list[datetime]], extension: str, received: datetime) -> float | None:
    """Seconds from the latest answer of ``extension``'s phone before the pop arrived to its arrival."""
    before = [at for at in answers.get(extension, ()) if at <= received]
    return (received - before[-1]).total_seconds() if before else None


def worker_threads_queued(loop: asyncio.AbstractEventLoop) -> int:
    """Jobs waiting for one of asyncio.to_thread's worker threads (the database calls of FastAGI, the tracker...)."""
    executor = getattr(loop, "_default_executor", None)
    queue = getattr(executor, "_work_queue", None)
    return queue.qsize() if queue is not None else 0


def answered_to_received(message: dict[str, Any], received: datetime) -> float | None:
    answered = message["data"]["call"].get("answered_at")
    if not answered:
        return None
    at = datetime.fromisoformat(answered)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return (received - at).total_seconds()


async def run_calls(settings: Settings, outcome: Outcome, accounts: Sequence[StaffAccount], workdir: Path,
                    base_port: int, asterisk_pid: Callable[[], int | None]) -> None:
    phones_port, citizens_port = base_port + 71, base_port + 70
    sipp = Sipp(sip_port=settings.sip_port, workdir=workdir)
    registered = await sipp.register_phones([(a.extension, a.sip_password) for a in accounts], local_port=phones_port)
    if registered.successful != len(accounts):
        raise RuntimeError(f"only {registered.successful}/{len(accounts)} phones registered:\n"
                           f"{registered.output[-3000:]}")
    message_log = workdir / "phones-messages.log"
    phones = await sipp.start_phones(local_port=phones_port, message_log=message_log)
    consoles: list[Console] = []
    try:
        async with running_backend(settings) as backend, contextlib.AsyncExitStack() as stack:
            take_signals_back()
            seed_staff(backend.engine, staff=tuple(accounts))
            ami = backend.services.web.ami

            async def leave_all() -> None:
                for account in accounts:
                    with contextlib.suppress(Exception):
                        await ami.queue_remove(queue=LINE_137.queue, extension=account.extension)

            # queues.conf keeps members across restarts (persistentmembers): clear what an aborted run left.
            await leave_all()
            stack.push_async_callback(leave_all)
            consoles = [await open_console(backend, account, stack) for account in accounts]
            for console in consoles:
                joined = await console.client.post("/api/queue/join", json={"queue": LINE_137.queue})
                if joined.status_code != 204:
                    raise RuntimeError(f"{console.account.username} could not join: {joined.status_code} {joined.text}")
                await next_event(console.ws, "agent_state")

            backend.services.web.metrics.reset_latencies()
            running = asyncio.Event()
            collectors = [asyncio.create_task(collect_pops(console)) for console in consoles]
            telephony = backend.services.telephony
            assert telephony is not None  # the bench's backend drives Asterisk itself
            pids = {"backend": os.getpid, "asterisk": asterisk_pid}
            bus, loop = backend.services.bus, asyncio.get_running_loop()
            gauges = {"ami_events_pending": lambda: telephony.bridge.events_pending,
                      "record_writes_pending": lambda: telephony.tracker.writes_pending,
                      "announcements_waiting": lambda: telephony.tracker.announcements_waiting,
                      "console_events_queued": lambda: getattr(bus, "deepest_backlog", 0),
                      "worker_threads_queue": lambda: worker_threads_queued(loop)}
            sustained = outcome.rate is not None and outcome.duration_s is not None
            try:
                async with echo_baseline(outcome.baseline, running), watched(pids, gauges, outcome.usage):
                    running.set()
                    outcome.sipp = await sipp.citizen_calls(
                        caller=CITIZEN, digits="1", hold_ms=outcome.hold_ms, calls=outcome.calls,
                        concurrent=outcome.calls, rate_per_s=outcome.rate or outcome.calls,
                        local_port=citizens_port,
                        timeout=60 + outcome.hold_ms / 1000 + (outcome.duration_s or 0 if sustained else 0),
                    )
                    running.clear()
                deadline = time.monotonic() + 5  # late pops, if any, get a few seconds more
                while sum(len(c.pops) for c in consoles) < outcome.calls and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
            finally:
                for task in collectors:
                    task.cancel()
                await asyncio.gather(*collectors, return_exceptions=True)

            metrics = backend.services.web.metrics
            # Known once CoreSettings answered.
            outcome.asterisk_version = backend.services.web.ami.asterisk_version or "?"
            outcome.agi_all = (metrics.agi_command.quantile(0.5), metrics.agi_command.quantile(0.99),
                               metrics.agi_command.count)
            outcome.agi_by_command = dict(metrics.agi_by_command)
            outcome.pop_server = (metrics.screen_pop.quantile(0.5), metrics.screen_pop.quantile(0.99),
                                  metrics.screen_pop.count)
            for console in consoles:
                for message, received in console.pops:
                    latency = answered_to_received(message, received)
                    if latency is not None:
                        outcome.pop_client.observe(latency)
            outcome.pops = sum(len(c.pops) for c in consoles)
    finally:
        phones.kill()
        await phones.wait()
        kill_our_children("sipp")
    answers = phone_answers(message_log)
    for console in consoles:
        for message, received in console.pops:
            waited = answered_on_phone(answers, str(message["data"].get("extension", "")), received)
            if waited is not None:
                outcome.pop_from_phone.observe(waited)


def verdict(outcome: Outcome) -> str:
    if outcome.ok:
        return "ok"
    reasons = [] if outcome.calls_ok else ["calls failed or pops missing"]
    reasons += [] if outcome.public_ok else ["public site errors, or submissions and tickets differ"]
    return "FAILED: " + "; ".join(reasons)


async def run_public(settings: Settings, outcome: Outcome, connections: int, seconds: int) -> None:
    async with running_backend(settings, leave_queues=False) as backend:  # nobody joined a queue here
        take_signals_back()
        outcome.asterisk_version = backend.services.web.ami.asterisk_version or outcome.asterisk_version
        outcome.public = await run_public_site(settings, backend.engine, base_url=backend.url,
                                               connections=connections, seconds=seconds)


def busy_ports(udp: Sequence[int], tcp: Sequence[int]) -> list[str]:
    busy = []
    for kind, ports in ((socket.SOCK_DGRAM, udp), (socket.SOCK_STREAM, tcp)):
        for port in ports:
            with socket.socket(socket.AF_INET, kind) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    busy.append(f"{'udp' if kind == socket.SOCK_DGRAM else 'tcp'}/{port}")
    return busy


def wait_for_free_ports(base_port: int, timeout: float = 30) -> None:
    """sipp's ports (citizens +70 and their media +120, phones +71 and their media +101, as tests/support/sipp.py
    derives them) and FastAGI's: wait a little if another process holds one, then say which."""
    udp, tcp = [base_port + 70, base_port + 71, base_port + 101, base_port + 120], [base_port + 73]
    deadline = time.monotonic() + timeout
    while busy := busy_ports(udp, tcp):
        if time.monotonic() > deadline:
            raise RuntimeError(f"ports in use: {', '.join(busy)}; pick another --base-port")
        time.sleep(1)


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.2f}"


def pair(p50: float | None, p99: float | None) -> str:
    return f"{ms(p50)} / {ms(p99)}"


def ratio(ours: float | None, base: float | None) -> str:
    return "n/a" if ours is None or not base else f"{ours / base:,.1f}×"


def usage_rows(usage: UsageReport) -> list[tuple[str, str]]:
    """CPU and memory of the backend process (with the bench's own clients in it) and of Asterisk, over the calls."""
    if not usage.wall_seconds:
        return []
    rows = [("Calls phase wall time / machine CPU busy (every process, 2 cores shared)",
             f"{usage.wall_seconds:.0f} s / {usage.machine_cpu_seconds:.0f} CPU s "
             f"({usage.machine_cpu_seconds / usage.wall_seconds:.2f} cores on average)")]
    for name, label in (("backend", "Backend process (telephony + web + the bench's clients)"),
                        ("asterisk", "Asterisk")):
        found = usage.processes.get(name)
        if found is None:
            continue
        rss = "n/a" if found.peak_rss_mb is None else f"{found.peak_rss_mb:.0f} MB"
        rows.append((f"{label}: CPU s / average cores / busiest second / peak RSS",
                     f"{found.cpu_seconds:.1f} s / {found.cores(usage.wall_seconds):.2f} / "
                     f"{found.busiest_cores:.2f} cores / {rss}"))
    peaks = ", ".join(f"{name} {value:.0f}" for name, value in sorted(usage.peaks.items()))
    rows.append(("Peak backlogs (sampled each second)", peaks or "n/a"))
    return rows


def results_table(outcome: Outcome) -> str:
    base50, base99 = outcome.baseline.quantile(0.5), outcome.baseline.quantile(0.99)
    setvar = outcome.agi_by_command.get("SET VARIABLE", LatencyRecorder())
    set50, set99 = setvar.quantile(0.5), setvar.quantile(0.99)
    all50, all99, all_count = outcome.agi_all
    pop50, pop99, pop_count = outcome.pop_server
    phone50, phone99 = outcome.pop_from_phone.quantile(0.5), outcome.pop_from_phone.quantile(0.99)
    machine = (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} "
               f"{platform.release()}, Asterisk {outcome.asterisk_version}")
    failed = outcome.failed_calls
    per_command = ", ".join(
        f"{name} {pair(s.quantile(0.5), s.quantile(0.99))} (n={s.count})"
        for name, s in sorted(outcome.agi_by_command.items())
    )
    rows = [
        ("Date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("Machine", machine),
        ("Calls N / operators M / citizen hold", f"{outcome.calls} / {outcome.operators} / {outcome.hold_ms} ms"
         + (f" (sustained: {outcome.rate} new calls/s for {outcome.duration_s} s)" if outcome.rate else
            " (all at once)")),
        ("Failed calls (sipp)", str(failed)),
        ("Screen pops received (websockets)", f"{outcome.pops} / {outcome.calls}"),
        ("AGI command p50 / p99 ms, no media (SET VARIABLE)", f"{pair(set50, set99)} (n={setvar.count})"),
        ("Baseline: loopback TCP echo p50 / p99 ms", f"{pair(base50, base99)} (n={outcome.baseline.count})"),
        ("AGI no-media / baseline, p50 / p99", f"{ratio(set50, base50)} / {ratio(set99, base99)}"),
        ("AGI command p50 / p99 ms, every command that plays no media (metrics.agi_command)",
         f"{pair(all50, all99)} (n={all_count})"),
        ("AGI per command p50 / p99 ms", per_command or "n/a"),
        ("Screen pop p50 / p99 ms, server (AMI AgentConnect → websocket send)",
         f"{pair(pop50, pop99)} (n={pop_count})"),
        ("Screen pop server / baseline, p50 / p99", f"{ratio(pop50, base50)} / {ratio(pop99, base99)}"),
        ("Screen pop p50 / p99 ms, client (AgentConnect arrival → websocket receive)",
         f"{pair(outcome.pop_client.quantile(0.5), outcome.pop_client.quantile(0.99))} "
         f"(n={outcome.pop_client.count})"),
        ("Phone answered → screen shown p50 / p99 ms (operator sipp's 200 OK sent → websocket receive)",
         f"{pair(phone50, phone99)} (n={outcome.pop_from_phone.count})"),
        ("Phone answered → screen shown / baseline, p50 / p99", f"{ratio(phone50, base50)} / {ratio(phone99, base99)}"),
        *usage_rows(outcome.usage),
    ]
    if not outcome.run_calls:
        rows = rows[:2]
    if outcome.public is not None:
        rows += public_site_rows(outcome.public)
    rows.append(("Verdict", verdict(outcome)))
    lines = ["| Measure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


INTRO = """# Benchmarks

`make bench` (or `python -m tests.perf.bench [--calls N] [--operators M] [--hold-ms X] [--parts calls,public]`) runs
a real load: its own Asterisk sandbox instance (`bench`, ports from 17000), M sipp operator phones registered and
answering, the backend in-process with one logged-in websocket console per operator, every operator in the 137 queue,
then N sipp citizens calling 137 at once and pressing 1. Nothing is mocked; nothing asserts on time. The run
fails (exit 1) when a call fails or a console misses its screen pop.

**Baseline.** Absolute times depend on the machine, so figures are also given as ratios to a baseline
measured side by side in the same run: during the calls, the bench's event loop sends one line every 20 ms
over loopback TCP to a trivial echo process and reads the answer. That is what an AGI command is (one line
out, one line back, another process, this event loop) minus Asterisk's and our own work, under the same load,
so the ratio shows our cost above this machine's floor.

**Reading the figures.** `STREAM FILE` / `GET DATA` only answer when their prompt has finished (or a digit
interrupts it), so their time is the caller's, not ours: the project records them per command
(`pasokh_agi_command_by_name_seconds`) and keeps them out of `pasokh_agi_command_seconds`, the figure compared
to the baseline. The screen-pop server figure is the project's
`pasokh_screen_pop_seconds` (AMI AgentConnect received → websocket message sent); the client figure is the
websocket receive time minus the call's `answered_at` (wall clock, same machine), which is the moment the
AgentConnect reached the backend (not when the backend got round to it): what the operator waits for from the
phone's answer to the screen. Until 2026-12-03 `answered_at` was stamped when the event was handled, so the client
figure hid the event path's backlog (9 ms client against 2.6 s server at 100 calls); the server figure was right.
A p99 over n=N samples is
the slowest one or two, while the baseline's p99 covers ~900 pings across the whole run: compare p50 ratios,
read p99 ratios as a rough bound. The bench's own websocket clients share the backend's process and loop.

**At scale (issue #16).** `--calls 100`, `--calls 300` (N at once) and the sustained mode `--rate 10 --duration 300`
(10 new calls each second for 5 minutes, sipp `-r`) write sections of their own below. Each also reports what the
operator waits for: **phone answered → screen shown**, from the moment the operator's sipp phone sent its `200 OK`
to the INVITE (its `-trace_msg` log, same clock) to the websocket receive in that operator's console; CPU seconds,
the busiest second and the peak RSS (`VmHWM`) of the backend process and of Asterisk, read from `/proc` during the
calls (the backend process also runs the bench's own consoles and echo pinger); the machine's CPU busy over the same
time (every process, other people's included: the machine is shared); and the largest backlog of AMI events and of
record writes (ADR 0084) sampled each second.

**The public site** (`--parts public`, tests/perf/public_site.py): the same backend (one process, as `make run`
serves it, on the bench's SQLite database) under wrk (Debian's package, another process) with 200 connections open
at once, three runs of 20 s one after another: the baseline, `GET /healthz` (the same server, middleware and one
database query, none of the site's own work); status lookups, the signed links of SMS messages and receipts spread
over 500 tickets; and report submissions, urlencoded `POST /citizen/report` from one browser session that verified
its mobile by the SMS code read from the outbox, each with a new `request_id`, so each files a ticket (routing,
referral, tracking-code SMS). Then the tickets are counted: every answered submission must be one ticket (a few
more, at most one per connection, are the submissions wrk stopped waiting for at the end of its run). Latencies are
wrk's, over every request; at 200 connections against one process they are mostly queueing, so the ratios to the
baseline are the figures to compare between runs and machines. wrk shares the two cores with the backend.
"""


def write_report(path: Path, table: str, heading: str = LATEST_HEADING) -> None:
    write_section(path, heading, f"{heading}\n\n{table}\n")


def report_heading(outcome: Outcome) -> str:
    """The default 30-call burst is "Latest run"; other sizes and the sustained mode keep sections of their own."""
    if outcome.rate is not None:
        return f"## Calls sustained: {outcome.rate} new calls/s for {outcome.duration_s} s"
    if outcome.calls == 30 or not outcome.run_calls:
        return LATEST_HEADING
    return f"## Calls: {outcome.calls} at once"


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace the section under ``heading`` (up to the next ``## ``), or add it at the end."""
    text = path.read_text() if path.exists() else INTRO
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=int(os.environ.get("PASOKH_BENCH_CALLS", "30")),
                        help="concurrent citizen calls (env PASOKH_BENCH_CALLS, default 30)")
    parser.add_argument("--operators", type=int, default=None, help="operator phones and consoles (default: calls)")
    parser.add_argument("--hold-ms", type=int, default=15000,
                        help="how long each citizen stays on after pressing 1 (greeting, prompt, operator)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to update")
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("PASOKH_BENCH_BASE_PORT", BENCH_BASE_PORT)),
                        help="the bench's block of 1000 ports (SIP +60, AMI +38, AGI +73, citizens +70, phones +71, "
                             "RTP +200..+999; env PASOKH_BENCH_BASE_PORT, default 17000)")
    parser.add_argument("--parts", default="calls,public",
                        help="what to measure, comma-separated: calls, public, clusters, fanout, agi-baseline, "
                             "data, reports (default calls,public)")
    parser.add_argument("--data-url", default=DATA_URL, help="data: the PostgreSQL database (created and filled if "
                                                             "needed; env PASOKH_BENCH_DATA_URL)")
    parser.add_argument("--data-tickets", type=int, default=1_000_000,
                        help="data: tickets the database should hold (generated up to this; default 1,000,000)")
    parser.add_argument("--data-samples", type=int, default=200, help="data: samples of each quick measure")
    parser.add_argument("--data-slow-samples", type=int, default=10,
                        help="data: samples of the wallboard and the scorecard (the trend a third of them)")
    parser.add_argument("--data-label", default="Latest run", help="data: the run's sub-heading (e.g. before/after)")
    parser.add_argument("--rate", type=int, default=None,
                        help="sustained mode: new calls each second (with --duration; calls = rate x duration)")
    parser.add_argument("--duration", type=int, default=None, help="sustained mode: seconds of new calls")
    parser.add_argument("--public-connections", type=int, default=200, help="wrk's connections open at once")
    parser.add_argument("--public-seconds", type=int, default=20, help="length of each wrk run")
    args = parser.parse_args(argv)
    args.parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    if not args.parts or args.parts - {"calls", "public", "clusters", "fanout", "agi-baseline", "data", "reports"}:
        parser.error("--parts takes calls, public, clusters, fanout, agi-baseline, data, reports or several of them")
    if (args.rate is None) != (args.duration is None):
        parser.error("--rate and --duration go together")
    if args.rate is not None:
        args.calls = args.rate * args.duration
    if args.operators is None:
        args.operators = args.calls
    if args.calls < 1 or args.operators < 1:
        parser.error("--calls and --operators must be at least 1")
    return args


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def take_signals_back() -> None:
    """uvicorn's Server.serve captures SIGINT/SIGTERM for itself (it would stop only the backend while sipp calls
    go on): once it has started, both signals cancel the whole bench instead, so every cleanup runs at once."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, task.cancel)


async def cancellable(work: Coroutine[Any, Any, None]) -> None:
    """SIGTERM cancels the work like Ctrl-C does under asyncio.run."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await work
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        signal.signal(signal.SIGTERM, _interrupt)


def kill_our_children(name: str) -> None:
    """Sipp._run leaves sipp running when its caller is cancelled: end our own children of that name, by pid."""
    for task_dir in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            for pid in (task_dir / "children").read_text().split():
                with contextlib.suppress(OSError):
                    if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                        os.kill(int(pid), signal.SIGKILL)


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_clusters_part(output: Path) -> None:
    """The clusters' quality and speed (tests/perf/complaint_clusters.py): no Asterisk, no root."""
    section = clusters_section(run_clusters())
    print(section)
    write_section(output, CLUSTERS_HEADING, section)
    print(f"written to {output}")


def run_fanout_part(output: Path) -> bool:
    """One event to 500 consoles on two web workers through Redis (tests/perf/fanout_bench.py): no Asterisk."""
    outcome = asyncio.run(run_fanout())
    section = fanout_section(outcome)
    print(section)
    write_section(output, FANOUT_HEADING, section)
    print(f"written to {output}")
    return outcome.ok


def run_data_part(args: argparse.Namespace) -> None:
    """Years of data on PostgreSQL (tests/perf/data_bench.py): no Asterisk, no root."""
    outcome = run_data(args.data_url, tickets=args.data_tickets, samples=args.data_samples,
                       slow_samples=args.data_slow_samples, label=args.data_label)
    block = data_table(outcome)
    print(block)
    write_section(args.output, DATA_HEADING,
                  upsert_block(existing_section(args.output), args.data_label, block))
    write_plans(DATA_PLANS, outcome)
    print(f"written to {args.output} and {DATA_PLANS}")


def run_reports_part(output: Path) -> None:
    """The reports on a generated history, both ways (tests/perf/reports_bench.py): PostgreSQL, no Asterisk."""
    section = reports_section(run_reports())
    print(section)
    write_section(output, REPORTS_HEADING, section)
    print(f"written to {output}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    side_parts = {"clusters": lambda: run_clusters_part(args.output), "data": lambda: run_data_part(args),
                  "reports": lambda: run_reports_part(args.output)}
    for part, run in side_parts.items():
        if part in args.parts:
            run()
            args.parts -= {part}
    if "fanout" in args.parts:
        if not run_fanout_part(args.output):
            return 1
        args.parts -= {"fanout"}
    if not args.parts:
        return 0
    if os.geteuid() != 0 or not shutil.which("sipp"):
        print("the bench needs root (Asterisk sandbox) and sipp (Debian sip-tester); try `make bench`", file=sys.stderr)
        return 2
    # SIGTERM (CI timeouts, kill) unwinds like Ctrl-C, so the finally blocks stop sipp, backend and Asterisk.
    signal.signal(signal.SIGTERM, _interrupt)
    if "agi-baseline" in args.parts:  # tests/perf/agi_baseline.py: its own section, its own verdict
        wait_for_free_ports(args.base_port)
        try:
            section, baseline_ok = run_agi_baseline_part(base_port=args.base_port, calls=args.calls,
                                                         instance=BENCH_INSTANCE)
        except KeyboardInterrupt:
            print("interrupted; sipp and Asterisk stopped, no report written", file=sys.stderr)
            return 130
        print(section)
        write_section(args.output, AGI_BASELINE_HEADING, section)
        args.parts -= {"agi-baseline"}
        if not args.parts:
            return 0 if baseline_ok else 1
    outcome = Outcome(calls=args.calls, operators=args.operators, hold_ms=args.hold_ms, rate=args.rate,
                      duration_s=args.duration, run_calls="calls" in args.parts, run_public="public" in args.parts)
    accounts = bench_operators(args.operators)
    with tempfile.TemporaryDirectory(prefix="pasokh-bench-") as tmp:
        workdir = Path(tmp)
        settings = telephony_settings(workdir / "state", instance=BENCH_INSTANCE, base_port=args.base_port)
        settings = settings.model_copy(update={
            "database_url": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "web_port": free_port(),
            # the dialplan refuses calls beyond max_inbound_calls with a busy message: let N through
            "max_inbound_calls": max(settings.max_inbound_calls, args.calls),
        })
        asterisk = AsteriskProcess(runtime_for(settings))
        try:
            wait_for_free_ports(args.base_port)
            provision_asterisk(settings, phones=[a.phone for a in accounts], extra_ami_users=[TEST_AMI_USER])
            if outcome.run_calls:
                asyncio.run(cancellable(run_calls(settings, outcome, accounts, workdir / "sipp", args.base_port,
                                                  asterisk.pid)))
            if outcome.run_public:
                asyncio.run(cancellable(run_public(settings, outcome, args.public_connections, args.public_seconds)))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted; sipp, backend and Asterisk stopped, no report written", file=sys.stderr)
            return 130
        finally:
            asterisk.stop()
        if outcome.sipp is not None and outcome.failed_calls:
            print(outcome.sipp.output[-3000:], file=sys.stderr)
    table = results_table(outcome)
    print(table)
    write_report(args.output, table, report_heading(outcome))
    print(f"\nwritten to {args.output}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
