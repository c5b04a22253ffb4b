"""The public home page and the report form's location at a phone's size (360×740): the map from a local tile server
set by a tap, the phone's location, and nothing of either without JavaScript; axe-clean, within the CSP."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, expect

from callcenter.bootstrap.app import create_app
from callcenter.platform.settings import load_settings
from tests.support.axe import assert_accessible
from tests.support.backend import TEST_SECRETS, free_port, seed_staff, start_serving
from tests.support.location_page import PATH, add_location_page

pytestmark = [pytest.mark.browser]

PHONE = {"width": 360, "height": 740}
# Where location_picker.js opens the map (the centre of Qazvin): a tap at the map's centre lands there.
CITY_CENTRE = (36.2797, 50.0049)
# A citizen standing in Qazvin's Sabzeh Meydan, as the phone reports it.
HERE = {"latitude": 36.2688, "longitude": 50.0041}
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def a_tile() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 225, 200)).save(out, format="PNG")
    return out.getvalue()


class TileServer:
    """A tile server on a port of its own (another origin than the site): a green PNG for every tile asked."""

    def __init__(self) -> None:
        tile = a_tile()
        asked: list[str] = []
        self.asked = asked

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tiles/{{z}}/{{x}}/{{y}}.png"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TileServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tile_server() -> Iterator[TileServer]:
    with TileServer() as server:
        yield server


@contextlib.asynccontextmanager
async def public_site(engine: sa.Engine, database_url: str, state_dir: Path, **settings: Any) -> AsyncIterator[str]:
    """The backend (no telephony) with the location test page, served on a socket in this event loop."""
    seed_staff(engine)
    loaded = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                           web_port=free_port(), state_dir=state_dir, **settings)
    app = create_app(loaded, telephony=False)
    add_location_page(app)
    server, task = await start_serving(app, loaded.web_port)
    try:
        yield f"http://127.0.0.1:{loaded.web_port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def phone(chromium: Browser, **options: Any) -> AsyncIterator[tuple[BrowserContext, Page, list[str]]]:
    context = await chromium.new_context(viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran", **options)
    if options.get("java_script_enabled", True):
        await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield context, page, errors
    finally:
        await context.close()


async def sideways_scroll(page: Page) -> int:
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def sent_by_the_form(page: Page) -> dict[str, str]:
    """Submit the test form and read what it posted (the test route echoes it as JSON)."""
    async with page.expect_navigation():
        await page.get_by_role("button", name="ثبت", exact=True).click()
    return dict(json.loads(await page.locator("body").inner_text()))


async def test_given_a_citizen_on_a_phone_when_opening_the_home_page_then_the_forms_and_the_lines_are_there(
    engine: sa.Engine, database_url: str, tmp_path: Path, chromium: Browser,
) -> None:
    async with public_site(engine, database_url, tmp_path / "state") as url, phone(chromium) as (_, page, errors):
        await page.goto(url + "/citizen/")

        await expect(page.get_by_role("heading", level=1)).to_have_text("سامانه شهروندی شهرداری قزوین")
        main = page.locator("main")
        for name, href in (("گزارش مشکل", "/citizen/report"),
                           ("ثبت انتقاد، پیشنهاد یا قدردانی", "/citizen/feedback"),
                           ("پیگیری درخواست", "/citizen/track")):
            await expect(main.get_by_role("link", name=name, exact=True)).to_have_attribute("href", href)
        await expect(main.get_by_role("link", name="۱۳۷", exact=True)).to_have_attribute("href", "tel:137")
        await expect(main.get_by_role("link", name="۱۸۸۸", exact=True)).to_have_attribute("href", "tel:1888")
        assert await sideways_scroll(page) <= 0
        await assert_accessible(page)
        assert await page.evaluate("window.__cspViolations") == []
        assert errors == []


async def test_given_a_tile_server_when_the_citizen_taps_the_map_then_the_point_is_marked_and_sent_with_the_form(
    engine: sa.Engine, database_url: str, tmp_path: Path, chromium: Browser, tile_server: TileServer,
) -> None:
    async with public_site(engine, database_url, tmp_path / "state", map_tiles_url=tile_server.url,
                           map_tiles_attribution="© نقشهٔ آزمون") as url, \
            phone(chromium) as (_, page, errors):
        await page.goto(url + PATH)
        the_map = page.locator("#location-map")
        await expect(the_map).to_be_visible()
        await expect(page.locator("img.leaflet-tile-loaded").first).to_be_visible()  # drawn from the tile server
        assert any(path.startswith("/tiles/13/") for path in tile_server.asked)
        await expect(page.locator(".leaflet-control-attribution")).to_have_text("© نقشهٔ آزمون")
        assert await page.locator("#latitude").input_value() == ""

        box = await the_map.bounding_box()
        assert box is not None
        await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

        await expect(page.locator(".leaflet-marker-icon")).to_be_visible()
        await expect(page.get_by_role("status")).to_contain_text("محل روی نقشه علامت خورد")
        latitude = float(await page.locator("#latitude").input_value())
        longitude = float(await page.locator("#longitude").input_value())
        # A tap at the centre is the map's centre, give or take the pixel a tap lands on at zoom 13 (~20 m).
        assert abs(latitude - CITY_CENTRE[0]) < 0.0005 and abs(longitude - CITY_CENTRE[1]) < 0.0005
        assert await sideways_scroll(page) <= 0
        await assert_accessible(page)
        # Zooming out and back drops the tiles of the other zoom: Leaflet's way of cancelling them is not ours.
        for button in ("کوچک‌نمایی", "کوچک‌نمایی", "بزرگ‌نمایی"):
            await page.get_by_role("button", name=button).click()
        await expect(page.locator("img.leaflet-tile-loaded").first).to_be_visible()
        assert await page.evaluate("window.__cspViolations") == []

        sent = await sent_by_the_form(page)
        assert (float(sent["latitude"]), float(sent["longitude"])) == (latitude, longitude)
        assert errors == []


async def test_given_no_tile_server_when_the_citizen_uses_their_location_then_the_phone_s_point_is_sent_and_no_map(
    engine: sa.Engine, database_url: str, tmp_path: Path, chromium: Browser,
) -> None:
    async with public_site(engine, database_url, tmp_path / "state") as url, \
            phone(chromium, geolocation=HERE, permissions=["geolocation"]) as (_, page, errors):
        await page.goto(url + PATH)
        await expect(page.locator("#location-picker")).to_be_visible()
        assert await page.locator("#location-map, .leaflet-container").count() == 0
        await expect(page.get_by_role("button", name="حذف محل")).to_be_hidden()  # nothing chosen to remove yet

        await page.get_by_role("button", name="استفاده از موقعیت کنونی من").click()

        await expect(page.locator("#latitude")).to_have_value("36.268800")
        await expect(page.locator("#longitude")).to_have_value("50.004100")
        await expect(page.get_by_role("status")).to_contain_text("موقعیت کنونی شما ثبت شد")
        await expect(page.get_by_role("status")).to_contain_text("۳۶.۲۶۸۸۰")
        await assert_accessible(page)

        await page.get_by_role("button", name="حذف محل").click()
        await expect(page.locator("#latitude")).to_have_value("")
        await page.get_by_role("button", name="استفاده از موقعیت کنونی من").click()
        await expect(page.locator("#latitude")).to_have_value("36.268800")
        assert await sent_by_the_form(page) == {"address": "", "latitude": "36.268800", "longitude": "50.004100"}
        assert await page.evaluate("window.__cspViolations") == []
        assert errors == []


async def test_given_no_javascript_when_the_form_is_sent_then_the_location_shows_nothing_and_stays_empty(
    engine: sa.Engine, database_url: str, tmp_path: Path, chromium: Browser, tile_server: TileServer,
) -> None:
    async with public_site(engine, database_url, tmp_path / "state", map_tiles_url=tile_server.url) as url, \
            phone(chromium, java_script_enabled=False) as (_, page, _errors):
        await page.goto(url + PATH)
        await expect(page.locator("#location-picker")).to_be_hidden()
        await expect(page.get_by_role("button", name="استفاده از موقعیت کنونی من")).to_be_hidden()
        await page.get_by_label("نشانی محل").fill("خیابان پیغمبریه، کوچهٔ ۵")

        async with page.expect_navigation():
            await page.get_by_role("button", name="ثبت", exact=True).click()
        sent = json.loads(await page.locator("body").inner_text())
        assert sent == {"address": "خیابان پیغمبریه، کوچهٔ ۵", "latitude": "", "longitude": ""}
        assert tile_server.asked == []  # no map drawn, no tile fetched
