"""Argon2 at its cheapest while the tests run: production's cost (64 MiB, three passes) is paid on every hash and
every login, hundreds of times a run, and measures nothing but the machine. Only a test that is about argon2's
cost (a timing comparison) asks for the production hasher back with the ``production_argon2`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, profiles

from callcenter.platform import security

CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _use(hasher: PasswordHasher) -> None:
    # The module's hasher is private to it on purpose: only the test suite swaps it, and only through here.
    security._hasher = hasher
    security._dummy_hash.cache_clear()  # an unknown login checks against a hash of the same cost


def use_cheap_argon2() -> None:
    """For the whole test process (tests/conftest.py); a subprocess the tests start pays production's cost."""
    _use(CHEAP)


@pytest.fixture
def production_argon2() -> Iterator[None]:
    """Production's argon2 cost for one test; request it before any fixture that hashes a password."""
    _use(PasswordHasher.from_parameters(security.PASSWORD_HASHING))
    yield
    _use(CHEAP)
