"""The login throttle's rule, on the clock (callcenter/staff/login_throttle.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from callcenter.platform.errors import AccountLocked, NotAuthenticated
from callcenter.platform.security import hash_password
from callcenter.staff.accounts import authenticate
from callcenter.staff.login_throttle import LockoutPolicy
from db.models import Role, User, utcnow

POLICY = LockoutPolicy(max_failures=3, lockout=timedelta(minutes=15), address_max_failures=6,
                       first_delay=timedelta(seconds=30))
DESK, ELSEWHERE = "10.0.0.5", "10.0.0.99"


@pytest.fixture
def operator(session: Session) -> User:
    user = User(username="reza", full_name="رضا", role=Role.OPERATOR, password_hash=hash_password("right-password"))
    session.add(user)
    session.commit()
    return user


def attempt(session: Session, password: str, *, at: datetime, address: str = DESK, username: str = "reza") -> str:
    try:
        authenticate(session, username=username, password=password, address=address, policy=POLICY, now=at)
    except NotAuthenticated:
        return "wrong"
    except AccountLocked:
        return "locked"
    return "in"


def test_given_the_owner_mistyping_at_their_desk_then_the_waits_grow_30_then_60_seconds_and_the_right_password_resets(
    session: Session, operator: User,
) -> None:
    t0 = utcnow()
    assert attempt(session, "right-password", at=t0) == "in"  # the desk becomes a known address
    assert [attempt(session, "typo", at=t0) for _ in range(3)] == ["wrong"] * 3
    assert attempt(session, "right-password", at=t0 + timedelta(seconds=29)) == "locked"
    t1 = t0 + timedelta(seconds=31)
    assert [attempt(session, "typo", at=t1) for _ in range(3)] == ["wrong"] * 3
    assert attempt(session, "right-password", at=t1 + timedelta(seconds=59)) == "locked"  # doubled
    assert attempt(session, "right-password", at=t1 + timedelta(seconds=61)) == "in"
    t2 = t1 + timedelta(seconds=62)
    assert [attempt(session, "typo", at=t2) for _ in range(3)] == ["wrong"] * 3
    assert attempt(session, "right-password", at=t2 + timedelta(seconds=31)) == "in"  # back to 30 s after a success


def test_given_guesses_from_a_strangers_address_then_the_name_locks_for_15_minutes_there_but_not_at_the_known_desk(
    session: Session, operator: User,
) -> None:
    t0 = utcnow()
    assert attempt(session, "right-password", at=t0) == "in"
    assert [attempt(session, "guess", at=t0, address=ELSEWHERE) for _ in range(4)] == ["wrong"] * 3 + ["locked"]
    later = t0 + timedelta(minutes=14)
    assert attempt(session, "right-password", at=later, address="10.0.0.7") == "locked"  # a desk never used
    assert attempt(session, "right-password", at=later) == "in"
    assert attempt(session, "right-password", at=t0 + timedelta(minutes=16), address="10.0.0.7") == "in"


def test_given_one_address_spraying_many_names_then_it_is_held_after_its_own_limit(
    session: Session, operator: User,
) -> None:
    t0 = utcnow()
    answers = [attempt(session, "guess", at=t0, address=ELSEWHERE, username=f"name{n}") for n in range(7)]
    assert answers == ["wrong"] * 6 + ["locked"]
    assert attempt(session, "right-password", at=t0, address=ELSEWHERE) == "locked"
