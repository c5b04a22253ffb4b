"""A console's snapshot that lands after a newer delta must not undo it: the operator goes ready right after the
page connects, the answer to /api/me (read before the queue event) is held back until the delta was shown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, Route, expect

from db.models import AgentState
from tests.browser.conftest import WebBackend, log_in
from tests.support.backend import OPERATOR_1

pytestmark = [pytest.mark.browser]


async def test_given_a_slow_snapshot_when_a_newer_state_arrives_first_then_the_console_ends_showing_the_newer_one(
    web_backend: WebBackend, console_page: Page,
) -> None:
    page = console_page
    delta_shown, stale_sent = asyncio.Event(), asyncio.Event()
    snapshots: list[str] = []

    async def hold_the_first_snapshot(route: Route) -> None:
        snapshots.append(route.request.url)
        if len(snapshots) > 1:
            await route.continue_()
            return
        response = await route.fetch()  # read now: the operator is not in the queue yet
        await delta_shown.wait()
        await route.fulfill(response=response)
        stale_sent.set()

    await page.route("**/api/me", hold_the_first_snapshot)
    await log_in(page, web_backend.url, OPERATOR_1.username, OPERATOR_1.password)
    await expect(page.locator("#connection")).to_have_text("متصل")
    while not snapshots:  # the snapshot is asked for (and held) before the state changes
        await asyncio.sleep(0.05)

    # What the tracker does when Asterisk reports the operator joined: log the state, then announce it.
    since = web_backend.services.web.agent_log.record(extension=OPERATOR_1.extension, queue="line137",
                                                  state=AgentState.READY, reason=None, at=datetime.now(UTC))
    web_backend.services.web.notifier.agent_state(extension=OPERATOR_1.extension, queue="line137",
                                              state=AgentState.READY.value, since=since)
    await expect(page.locator("#queue-state")).to_have_attribute("data-state", "ready")
    delta_shown.set()
    await asyncio.wait_for(stale_sent.wait(), 10)

    for _ in range(100):  # the page asks again because a delta came while the first answer was on its way
        if len(snapshots) > 1:
            break
        await asyncio.sleep(0.05)
    assert len(snapshots) == 2, "the stale snapshot was not loaded again"
    await expect(page.locator("#queue-state")).to_have_attribute("data-state", "ready")
