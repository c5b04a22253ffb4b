"""The service markers follow from the fixtures a test uses (tests/support/markers.py), so none can be forgotten."""

from __future__ import annotations

import tomllib

import pytest

from tests.support.markers import BROWSER_TESTS, SERVICE_MARKERS, service_markers
from tests.support.paths import REPO_ROOT

SUITE = '''
import pytest

def test_sandbox(asterisk): pass
def test_through_the_backend(backend): pass
def test_on_both_databases(database_url): pass
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_only(database_url): pass
def test_relay(redis_namespace): pass
def test_private_redis(redis_server_binary): pass
def test_plain(tmp_path): pass
'''
SCRIPTED = '''
import pytest

@pytest.fixture
def asterisk():
    return object()  # a fake of this module's own, named like the real sandbox

def test_scripted(asterisk): pass
'''


def _selected(pytester: pytest.Pytester, expression: str) -> set[str]:
    result = pytester.runpytest_inprocess("--collect-only", "-q", "-p", "no:cacheprovider", "-m", expression)
    return {line.split("::", 1)[1] for line in result.outlines if "::" in line}


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    markers = "".join(f"    {marker}\n" for marker in declared)
    pytester.makeini(f"[pytest]\nasyncio_default_fixture_loop_scope = function\nmarkers =\n{markers}")
    pytester.makeconftest('pytest_plugins = ["tests.conftest"]')
    pytester.makepyfile(test_uses=SUITE, test_fake=SCRIPTED)
    return pytester


def test_given_tests_using_service_fixtures_when_collected_then_each_carries_the_markers_of_what_it_reaches(
    suite: pytest.Pytester,
) -> None:
    assert _selected(suite, "asterisk") == {
        "test_sandbox", "test_through_the_backend[sqlite]", "test_through_the_backend[postgresql]"}
    assert _selected(suite, "postgres") == {
        "test_on_both_databases[postgresql]", "test_through_the_backend[postgresql]"}
    assert _selected(suite, "redis") == {"test_relay", "test_private_redis"}
    assert _selected(suite, "not asterisk and not postgres and not redis and not browser") == {
        "test_on_both_databases[sqlite]", "test_on_sqlite_only[sqlite]", "test_plain", "test_scripted"}


def test_given_a_test_under_tests_browser_then_it_is_a_browser_test_whatever_it_uses() -> None:
    assert service_markers(BROWSER_TESTS / "test_page.py", {}, {}) == {"browser"}
    assert service_markers(BROWSER_TESTS.parent / "unit" / "test_page.py", {}, {}) == set()


def test_given_the_markers_pyproject_declares_then_each_service_marker_is_declared() -> None:
    declared = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert {line.split(":", 1)[0] for line in declared} >= SERVICE_MARKERS
