"""Every error class: a unique kebab-case id, a status, a Persian message; no English message reaches staff."""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.datastructures import Headers

import callcenter.bootstrap.cli  # noqa: F401  # every module that could define an error is imported
from agent_console.error_pages import error_response
from callcenter.platform import errors
from callcenter.platform.errors import (
    AsteriskRefused,
    AsteriskUnavailable,
    ConfigurationError,
    CsrfFailed,
    PasokhError,
    error_classes,
)
from callcenter.platform.settings import PROJECT_ROOT

KEBAB = re.compile(r"^[a-z]+(-[a-z0-9]+)*$")
PERSIAN_LETTER = re.compile(r"[\u0600-\u06FF]")
LATIN_LETTER = re.compile(r"[A-Za-z]")
# Their first argument is an English reason for the log; the Persian message is the class's.
REASON_FIRST = {"AsteriskUnavailable", "AsteriskRefused", "AmiActionRefused"}
# Names Persian text writes in Latin letters (file formats staff see on their screens).
PROPER_NAMES = re.compile(r"\b(JPEG|PNG|WebP|PDF)\b")


def _every_subclass(cls: type[PasokhError]) -> Iterator[type[PasokhError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _every_subclass(sub)


def test_given_every_error_class_when_listed_then_each_has_its_own_kebab_case_id_and_lives_in_errors() -> None:
    classes = [PasokhError, *_every_subclass(PasokhError)]
    assert {cls.__module__ for cls in classes} == {errors.__name__}, "define errors in callcenter/platform/errors.py"
    ids = [cls.error_id for cls in set(classes)]
    assert len(ids) == len(set(ids)), sorted(ids)
    assert [error_id for error_id in ids if not KEBAB.match(error_id)] == []
    assert set(error_classes()) == set(classes)


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.error_id)
def test_given_an_error_class_when_read_then_it_has_a_status_a_persian_message_and_a_description(
    cls: type[PasokhError],
) -> None:
    assert 400 <= cls.status_code < 600
    assert PERSIAN_LETTER.search(cls.default_message) and not LATIN_LETTER.search(cls.default_message)
    assert (cls.__doc__ and cls.__doc__ != PasokhError.__doc__) or cls is PasokhError


def _raise_sites() -> Iterator[tuple[str, str, ast.expr]]:
    """(where, class name, first argument) of every ``raise SomeError(<message>, ...)`` in our packages."""
    names = {cls.__name__ for cls in error_classes() if cls.for_staff} - REASON_FIRST
    for package in ("callcenter", "agent_console", "ivr", "asterisk_config", "db"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                        and isinstance(node.exc.func, ast.Name) and node.exc.func.id in names and node.exc.args):
                    yield f"{Path(path).relative_to(PROJECT_ROOT)}:{node.lineno}", node.exc.func.id, node.exc.args[0]


def _literal_text(expression: ast.expr) -> str:
    """The literal parts of a string or f-string (the interpolated values are data, not words we wrote)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return expression.value
    if isinstance(expression, ast.JoinedStr):
        return "".join(_literal_text(part) for part in expression.values)
    return ""


def test_given_every_raise_of_an_error_staff_see_when_read_then_its_message_is_persian() -> None:
    sites = list(_raise_sites())
    assert len(sites) > 30  # the scan finds the raise sites at all
    english = [(where, name, _literal_text(arg)) for where, name, arg in sites
               if LATIN_LETTER.search(PROPER_NAMES.sub("", _literal_text(arg)))]
    assert english == []


@pytest.mark.parametrize("accept", ["application/json", "text/html,application/xhtml+xml"])
def test_given_asterisk_refusing_when_answered_then_staff_get_persian_and_asterisks_words_only_the_log(
    accept: str,
) -> None:
    response = error_response(AsteriskRefused("Channel PJSIP/1001-00000008 does not exist.", action="Redirect"),
                              Headers({"accept": accept}))
    body = bytes(response.body).decode()
    assert response.status_code == 502
    assert AsteriskRefused.default_message in body and "does not exist" not in body


def test_given_asterisk_away_and_asterisk_refusing_then_two_errors_with_their_own_ids_statuses_and_messages() -> None:
    away, refused = AsteriskUnavailable("not connected to Asterisk"), AsteriskRefused("No such queue")
    assert (away.error_id, away.status_code) == ("asterisk-unavailable", 503)
    assert (refused.error_id, refused.status_code) == ("asterisk-refused", 502)
    assert away.message != refused.message
    assert not isinstance(refused, AsteriskUnavailable) and not isinstance(away, AsteriskRefused)
    assert "No such queue" in str(refused) and "not connected" in str(away)  # what the log shows


def test_given_an_operators_error_when_answered_to_staff_then_persian_and_the_english_goes_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        response = error_response(ConfigurationError("PASOKH_AGI_SECRET must be set", setting="agi"),
                                  Headers({"accept": "application/json"}))
    assert response.status_code == 500
    assert bytes(response.body).decode() == (
        '{"error_id":"configuration-error","message":"' + ConfigurationError.default_message + '","details":{}}')
    assert "PASOKH_AGI_SECRET must be set" in caplog.text


def test_given_a_browser_and_a_script_when_refused_then_a_persian_page_and_json() -> None:
    page = error_response(CsrfFailed(), Headers({"accept": "text/html"}))
    api = error_response(CsrfFailed(), Headers({"accept": "application/json"}))
    assert page.media_type == "text/html" and CsrfFailed.default_message in bytes(page.body).decode()
    assert 'lang="fa" dir="rtl"' in bytes(page.body).decode()
    assert api.media_type == "application/json" and b'"error_id":"csrf-failed"' in bytes(api.body)
