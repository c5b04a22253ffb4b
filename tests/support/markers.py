"""Which service markers a collected test carries, worked out from what it uses (applied in tests/conftest.py).

A test needs a service because it asks for that service's fixture, so the markers follow from the fixtures, not
from a line each test file has to remember: ``-m "not asterisk and not postgres and not redis and not browser"``
(``make test-fast``) then runs exactly the tests that need none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

# The fixture that reaches each service; every test that needs one of them depends on it, directly or not.
SERVICE_FIXTURES: Mapping[str, str] = {
    "asterisk": "asterisk",  # the session's Asterisk sandbox (sipp, backend, ami_observer... build on it)
    "migrated_postgres": "postgres",
    "private_postgres_server": "postgres",  # a PostgreSQL server the test starts (and stops) itself
    "redis_server": "redis",  # the running Redis
    "redis_server_binary": "redis",  # a private redis-server the test starts itself
    "chromium": "browser",
}
SERVICE_MARKERS = frozenset(SERVICE_FIXTURES.values())
BROWSER_TESTS = Path(__file__).resolve().parents[1] / "browser"


# Where the real service fixtures are defined: a test module's own fixture of the same name (a scripted fake
# called ``asterisk``, say) overrides the real one and needs no service.
SERVICE_FIXTURE_MODULES = frozenset({"tests.conftest", "tests.support.fixtures", "tests.browser.conftest"})


def service_markers(
    path: Path, fixtures: Mapping[str, Callable[..., object]], params: Mapping[str, object],
    *, browser_tests: Path = BROWSER_TESTS,
) -> set[str]:
    """The markers a test at ``path`` needs, given the fixtures it uses (name → the definition that applies to it,
    dependencies included) and its parameters."""
    markers = {marker for name, marker in SERVICE_FIXTURES.items()
               if name in fixtures and fixtures[name].__module__ in SERVICE_FIXTURE_MODULES}
    if params.get("database_url") == "postgresql":  # the PostgreSQL case of a test run on both databases
        markers.add("postgres")
    if path.resolve().is_relative_to(browser_tests):
        markers.add("browser")
    return markers


def resolved_fixtures(item: object) -> dict[str, Callable[..., object]]:
    """The fixture definitions that apply to a collected test, by name (the closest one wins, as pytest runs it).
    pytest keeps them in ``_fixtureinfo`` (no public accessor); a test item without it uses no fixtures."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return {}
    return {name: definitions[-1].func for name, definitions in info.name2fixturedefs.items() if definitions}
