"""Years of data: what people wait for on a PostgreSQL database filled by `demo-data`, beside a baseline, with plans.

The real app (create_app, no telephony) is served by uvicorn on loopback in a thread of this process; one HTTP client
asks, one request at a time, what a person's screen asks: a ticket by its code, a liaison's inbox page (and the next),
the duplicate check by caller and by address, the citizen's status page, the wallboard, the scorecard month and its
trend. The caller's history for the screen pop is the telephony process's function (``tickets_for_caller`` in a
unit of work), timed as called. Baselines in the same run: ``GET /api/me`` (the same server, middleware, session
check and account read) between the HTTP samples, and a unit of work running ``SELECT 1`` between the function's
samples. One sample of each measure runs with the SQL it sends recorded; each SELECT is then run again under
``EXPLAIN (ANALYZE, BUFFERS)`` and the slowest are written to docs/benchmarks/data-plans.md.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from callcenter.bootstrap.app import create_app
from callcenter.bootstrap.demo_data import DemoDataOptions, busiest_caller_number, generate_demo_data
from callcenter.citizens.links import status_path
from callcenter.platform.metrics import LatencyRecorder
from callcenter.platform.security import hash_password
from callcenter.platform.settings import load_settings
from callcenter.tickets.store import DUPLICATE_WINDOW, tickets_for_caller
from db.engine import make_engine, unit_of_work, upgrade_database
from db.models import Role, Unit, User
from db.seed import seed_reference_data
from tests.support.backend import TEST_SECRETS, free_port, start_serving
from tests.support.console import csrf_armed, login_form

HEADING = "## Years of data (`--parts data`)"
DEFAULT_URL = os.environ.get("PASOKH_BENCH_DATA_URL", "postgresql://postgres@127.0.0.1:5432/pasokh_bench_data")
PLANS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "data-plans.md"
PASSWORD = "bench-data-password"
WASTE = "سازمان مدیریت پسماند"
PLANS_PER_MEASURE = 3


@dataclass(frozen=True)
class Measure:
    name: str
    goal_ms: float | None  # p99 goal from issue #16, if it sets one
    samples: int
    baseline: str  # "http" or "db"
    run: Callable[[int], object]  # the i-th sample


@dataclass
class Result:
    measure: Measure
    latencies: LatencyRecorder = field(default_factory=LatencyRecorder)
    statuses: set[int] = field(default_factory=set)
    plans: list[tuple[float, str, str]] = field(default_factory=list)  # (execution ms, SQL, plan)
    statements: int = 0  # sent by one sample


@dataclass
class DataOutcome:
    tickets: int
    transitions: int
    calls: int
    generated_seconds: float | None
    results: list[Result]
    baselines: dict[str, LatencyRecorder]
    label: str


# --- the SQL a request sends, recorded for EXPLAIN ---

_recording: list[tuple[str, Any]] | None = None


def _record_statement(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                      executemany: bool) -> None:
    if _recording is not None:
        _recording.append((statement, None if executemany else parameters))


@contextmanager
def recorded_statements() -> Iterator[list[tuple[str, Any]]]:
    global _recording
    _recording = []
    event.listen(Engine, "before_cursor_execute", _record_statement)
    try:
        yield _recording
    finally:
        event.remove(Engine, "before_cursor_execute", _record_statement)
        _recording = None


def explain(engine: Engine, statements: list[tuple[str, Any]]) -> list[tuple[float, str, str]]:
    """Each distinct SELECT again under EXPLAIN (ANALYZE, BUFFERS), the slowest first."""
    plans, seen = [], set()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if statement in seen or parameters is None or not statement.lstrip().upper().startswith("SELECT"):
                continue
            seen.add(statement)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            executed = next((float(line.split(":")[1].split()[0]) for line in plan.splitlines()
                             if line.strip().startswith("Execution Time")), 0.0)
            plans.append((executed, statement, plan))
        raw.rollback()
    finally:
        raw.close()
    return sorted(plans, key=lambda item: item[0], reverse=True)[:PLANS_PER_MEASURE]


# --- the database and the people ---


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(make_engine(url.rsplit("/", 1)[0] + "/postgres").url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def ensure_staff(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        seed_reference_data(session)
        waste = session.exec(select(Unit).where(Unit.name == WASTE)).one()
        existing = {u.username for u in session.exec(select(User)).all()}
        for username, role, unit in (("bench.supervisor", Role.SUPERVISOR, None),
                                     ("bench.liaison", Role.UNIT_LIAISON, waste.id)):
            if username not in existing:
                session.add(User(username=username, full_name=username, role=role, unit_id=unit,
                                 password_hash=hash_password(PASSWORD)))


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


@dataclass
class Samples:
    codes: list[str]
    callers: list[str]
    recent: list[tuple[int, str, str]]  # (category, address, caller) of recent open tickets


def pick_samples(engine: Engine, rng: random.Random, size: int) -> Samples:
    with engine.connect() as connection:
        low, high = connection.execute(sa.text("SELECT min(id), max(id) FROM ticket")).one()
        ids = [rng.randint(low, high) for _ in range(size * 2)]
        rows = connection.execute(sa.text("SELECT tracking_code, caller_number FROM ticket WHERE id = ANY(:ids)"),
                                  {"ids": ids}).all()
        since = datetime.now(UTC).replace(tzinfo=None) - DUPLICATE_WINDOW
        recent = connection.execute(sa.text(
            "SELECT category_id, address, coalesce(caller_number, '') FROM ticket WHERE created_at >= :since "
            "AND status NOT IN ('verified', 'closed_on_verdict', 'cancelled') ORDER BY random() LIMIT :n"),
            {"since": since, "n": size}).all()
    # One in twenty is the busiest caller (thousands of tickets): the p99 is theirs.
    others = [caller for _, caller in rows if caller]
    callers = [busiest_caller_number() if i % 20 == 0 else others[i % len(others)] for i in range(size)]
    return Samples(codes=[code for code, _ in rows][:size], callers=callers,
                   recent=[(int(c), a, p) for c, a, p in recent])


# --- the run ---


class Served:
    """The app on loopback, served by uvicorn in its own thread (its own event loop), until stopped."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(app,), daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the app did not start serving")

    def _serve(self, app: Any) -> None:
        asyncio.set_event_loop(self._loop)
        self.server, self.task = self._loop.run_until_complete(start_serving(app, self.port))
        self._ready.set()
        self._loop.run_until_complete(self.task)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(30)


