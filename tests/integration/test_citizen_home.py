"""The public site's home page and the report form's location partial over HTTP, with and without a tile server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from callcenter.bootstrap.app import create_app
from callcenter.platform.errors import ConfigurationError
from callcenter.platform.settings import load_settings
from tests.support.backend import TEST_SECRETS
from tests.support.location_page import PATH, add_location_page

TILES = "https://{s}.tiles.example/{z}/{x}/{y}.png"


def client_for(database_url: str, **settings: object) -> TestClient:
    app = create_app(load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                                   **settings), telephony=False)
    add_location_page(app)
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture
def plain(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    with client_for(database_url) as client:
        yield client


@pytest.fixture
def with_map(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    with client_for(database_url, map_tiles_url=TILES, map_tiles_attribution="© نقشه‌نگاران <آزمون>") as client:
        yield client


def test_given_nobody_logged_in_when_opening_the_home_page_then_it_links_the_three_forms_and_the_lines(
    plain: TestClient,
) -> None:
    response = plain.get("/citizen/", follow_redirects=False)

    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    page = response.text
    assert '<html lang="fa" dir="rtl">' in page
    for link in ("/citizen/report", "/citizen/feedback", "/citizen/track", "tel:137", "tel:1888"):
        assert f'href="{link}"' in page
    assert "۱۳۷" in page and "۱۸۸۸" in page
    # The staff's home is as it was: a visitor is sent to the login.
    staff_home = plain.get("/", follow_redirects=False)
    assert staff_home.status_code in (302, 303, 307) and staff_home.headers["location"].endswith("/login")


def test_given_no_tile_server_when_the_partial_renders_then_no_map_and_no_image_origin_but_the_location_inputs(
    plain: TestClient,
) -> None:
    response = plain.get(PATH)

    page = response.text
    assert re.search(r'<fieldset class="location-picker" id="location-picker" hidden', page)
    assert 'name="latitude" id="latitude" value=""' in page and 'name="longitude" id="longitude" value=""' in page
    assert 'id="location-map"' not in page and "leaflet" not in page
    assert "location_picker.js" in page
    assert "img-src 'self';" in response.headers["content-security-policy"]
    assert "geolocation=(self)" in response.headers["permissions-policy"]
    assert "geolocation=()" in plain.get("/login").headers["permissions-policy"]  # staff pages never ask


def test_given_a_tile_server_when_the_partial_renders_then_a_map_and_only_its_origin_added_for_images(
    with_map: TestClient,
) -> None:
    response = with_map.get(PATH, params={"latitude": "36.28", "longitude": "50.01"})

    page = response.text
    assert 'id="location-map"' in page and f'data-tiles="{TILES}"' in page
    assert "data-attribution=\"© نقشه‌نگاران &lt;آزمون&gt;\"" in page  # escaped: the settings' text is plain text
    assert "/static/vendor/leaflet/leaflet.js?v=" in page and "/static/vendor/leaflet/leaflet.css?v=" in page
    assert 'name="latitude" id="latitude" value="36.28"' in page  # a refused submission keeps the point
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' https://*.tiles.example;" in policy
    assert policy.count("tiles.example") == 1
    assert "tiles.example" not in with_map.get("/login").headers["content-security-policy"]
    for vendored in ("leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/images/marker-icon.png",
                     "leaflet/images/marker-shadow.png"):
        assert with_map.get(f"/static/vendor/{vendored}").status_code == 200, vendored


def test_given_a_tile_url_that_names_no_http_origin_when_the_app_starts_then_it_refuses_with_what_to_fix(
    engine: sa.Engine, database_url: str,
) -> None:
    with pytest.raises(ConfigurationError, match="PASOKH_MAP_TILES_URL"):
        client_for(database_url, map_tiles_url="javascript:alert(1)//{z}/{x}/{y}")
