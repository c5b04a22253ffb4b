"""The reports on a generated city's history: scorecard month, trend and wallboard KPIs, the reference way and ours.

No server and no Asterisk: a private PostgreSQL database on the machine's server is filled by set-based SQL with
tickets, their histories, calls and the operators' state log, then each report is timed both ways in the same run
on the same data: the reference computation (the scorecard walked from every step of the month's tickets; the
wallboard's states in force grouped over the whole state log, as before ADR 0082) and the one the pages use (the
unit receipts; the state log read through its index per operator and queue).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from callcenter.platform.calendar import jalali_month_window, previous_jalali_months, this_jalali_month, today_window
from callcenter.reports import kpis
from callcenter.reports.scorecard import (
    compute_scorecard,
    compute_scorecard_from_history,
    compute_trend,
    compute_trend_from_history,
)
from callcenter.tickets.unit_receipts import rebuild_summaries
from db.engine import make_engine, unit_of_work, upgrade_database
from db.models import AgentStateChange, Category, Unit
from db.seed import seed_reference_data

HEADING = "## Reports on a generated history"
POSTGRES_ADMIN_URL = os.environ.get("PASOKH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TICKETS = int(os.environ.get("PASOKH_BENCH_REPORT_TICKETS", "200000"))
MONTHS = 8  # the history's span: a month then holds about an eighth of the tickets
OPERATORS, QUEUES = 20, ("line137", "line1888")
STATE_EVERY = timedelta(minutes=10)  # each operator's state changes in each queue this often
NEW_RUNS, OLD_RUNS = 15, 3


@dataclass(frozen=True)
class Timing:
    name: str
    old: list[float]
    new: list[float]


@dataclass(frozen=True)
class ReportsOutcome:
    tickets: int
    transitions: int
    receipts: int
    calls: int
    state_changes: int
    fill_seconds: float
    rebuild_seconds: float
    timings: list[Timing]
    postgres: str


def _steps_sql(kind: str) -> str:
    """One kind of step for every generated ticket, from its number i (id - base): who acts when, by pattern."""
    where, action, frm, to, at, unit = {
        "refer": ("TRUE", "refer", "registered", "referred", "t.created_at", "t.unit_id"),
        "accept": ("i % 10 <> 0", "accept", "referred", "accepted", "t.created_at + INTERVAL '1 hour'", "t.unit_id"),
        "done": ("i % 10 <> 0", "report_done", "accepted", "done",
                 "t.created_at + (2 + i * 7 % 100) * INTERVAL '1 hour' + (i % 997) * INTERVAL '1 second'",
                 "t.unit_id"),
        "ask": ("i % 10 <> 0", "request_verification", "done", "awaiting_verification",
                "t.created_at + (3 + i * 7 % 100) * INTERVAL '1 hour'", "t.unit_id"),
        "answer": ("i % 10 <> 0", "verify_resolved", "awaiting_verification", "verified",
                   "t.created_at + (4 + i * 7 % 100) * INTERVAL '1 hour'", "t.unit_id"),
    }[kind]
    verdict_case = "CASE WHEN i % 4 = 0 THEN 'verify_not_resolved' ELSE 'verify_resolved' END" \
        if kind == "answer" else f"'{action}'"
    return f"""
INSERT INTO ticket_transition (ticket_id, from_status, to_status, action, actor_role, note, from_unit_id,
                               to_unit_id, at)
SELECT t.id, '{frm}', '{to}', {verdict_case}, 'operator', '', t.unit_id, {unit}, {at}
FROM (SELECT id, unit_id, created_at, id - :base AS i FROM ticket WHERE id > :base) t WHERE {where}
"""


def _fill(session: Session, *, start: datetime, end: datetime) -> None:
    units = [unit_id for unit_id in session.exec(select(Unit.id).order_by(col(Unit.id))).all()]
    categories = [category_id for category_id in
                  session.exec(select(Category.id).order_by(col(Category.id))).all()]
    base = session.exec(select(func.coalesce(func.max(sa.text("id")), 0)).select_from(sa.text("ticket"))).one()
    span = (end - start).total_seconds()
    session.execute(sa.text(f"""
INSERT INTO ticket (tracking_code, address, description, category_id, unit_id, line, source, status, created_at,
                    anonymous, priority, referred_at, unit_deadline)