def logged_in(base_url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=600)
    client.get("/login")
    csrf_armed(client)
    response = client.post("/login", data=login_form(client, username, PASSWORD))
    if response.status_code != 303:
        raise RuntimeError(f"login of {username} failed: {response.status_code}")
    return client


def run_data(url: str, *, tickets: int, samples: int, slow_samples: int, label: str) -> DataOutcome:
    ensure_database(url)
    upgrade_database(url)
    engine = make_engine(url)
    ensure_staff(engine)
    generated = None
    have = count(engine, "ticket")
    if have < tickets:
        print(f"generating {tickets - have} tickets (the database has {have})", flush=True)
        report = generate_demo_data(engine, DemoDataOptions(tickets=tickets - have, seed=137 + have),
                                    progress=lambda line: print(line, flush=True))
        generated = report.seconds
    rng = random.Random(16)
    picked = pick_samples(engine, rng, samples)
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=url)
    served = Served(create_app(settings, telephony=False))
    base = f"http://127.0.0.1:{served.port}"
    staff, liaison = logged_in(base, "bench.supervisor"), logged_in(base, "bench.liaison")
    json_headers = {"Accept": "application/json"}
    baselines = {"http": LatencyRecorder(), "db": LatencyRecorder()}
    try:
        first_inbox = liaison.get("/api/inbox", headers=json_headers).json()
        cursor = first_inbox.get("next_cursor")

        def history(i: int) -> object:
            with unit_of_work(engine) as session:
                return tickets_for_caller(session, picked.callers[i % len(picked.callers)])

        def duplicates_by_address(i: int) -> httpx.Response:
            category, address, _ = picked.recent[i % len(picked.recent)]
            return staff.get("/api/duplicates", params={"category_id": category, "address": address})

        measures = [
            Measure("Ticket by tracking code (`GET /api/tickets/{code}`)", 5, samples, "http",
                    lambda i: staff.get(f"/api/tickets/{picked.codes[i % len(picked.codes)]}", headers=json_headers)),
            Measure("Ticket's history (`GET /api/tickets/{code}/history`)", 5, samples, "http",
                    lambda i: staff.get(f"/api/tickets/{picked.codes[i % len(picked.codes)]}/history")),
            Measure("Caller's history for the screen pop (`tickets_for_caller`, busiest caller and others)", 5,
                    samples, "db", history),
            Measure("Liaison's inbox, first page (`GET /api/inbox`)", 20, samples, "http",
                    lambda i: liaison.get("/api/inbox", headers=json_headers)),
            Measure("Liaison's inbox, next page (`GET /api/inbox?after=…`)", 20, samples, "http",
                    lambda i: liaison.get("/api/inbox", params={"after": cursor} if cursor else {},
                                          headers=json_headers)),
            Measure("Duplicates by caller (`GET /api/duplicates?caller_number=…`)", 5, samples, "http",
                    lambda i: staff.get("/api/duplicates", params={
                        "caller_number": (picked.recent[i % len(picked.recent)][2] or picked.callers[0])})),
            Measure("Duplicates by address (`GET /api/duplicates?category_id=…&address=…`)", 5, samples, "http",
                    duplicates_by_address),
            Measure("Citizen's status page (`GET /citizen/s/{code}/{sig}`)", 5, samples, "http",
                    lambda i: staff.get(status_path(settings.secret_key, picked.codes[i % len(picked.codes)]))),
            Measure("Wallboard with today's KPIs (`GET /api/wallboard`)", 100, slow_samples, "http",
                    lambda i: staff.get("/api/wallboard")),
            Measure("Scorecard, this month (`GET /api/scorecard`)", 1000, slow_samples, "http",
                    lambda i: staff.get("/api/scorecard")),
            Measure("Scorecard, 6-month trend (`GET /api/scorecard/trend`)", None, max(1, slow_samples // 3),
                    "http", lambda i: staff.get("/api/scorecard/trend")),
        ]
        results = [measure_one(m, engine, staff, baselines) for m in measures]
    finally:
        staff.close()
        liaison.close()
        served.stop()
    outcome = DataOutcome(tickets=count(engine, "ticket"), transitions=count(engine, "ticket_transition"),
                          calls=count(engine, "call"), generated_seconds=generated, results=results,
                          baselines=baselines, label=label)
    engine.dispose()
    return outcome


def measure_one(measure: Measure, engine: Engine, client: httpx.Client,
                baselines: dict[str, LatencyRecorder]) -> Result:
    result = Result(measure)
    print(f"{measure.name}: {measure.samples} samples", flush=True)
    measure.run(0)  # warm: the first request of a kind compiles its SQL
    for i in range(measure.samples):
        _baseline(measure.baseline, engine, client, baselines)
        started = time.perf_counter()
        answer = measure.run(i)
        result.latencies.observe(time.perf_counter() - started)
        if isinstance(answer, httpx.Response):
            result.statuses.add(answer.status_code)
    with recorded_statements() as statements:
        measure.run(0)
    result.statements = len(statements)
    result.plans = explain(engine, list(statements))
    return result


def _baseline(kind: str, engine: Engine, client: httpx.Client, baselines: dict[str, LatencyRecorder]) -> None:
    started = time.perf_counter()
    if kind == "http":
        client.get("/api/me")
    else:
        with Session(engine) as session:
            session.execute(sa.text("SELECT 1"))
    baselines[kind].observe(time.perf_counter() - started)


# --- the report ---


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:,.1f}"


