"""The anonymous 1888 budget: a few messages an hour per client address, counted under a random key of the day
that is deleted two days later, so the counts can no longer be tied to any address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from callcenter.citizens.web_filing import AnonymousBudget
from callcenter.platform.errors import RateLimited
from callcenter.platform.rate_limits import RateLimiter
from db.engine import unit_of_work
from db.models import AnonymousBudgetKey, RateLimitWindow

NOW = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
ADDRESS = "192.0.2.44"


def test_given_three_messages_in_an_hour_when_a_fourth_comes_then_refused_and_another_address_is_not(
    engine: sa.Engine,
) -> None:
    budget = AnonymousBudget(per_hour=3)
    with unit_of_work(engine) as session:
        for minute in range(3):
            budget.spend(session, address=ADDRESS, now=NOW + timedelta(minutes=minute))
        with pytest.raises(RateLimited) as refused:
            budget.spend(session, address=ADDRESS, now=NOW + timedelta(minutes=3))
        budget.spend(session, address="198.51.100.7", now=NOW + timedelta(minutes=3))
        budget.spend(session, address=ADDRESS, now=NOW + timedelta(hours=1))  # the next hour
    assert refused.value.message.startswith("از این اتصال پیام‌های بی‌نام زیادی")
    assert refused.value.details["retry_after"] == 57 * 60


def test_given_a_day_of_messages_when_four_times_the_hourly_budget_is_spent_then_the_day_refuses_the_rest(
    engine: sa.Engine,
) -> None:
    budget = AnonymousBudget(per_hour=2)
    with unit_of_work(engine) as session:
        for hour in range(4):
            for _ in range(2):
                budget.spend(session, address=ADDRESS, now=NOW + timedelta(hours=hour))
        with pytest.raises(RateLimited):
            budget.spend(session, address=ADDRESS, now=NOW + timedelta(hours=5))


def test_given_counts_of_three_days_when_read_back_then_each_day_has_its_own_random_key_and_old_keys_are_gone(
    engine: sa.Engine,
) -> None:
    budget = AnonymousBudget()
    with unit_of_work(engine) as session:
        for day in range(3):
            budget.spend(session, address=ADDRESS, now=NOW + timedelta(days=day))
    with unit_of_work(engine) as session:
        keys = session.exec(select(AnonymousBudgetKey)).all()
        windows = session.exec(select(RateLimitWindow)).all()
    assert [key.day for key in keys] == ["2026-12-03", "2026-12-04"]  # the first day's key is deleted
    assert len({key.secret for key in keys}) == 2
    first_day = {window.key for window in windows if window.window_start < datetime(2026, 12, 3, tzinfo=UTC)}
    assert first_day  # still in the table (until purge_expired), but no key left reproduces them
    kept = [RateLimiter(secret=key.secret) for key in keys]
    assert not {limiter.key_of(scope, ADDRESS) for limiter in kept
                for scope in ("anon-1888-hour", "anon-1888-day")} & first_day
    todays = RateLimiter(secret=keys[-1].secret)
    assert todays.key_of("anon-1888-hour", ADDRESS) in {window.key for window in windows}
