"""The scorecard read from the unit receipts equals the one walked from the history, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from callcenter.bootstrap.cli import main
from callcenter.reports.scorecard import (
    compute_scorecard,
    compute_scorecard_from_history,
    compute_trend,
    compute_trend_from_history,
)
from callcenter.tickets.lifecycle import TRANSITIONS
from db.models import Category, TicketAction, TicketSource, TicketStatus, TicketTransition, Unit, UnitReceipt, User
from tests.support.hypothesis_profiles import examples
from tests.unit.callcenter.reports.test_scorecard import (
    END,
    START,
    Step,
    a_category,
    a_ticket,
    a_unit,
    an_actor,
    step,
    t,
)

A, S = TicketAction, TicketStatus
PERIOD_HOURS = (END - START).total_seconds() / 3600
# Gaps between steps, in hours: the same instant (ties are ordered by the step's id), minutes, hours, days, and
# exactly a deadline (24 h, 72 h), which is still on time.
GAPS = st.sampled_from((0.0, 0.01, 0.5, 3.0, 24.0, 30.0, 72.0, 80.0, 300.0))
# None, or a fraction of a second more, so that times and durations are not all round numbers.
JITTER = st.just(0.0) | st.integers(min_value=1, max_value=999_999).map(lambda micros: micros / 3_600_000_000)


def a_history(data: st.DataObject, units: list[Unit], sla_hours: int) -> list[Step]:
    """A walk through the lifecycle graph from registered, beginning with its referral, at drawn times around the
    period (some tickets referred before it began, some steps long after it ended), some exactly on the unit's
    deadline."""
    # Whole hours, so that a report drawn a deadline's gap later lands on the deadline to the microsecond.
    at = float(data.draw(st.integers(min_value=-100, max_value=int(PERIOD_HOURS) + 50), label="referred"))
    status, holder, received_at = S.REGISTERED, None, at
    steps: list[Step] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=14), label="length")):
        edges = [(action, verdict) for (source, action, verdict) in TRANSITIONS if source == status]
        if not steps:
            edges = [(A.REFER, None)]
        if not edges:
            break
        action, verdict = data.draw(st.sampled_from(edges), label="edge")
        deadline = received_at + sla_hours
        if steps and at <= deadline and data.draw(st.booleans(), label="on the deadline"):
            at = deadline
        unit = None
        if action in (A.REFER, A.RE_REFER):
            unit = data.draw(st.sampled_from([u for u in units if action == A.REFER or u.id != holder]),
                             label="unit")
            holder, received_at = unit.id, at
        steps.append(step(at, action, unit, verdict))
        status = TRANSITIONS[(status, action, verdict)]
        at += data.draw(GAPS, label="gap") + data.draw(JITTER, label="jitter")
    return steps


def cast(session: Session) -> tuple[list[Unit], list[Category], User]:
    """Three units and two deadlines (a day, three days), new for each example so that names never collide."""
    tag = uuid.uuid4().hex[:6]
    units = [a_unit(session, f"واحد {tag} {index}") for index in range(3)]
    categories = [a_category(session, f"دسته {tag} {hours}", hours) for hours in (24, 72)]
    actor = an_actor(session) if session.get(User, 1) is None else session.get(User, 1)
    assert actor is not None
    return units, categories, actor


def latest_step(session: Session) -> datetime:
    latest = session.exec(select(func.max(TicketTransition.at))).one()
    assert latest is not None
    return latest


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_given_any_histories_when_scoring_from_the_receipts_then_the_card_equals_the_walk_of_the_history(
        session: Session, data: st.DataObject) -> None:
    units, categories, actor = cast(session)
    for _ in range(data.draw(st.integers(min_value=1, max_value=8), label="tickets")):
        category = data.draw(st.sampled_from(categories), label="category")
        a_ticket(session, uuid.uuid4().hex[:12], category, actor, *a_history(data, units, category.sla_hours),
                 source=data.draw(st.sampled_from(TicketSource), label="source"))
    # "now" at or after every step (the examples' histories add up in one database), as it is when someone opens
    # the page: open tickets' deadlines passed or not.
    now = latest_step(session) + timedelta(hours=data.draw(st.sampled_from((0.0, 1.0, 30.0, 2000.0)), label="after"))
    assert compute_scorecard(session, start=START, end=END, now=now) == \
        compute_scorecard_from_history(session, start=START, end=END, now=now)


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_given_any_histories_when_drawing_the_trend_from_the_receipts_then_it_equals_the_walk_of_the_history(
        session: Session, data: st.DataObject) -> None:
    units, categories, actor = cast(session)
    for _ in range(data.draw(st.integers(min_value=1, max_value=6), label="tickets")):
        # Anywhere in the three months that end with Azar 1405.
        category = data.draw(st.sampled_from(categories), label="category")
        back = data.draw(st.sampled_from((0.0, 700.0, 1400.0)), label="months back")
        a_ticket(session, uuid.uuid4().hex[:12], category, actor,
                 *[(hours - back, action, unit, verdict)
                   for hours, action, unit, verdict in a_history(data, units, category.sla_hours)])
    now = END + timedelta(days=60)
    assert compute_trend(session, year=1405, month=9, months=3, now=now) == \
        compute_trend_from_history(session, year=1405, month=9, months=3, now=now)


def test_given_a_step_after_now_when_scoring_from_the_receipts_then_the_card_is_the_history_as_of_now(
        session: Session) -> None:
    units, categories, actor = cast(session)
    a_ticket(session, "LATER", categories[0], actor, step(10, A.REFER, units[0]), step(11, A.ACCEPT),
             step(40, A.REPORT_DONE))
    as_of_then = compute_scorecard(session, start=START, end=END, now=t(20))
    assert as_of_then == compute_scorecard_from_history(session, start=START, end=END, now=t(20))
    (line,) = as_of_then.units
    assert (line.reported_done, line.on_time, line.late) == (0, 0, 0)  # the report at t40 is not known at t20


def test_given_receipts_gone_stale_when_rebuilding_from_the_command_line_then_the_scorecard_is_whole_again(
        session: Session, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    units, categories, actor = cast(session)
    a_ticket(session, "CLI", categories[0], actor, step(10, A.REFER, units[0]), step(11, A.ACCEPT),
             step(20, A.REPORT_DONE))
    session.execute(sa.delete(UnitReceipt))  # as after facts were written or repaired around the lifecycle
    session.commit()
    assert compute_scorecard(session, start=START, end=END, now=END).units == []
    for key, value in {"DATABASE_URL": database_url, "PASOKH_STATE_DIR": str(tmp_path / "state"),
                       "PASOKH_ASTERISK_CACHE_DIR": str(tmp_path / "cache")}.items():
        monkeypatch.setenv(key, value)

    assert main(["summaries", "rebuild"]) == 0

    session.expire_all()
    (line,) = compute_scorecard(session, start=START, end=END, now=END).units
    assert (line.received, line.reported_done, line.on_time) == (1, 1, 1)
    assert "1 unit receipts rebuilt" in capsys.readouterr().out


def test_given_a_referral_a_microsecond_shy_of_a_second_when_rebuilt_then_its_deadline_and_time_to_done_stay_exact(
        session: Session) -> None:
    units, categories, actor = cast(session)
    referred = 10 + 55.999888 / 3600  # SQLite's date functions would round this up to the next second
    done = 20 + 1.999999 / 3600
    a_ticket(session, "EDGE", categories[0], actor, step(referred, A.REFER, units[0]), step(11, A.ACCEPT),
             step(done, A.REPORT_DONE))

    (receipt,) = session.exec(select(UnitReceipt).where(UnitReceipt.unit_id == units[0].id)).all()
    assert receipt.referred_at == t(referred)
    assert receipt.deadline == t(referred) + timedelta(hours=24)
    assert receipt.done_after_us == round((t(done) - t(referred)) / timedelta(microseconds=1))