def _ratio(ours: float | None, base: float | None) -> str:
    return "n/a" if ours is None or not base else f"{ours / base:,.1f}×"


def data_rows(outcome: DataOutcome) -> list[str]:
    lines = ["| Measure | n | SQL statements | p50 / p99 ms | baseline p50 / p99 ms | ratio p50 / p99 | p99 goal | "
             "HTTP status |", "|---|---|---|---|---|---|---|---|"]
    for result in outcome.results:
        p50, p99 = result.latencies.quantile(0.5), result.latencies.quantile(0.99)
        base = outcome.baselines[result.measure.baseline]
        b50, b99 = base.quantile(0.5), base.quantile(0.99)
        goal = result.measure.goal_ms
        verdict = "" if goal is None or p99 is None else ("met" if p99 * 1000 < goal else "**missed**")
        statuses = ", ".join(str(s) for s in sorted(result.statuses)) or "—"
        lines.append(f"| {result.measure.name} | {result.latencies.count} | {result.statements} | "
                     f"{_ms(p50)} / {_ms(p99)} | "
                     f"{_ms(b50)} / {_ms(b99)} ({'`/api/me`' if result.measure.baseline == 'http' else '`SELECT 1`'})"
                     f" | {_ratio(p50, b50)} / {_ratio(p99, b99)} | "
                     f"{'—' if goal is None else f'< {goal:g} ms'} {verdict} | {statuses} |")
    return lines


