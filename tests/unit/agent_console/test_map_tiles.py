"""The tile server's origin, as the public site's Content-Security-Policy names it, and the headers per path."""

from __future__ import annotations

import pytest

from agent_console.map_tiles import tiles_origin
from agent_console.security_headers import SECURITY_HEADERS, security_headers


@pytest.mark.parametrize(("url", "origin"), [
    ("https://tiles.example/{z}/{x}/{y}.png", "https://tiles.example"),
    ("http://127.0.0.1:8099/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8099"),
    ("https://{s}.tile.example/{z}/{x}/{y}.png", "https://*.tile.example"),
    (None, None),
    ("", None),
    ("javascript:alert(1)//{z}", None),
    ("data:image/png;base64,AAAA", None),
    ("https://user@tiles.example/{z}/{x}/{y}.png", None),
    ("https://tiles.example; script-src *;/{z}", None),
])
def test_given_a_tile_url_template_then_its_origin_is_what_the_policy_may_name(url: str | None,
                                                                              origin: str | None) -> None:
    assert tiles_origin(url) == origin


def test_given_a_tile_server_then_only_the_public_site_may_show_its_images_and_ask_for_the_location() -> None:
    public = security_headers("/citizen/report", tiles_origin="https://tiles.example")
    assert "img-src 'self' https://tiles.example;" in public["Content-Security-Policy"]
    assert "geolocation=(self)" in public["Permissions-Policy"]
    # Nothing else is opened: the other directives are the staff pages' own.
    staff = SECURITY_HEADERS["Content-Security-Policy"]
    assert public["Content-Security-Policy"].replace(" https://tiles.example", "") == staff
    assert public["Permissions-Policy"].replace("geolocation=(self)", "geolocation=()") == \
        SECURITY_HEADERS["Permissions-Policy"]
    for path in ("/", "/console", "/citizenship", "/api/wallboard"):
        assert security_headers(path, tiles_origin="https://tiles.example") == SECURITY_HEADERS


def test_given_no_tile_server_then_the_public_site_shows_images_from_itself_only() -> None:
    assert "img-src 'self';" in security_headers("/citizen/", tiles_origin=None)["Content-Security-Policy"]