SELECT 'R' || i, '', 'درخواست آزمون', (ARRAY{categories})[1 + i % {len(categories)}],
       (ARRAY{units})[1 + i * 7 % {len(units)}], '137',
       CASE i % 5 WHEN 0 THEN 'web' WHEN 1 THEN 'in_person' ELSE 'operator' END, 'referred',
       CAST(:start AS TIMESTAMP) + (i * {span / TICKETS}) * INTERVAL '1 second', FALSE, 'normal', NULL, NULL
FROM generate_series(1, {TICKETS}) AS i
"""), {"start": start.replace(tzinfo=None)})
    for kind in ("refer", "accept", "done", "ask", "answer"):
        session.execute(sa.text(_steps_sql(kind)), {"base": base})
    session.execute(sa.text(f"""
INSERT INTO call (linkedid, line, caller_number, channel, started_at, queue_name, queued_at, answered_at, ended_at,
                  operator_extension, outcome, anonymous)
SELECT 'bench-' || i, '137', '0912' || lpad(CAST(i % 1000000 AS TEXT), 7, '0'), 'PJSIP/trunk',
       q - INTERVAL '30 seconds', 'line137', q,
       CASE WHEN i % 7 <> 0 THEN q + (i % 40) * INTERVAL '1 second' END,
       q + (60 + i % 300) * INTERVAL '1 second',
       CASE WHEN i % 7 <> 0 THEN CAST(1001 + i % {OPERATORS} AS TEXT) END,
       CASE WHEN i % 7 <> 0 THEN 'answered' ELSE 'abandoned' END, FALSE
FROM (SELECT i, CAST(:start AS TIMESTAMP) + (i * {span / TICKETS}) * INTERVAL '1 second' AS q
      FROM generate_series(1, {TICKETS}) AS i) c
"""), {"start": start.replace(tzinfo=None)})
    changes = int(span // STATE_EVERY.total_seconds())
    session.execute(sa.text(f"""
INSERT INTO agent_state_change (extension, queue_name, state, reason, at)
SELECT CAST(1001 + o AS TEXT), q.name,
       (ARRAY['ready', 'ringing', 'talking', 'wrap_up', 'ready', 'paused'])[1 + (n + o) % 6], NULL,
       CAST(:start AS TIMESTAMP) + n * INTERVAL '{int(STATE_EVERY.total_seconds())} seconds' + o * INTERVAL '7 seconds'
FROM generate_series(0, {changes}) AS n, generate_series(0, {OPERATORS - 1}) AS o,
     (VALUES {", ".join(f"('{queue}')" for queue in QUEUES)}) AS q(name)
