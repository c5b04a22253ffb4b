"""Rate limits: fixed windows per key, counted atomically, keys stored only as HMACs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from callcenter.platform.errors import RateLimited
from callcenter.platform.rate_limits import RateLimiter, RateRule, purge_expired, purge_job, window_start
from db.engine import unit_of_work
from db.models import RateLimitWindow

RULE = RateRule(scope="test-scope", limit=5, window=timedelta(minutes=1))
NOW = datetime(2026, 12, 2, 10, 0, 10, tzinfo=UTC)
LIMITER = RateLimiter(secret="test-secret")


def test_given_five_hits_in_a_minute_when_the_sixth_comes_then_it_is_refused_until_the_window_ends(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        verdicts = [LIMITER.hit(session, RULE, "10.0.0.7", now=NOW + timedelta(seconds=i)) for i in range(6)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False]
    assert verdicts[-1].retry_after == timedelta(seconds=45)
    with pytest.raises(RateLimited) as refused:
        verdicts[-1].raise_if_refused()
    assert refused.value.details == {"retry_after": 45}


def test_given_a_full_window_when_the_next_window_starts_then_hits_are_allowed_again(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        for _ in range(5):
            LIMITER.hit(session, RULE, "10.0.0.7", now=NOW)
        assert not LIMITER.check(session, RULE, "10.0.0.7", now=NOW).allowed
        assert LIMITER.hit(session, RULE, "10.0.0.7", now=NOW + timedelta(minutes=1)).allowed


def test_given_two_keys_when_one_is_spent_then_the_other_is_still_allowed(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        for _ in range(6):
            LIMITER.hit(session, RULE, "10.0.0.7", now=NOW)
        assert LIMITER.check(session, RULE, "10.0.0.8", now=NOW).allowed


def test_when_a_key_is_counted_then_the_table_holds_an_hmac_never_the_value(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        LIMITER.hit(session, RULE, "09121234567", now=NOW)
    with unit_of_work(engine) as session:
        row = session.exec(select(RateLimitWindow)).one()
    assert "0912" not in row.key and len(row.key) == 64
    assert row.key != RateLimiter(secret="another-secret").key_of(RULE.scope, "09121234567")


def test_given_windows_older_than_a_day_when_purged_then_only_recent_ones_remain(engine: sa.Engine) -> None:
    with unit_of_work(engine) as session:
        LIMITER.hit(session, RULE, "old", now=NOW - timedelta(days=2))
        LIMITER.hit(session, RULE, "new", now=NOW)
    with unit_of_work(engine) as session:
        assert purge_expired(session, now=NOW) == 1
        assert len(session.exec(select(RateLimitWindow)).all()) == 1


def test_given_an_old_window_when_the_scheduler_job_runs_then_it_purges_it_in_a_transaction_of_its_own(
    engine: sa.Engine,
) -> None:
    with unit_of_work(engine) as session:
        LIMITER.hit(session, RULE, "old", now=NOW - timedelta(days=2))
        LIMITER.hit(session, RULE, "new", now=NOW)
    assert purge_job(engine=engine, now=lambda: NOW)() == 1
    with unit_of_work(engine) as session:  # committed: a new session sees only the recent window
        assert [row.key for row in session.exec(select(RateLimitWindow)).all()] == [LIMITER.key_of(RULE.scope, "new")]


def test_windows_are_aligned_to_the_clock_not_to_the_first_hit() -> None:
    assert window_start(RULE, NOW) == datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
