"""axe-core (npm, node_modules) run inside a Playwright page: the public pages' accessibility check."""

from __future__ import annotations

from functools import cache
from typing import Any

from playwright.async_api import Page

from tests.support.paths import REPO_ROOT

AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now (rule id, help, the offending nodes).

    The script is evaluated through the debugging protocol, which the page's Content-Security-Policy does not
    govern: the page under test is served exactly as citizens get it."""
    await page.evaluate(_axe_source())
    result: dict[str, Any] = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [node["target"] for node in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS
    ]


async def assert_accessible(page: Page) -> None:
    violations = await serious_violations(page)
    assert not violations, violations
