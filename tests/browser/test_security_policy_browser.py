"""Every page under the Content-Security-Policy: loaded as its role in chromium, with no violation reported."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from playwright.async_api import BrowserContext, Page

from db.models import Role
from tests.browser.conftest import WebBackend, log_in
from tests.support.backend import OPERATOR_1, SUPERVISOR
from tests.support.ticket_flow import PASSWORD, WASTE, add_staff, referred_ticket

pytestmark = [pytest.mark.browser]

# Recorded from the first script on, before any of the page's own: what the browser refused, and why.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""
# After the network is idle: time for the websocket's first events and the charts to draw what they bring.
SETTLE_SECONDS = 1.5


async def violations_of(page: Page, console: list[str]) -> list[str]:
    recorded: list[str] = await page.evaluate("window.__cspViolations")
    return recorded + [line for line in console if "Content Security Policy" in line]


async def open_page(context: BrowserContext, url: str, username: str, password: str, path: str) -> list[str]:
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await log_in(page, url, username, password)
    await page.goto(url + path)
    await page.wait_for_load_state("networkidle")
    await asyncio.sleep(SETTLE_SECONDS)
    found = await violations_of(page, console)
    assert page.url == url + path, f"{username} did not reach {path}"
    assert errors == [], errors
    await page.close()
    return found


# The policy is the pages' and the headers', whichever database fills them: one kind is enough.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_given_each_page_as_its_role_when_loaded_then_the_browser_reports_no_policy_violation(
    engine: sa.Engine, web_backend: WebBackend, browser_context: BrowserContext,
) -> None:
    operator = add_staff(engine, "csp.operator", Role.OPERATOR)
    add_staff(engine, "csp.admin", Role.ADMIN)
    add_staff(engine, "csp.viewer", Role.VIEWER)
    add_staff(engine, "csp.field", Role.FIELD_SUPERVISOR)
    add_staff(engine, "csp.liaison", Role.UNIT_LIAISON, unit=WASTE)
    referred_ticket(engine, by=operator, unit=WASTE)  # the inbox draws a row of it
    await browser_context.add_init_script(RECORD_VIOLATIONS)
    walk = [
        ("login-only", "", "/login"),
        (OPERATOR_1.username, OPERATOR_1.password, "/console"),
        (SUPERVISOR.username, SUPERVISOR.password, "/console"),
        (SUPERVISOR.username, SUPERVISOR.password, "/wallboard"),
        (SUPERVISOR.username, SUPERVISOR.password, "/verifications"),
        ("csp.viewer", PASSWORD, "/wallboard"),
        ("csp.viewer", PASSWORD, "/scorecard"),
        ("csp.admin", PASSWORD, "/admin"),
        ("csp.liaison", PASSWORD, "/inbox"),
        ("csp.field", PASSWORD, "/inbox"),
    ]
    found: dict[tuple[str, str], list[str]] = {}
    for username, password, path in walk:
        if username == "login-only":
            page = await browser_context.new_page()
            console: list[str] = []
            page.on("console", lambda message, seen=console: seen.append(message.text))
            await page.goto(web_backend.url + path)
            await page.wait_for_load_state("networkidle")
            found[(username, path)] = await violations_of(page, console)
            await page.close()
            continue
        await browser_context.clear_cookies()
        found[(username, path)] = await open_page(browser_context, web_backend.url, username, password, path)
    assert {key: value for key, value in found.items() if value} == {}


async def test_given_a_page_when_something_inline_is_injected_then_the_policy_blocks_it_and_the_record_shows_it(
    web_backend: WebBackend, browser_context: BrowserContext,
) -> None:
    await browser_context.add_init_script(RECORD_VIOLATIONS)
    page = await browser_context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    await page.goto(web_backend.url + "/login")
    await page.evaluate("""() => {
      document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">x</p>');
      const script = document.createElement("script");
      script.textContent = "window.__inlineRan = true";
      document.body.append(script);
    }""")
    await page.wait_for_function("window.__cspViolations.length >= 2")
    assert await page.evaluate("window.__inlineRan === undefined")
    violations = await violations_of(page, console)
    assert any(v.startswith("script-src") for v in violations), violations
    assert any(v.startswith("style-src") for v in violations), violations