def data_table(outcome: DataOutcome) -> str:
    machine = (f"{os.cpu_count()} CPUs (shared with other work), Python {platform.python_version()}, "
               f"{platform.system()} {platform.release()}")
    generated = (f"; {outcome.generated_seconds:,.0f} s to generate" if outcome.generated_seconds is not None else "")
    head = [f"### {outcome.label}", "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine}; PostgreSQL with {outcome.tickets:,} tickets, "
            f"{outcome.transitions:,} steps, {outcome.calls:,} calls{generated}.", ""]
    return "\n".join(head + data_rows(outcome))


def plans_text(outcome: DataOutcome) -> str:
    parts = [f"## {outcome.label}", ""]
    for result in outcome.results:
        parts += [f"### {result.measure.name}", ""]
        for executed, statement, plan in result.plans:
            parts += [f"{executed:.3f} ms:", "", "```sql", " ".join(statement.split())[:1500], "```", "", "```",
                      plan, "```", ""]
    return "\n".join(parts)


INTRO = f"""{HEADING}

`python -m tests.perf.bench --parts data [--data-url postgresql://…] [--data-tickets N] [--data-samples S]
[--data-label L]` (tests/perf/data_bench.py) times what people wait for on a PostgreSQL database holding years of
tickets. It fills the database with `python -m callcenter demo-data` up to N tickets if it holds fewer (default
1,000,000; 10,000,000 works, in about two hours of generation on this machine), serves the real app (no telephony)
with uvicorn on loopback in a thread of the bench's process, and asks one request at a time, as a screen does. The
screen pop's caller history is the telephony process's function, timed as called. Baselines, interleaved with the
samples in the same run: `GET /api/me` over the same connection (the same server and middleware, the session check
and the account read, nothing of the measure's own work) for the HTTP measures, and a unit of work running `SELECT
1` for the function. The SQL statements column counts what one request sent, session and account reads included. The
wallboard's and the scorecard's figures are those reports as they stand: their summary tables are another change of
issue #16. They take fewer samples. Each measure's SQL is recorded once and its SELECTs run again under `EXPLAIN
(ANALYZE, BUFFERS)`; the slowest three per measure are in [benchmarks/data-plans.md](benchmarks/data-plans.md). Runs
were on a shared, loaded 2-core machine with other work running beside them: compare ratios, not milliseconds."""


def upsert_block(section: str, label: str, block: str) -> str:
    """The section with the ``### label`` block replaced (or added at its end)."""
    marker = f"### {label}\n"
    if marker not in section:
        return section.rstrip("\n") + "\n\n" + block + "\n"
    before, rest = section.split(marker, 1)
    after = rest.split("\n### ", 1)
    tail = "\n### " + after[1] if len(after) == 2 else ""
    return before + block + "\n" + tail


def existing_section(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    if HEADING not in text:
        return INTRO
    body = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    blocks = body.split("\n### ", 1)
    return INTRO + ("\n\n### " + blocks[1].rstrip("\n") if len(blocks) == 2 else "")


def write_plans(path: Path, outcome: DataOutcome) -> None:
    title = ("# Query plans of the years-of-data benchmark\n\nWritten by `python -m tests.perf.bench --parts data` "
             "(see [the benchmarks](../benchmarks.md)): per measure, the slowest SELECTs one request sent, run again "
             "under `EXPLAIN (ANALYZE, BUFFERS)`.\n")
    text = path.read_text() if path.exists() else title
    heading = f"## {outcome.label}\n"
    if heading in text:
        before, rest = text.split(heading, 1)
        after = rest.split("\n## ", 1)
        text = before + ("\n## " + after[1] if len(after) == 2 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n\n" + plans_text(outcome).rstrip("\n") + "\n")
