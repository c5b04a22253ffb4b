"""Signed links: a status link opens only its ticket's status, an answer link only its answer."""

from __future__ import annotations

from callcenter.citizens.links import ANSWER, STATUS, answer_path, signature_matches, status_links, status_path
from callcenter.platform.settings import load_settings
from tests.support.backend import TEST_SECRETS

SECRET = "links-test-secret"


def test_an_answer_link_is_signed_for_its_answer_only() -> None:
    path = answer_path(SECRET, 42)
    prefix, answer_id, sig = path.rsplit("/", 2)
    assert prefix == "/citizen/a" and answer_id == "42"
    assert signature_matches(SECRET, sig, ANSWER, "42")
    assert not signature_matches(SECRET, sig, ANSWER, "43")
    assert not signature_matches(SECRET, sig, STATUS, "42")  # not a status link
    assert not signature_matches("another-secret", sig, ANSWER, "42")


def test_the_status_links_of_settings_start_with_the_public_base_url() -> None:
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, public_base_url="https://137.example/")
    link = status_links(settings)("123456784")
    assert link == "https://137.example" + status_path(settings.secret_key, "123456784")
