"""Messages and callback requests left in the IVR, seen live in a real browser: the recording plays in the
console, and the operator marks a callback done."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlmodel import Session, select

from db.models import CallbackRequest, CallbackStatus, Ticket, TicketSource
from tests.browser.conftest import log_in
from tests.support.backend import CITIZENS_PORT, OPERATOR_1, RunningBackend
from tests.support.dtmf_pcap import Keys, Silence, Speech, speech_wav
from tests.support.sipp import Sipp

pytestmark = [pytest.mark.browser, pytest.mark.asterisk,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "console-voice-messages.png"
METADATA = """audio => new Promise((resolve, reject) => {
  if (audio.readyState >= 1) { resolve(audio.duration); return; }
  audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
  audio.addEventListener("error", () => reject(new Error("audio error " + (audio.error && audio.error.code))));
  audio.load();
})"""


async def test_given_the_console_open_when_a_citizen_leaves_a_message_then_it_appears_and_plays(
    backend: RunningBackend, sipp: Sipp, console_page: Page, tmp_path: Path
) -> None:
    page = console_page
    await log_in(page, backend.url, OPERATOR_1.username, OPERATOR_1.password)
    await expect(page.locator("#connection")).to_have_text("متصل")
    await expect(page.locator("#no-voice-messages")).to_be_visible()

    spoken = speech_wav("آسفالت کوچه شهید رجایی خراب شده است.", tmp_path / "spoken.wav")
    script = [Keys("1"), Silence(2500), Keys("2"), Silence(8000), Speech(spoken), Keys("#")]
    result = await sipp.citizen_calls(caller="09172000001", script=script, hold_ms=60000, local_port=CITIZENS_PORT)
    assert result.failed == 0, result.output[-2000:]

    with Session(backend.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.source == TicketSource.VOICE_MESSAGE)).one()
    row = page.locator(f'#voice-messages tr[data-code="{ticket.tracking_code}"]')
    await expect(row).to_be_visible(timeout=10_000)  # pushed over the websocket, no reload
    await expect(row).to_contain_text("۰۹۱۷۲۰۰۰۰۰۱")
    duration = await row.locator("audio").evaluate(METADATA)
    assert duration > 1.0  # Chromium fetched and decoded the recording

    callback = await sipp.citizen_calls(caller="09172000002", script=[Keys("1"), Silence(2500), Keys("1")],
                                        hold_ms=30000, local_port=CITIZENS_PORT)
    assert callback.failed == 0, callback.output[-2000:]
    callback_row = page.locator("#callbacks tbody tr")
    await expect(callback_row).to_have_count(1, timeout=10_000)
    await expect(callback_row).to_contain_text("۰۹۱۷۲۰۰۰۰۰۲")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    await callback_row.get_by_role("button", name="تماس گرفته شد").click()
    await expect(page.locator("#no-callbacks")).to_be_visible()
    with Session(backend.engine) as session:
        request = session.exec(select(CallbackRequest)).one()
        assert request.status == CallbackStatus.DONE and request.handled_at is not None