"""), {"start": start.replace(tzinfo=None)})


def _old_states_in_force_at(session: Session, moment: datetime) -> list[AgentStateChange]:
    """The wallboard's states in force as computed before ADR 0082: the latest row of each pair, grouped over the
    whole state log before ``moment``."""
    latest = (
        select(col(AgentStateChange.extension).label("extension"),
               col(AgentStateChange.queue_name).label("queue_name"), func.max(AgentStateChange.at).label("at"))
        .where(col(AgentStateChange.at) < moment)
        .group_by(col(AgentStateChange.extension), col(AgentStateChange.queue_name)).subquery()
    )
    rows = session.exec(select(AgentStateChange).join(latest, sa.and_(
        col(AgentStateChange.extension) == latest.c.extension,
        col(AgentStateChange.queue_name) == latest.c.queue_name, col(AgentStateChange.at) == latest.c.at))).all()
    in_force: dict[tuple[str, str], AgentStateChange] = {}
    for row in sorted(rows, key=lambda row: row.id or 0):
        in_force[(row.extension, row.queue_name)] = row
    return list(in_force.values())


def _times(runs: int, work: Callable[[], object]) -> list[float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    return seconds


def run_reports() -> ReportsOutcome:
    admin = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    name = f"pasokh_bench_reports_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        return _measure(url)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _measure(url: str) -> ReportsOutcome:
    upgrade_database(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    start = now - timedelta(days=30 * MONTHS)
    try:
        with unit_of_work(engine) as session:
            seed_reference_data(session)
        began = time.perf_counter()
        with unit_of_work(engine) as session:
            _fill(session, start=start, end=now)
        fill_seconds = time.perf_counter() - began
        began = time.perf_counter()
        with unit_of_work(engine) as session:
            receipts = rebuild_summaries(session)
        rebuild_seconds = time.perf_counter() - began
        with engine.connect() as connection:
            connection.execute(sa.text("ANALYZE"))
            counts = {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                      for table in ("ticket", "ticket_transition", "call", "agent_state_change")}
            postgres = connection.execute(sa.text("SHOW server_version")).scalar_one()
        timings = _timings(engine, now)
    finally:
        engine.dispose()
    return ReportsOutcome(tickets=counts["ticket"], transitions=counts["ticket_transition"], receipts=receipts,
                          calls=counts["call"], state_changes=counts["agent_state_change"],
                          fill_seconds=fill_seconds, rebuild_seconds=rebuild_seconds, timings=timings,
                          postgres=str(postgres))


def _timings(engine: sa.Engine, now: datetime) -> list[Timing]:
    # The month before the present one: complete, its tickets' steps all taken (the present month is younger).
    year, month = previous_jalali_months(*this_jalali_month(now), 2)[0]
    month_start, month_end = jalali_month_window(year, month)
    day_start, day_end = today_window(now)  # the wallboard's own window
    timings: list[Timing] = []
    with Session(engine) as session:
        def month_card(reference: bool) -> Callable[[], object]:
            compute = compute_scorecard_from_history if reference else compute_scorecard
            return lambda: compute(session, start=month_start, end=month_end, now=now)

        def trend(reference: bool) -> Callable[[], object]:
            compute = compute_trend_from_history if reference else compute_trend
            return lambda: compute(session, year=year, month=month, now=now)

        assert month_card(True)() == month_card(False)(), "the two ways disagree on the scorecard month"
        assert trend(True)() == trend(False)(), "the two ways disagree on the trend"
        timings.append(Timing("scorecard month", _times(OLD_RUNS, month_card(True)),
                              _times(NEW_RUNS, month_card(False))))
        timings.append(Timing("trend (6 months)", _times(OLD_RUNS, trend(True)), _times(NEW_RUNS, trend(False))))

        def wallboard() -> object:
            return kpis.compute_kpis(session, start=day_start, end=day_end, now=now)

        new_way = kpis._states_in_force_at
        new_report = wallboard()
        kpis._states_in_force_at = _old_states_in_force_at  # type: ignore[assignment]  # the baseline, this run only
        try:
            assert wallboard() == new_report, "the two ways disagree on the wallboard"
            old = _times(NEW_RUNS, wallboard)
        finally:
            kpis._states_in_force_at = new_way  # type: ignore[assignment]
        timings.append(Timing("wallboard KPIs (the day so far)", old, _times(NEW_RUNS, wallboard)))
    return timings


def _p(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def reports_section(outcome: ReportsOutcome) -> str:
    rows = "\n".join(
        f"| {t.name} | {_ms(_p(t.old, 0.5))} / {_ms(_p(t.old, 0.99))} | {_ms(_p(t.new, 0.5))} / "
        f"{_ms(_p(t.new, 0.99))} | **{statistics.median(t.old) / statistics.median(t.new):,.0f}×** |"
        for t in outcome.timings)
    machine = (f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}, PostgreSQL {outcome.postgres}, "
               f"Python {platform.python_version()}")
    return f"""{HEADING}

`python -m tests.perf.bench --parts reports` (tests/perf/reports_bench.py; no root, no Asterisk) fills a private
PostgreSQL database by set-based SQL with {outcome.tickets:,} tickets over {MONTHS} months
({outcome.transitions:,} steps: referred, accepted, reported done, asked, answered, a tenth left open),
{outcome.calls:,} calls and {outcome.state_changes:,} operator state changes ({OPERATORS} operators in
{len(QUEUES)} queues), in {outcome.fill_seconds:.0f} s; `rebuild_summaries` then derives the {outcome.receipts:,}
unit receipts in {outcome.rebuild_seconds:.1f} s (ADR 0082). Each report is timed both ways on the same data in
the same run, after checking that both ways give the same result: the reference (the scorecard walked from every
step of the month's tickets, as before ADR 0082; the wallboard's states in force grouped over the whole state log)
and the one the pages use (the unit receipts' range; the state log through its index per operator and queue).
Old: {OLD_RUNS} runs, new: {NEW_RUNS} runs (the wallboard {NEW_RUNS} each); p99 of so few runs is their slowest.
The ratio is of the medians. The wallboard's baseline already has the new index on `call.queued_at`, so its ratio
is the states in force alone.

| Report | reference p50 / p99 | summaries p50 / p99 | reference ÷ summaries |
| --- | --- | --- | --- |
{rows}

Machine: {machine}; measured on {datetime.now(UTC):%Y-%m-%d}. The machine was shared with other jobs while this
ran (two cores, several helpers' test runs): absolute times are noisy and high, the ratios are the figures.
"""
