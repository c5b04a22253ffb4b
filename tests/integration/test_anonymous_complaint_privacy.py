"""Anonymous means anonymous (issue #15, item 2): an anonymous complainant who follows up their complaint with its
receipt over a real socket (uvicorn with its access log, the client's address from the proxy's X-Forwarded-For as
production has it), tries the named way with their mobile by mistake, answers with files carrying metadata, and
leaves; then every row of every table, every log record (DEBUG and up, the access log included) and every file
under the state dir is read, and none holds the address, the user agent, the mobile, the receipt in the clear, or
the files' metadata (GPS, author).

The complaint itself is filed through /complaints/new by the same browser (its files uploaded on the attachments
step), so the filing's own requests are under the same scrutiny."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import Request
from PIL import Image

from callcenter.bootstrap.app import create_app
from callcenter.citizens.phone_codes import ADDRESS_SCOPE, NUMBER_RULES
from callcenter.complaints.followup import FOLLOW_BY_ADDRESS
from callcenter.complaints.receipts import normalised
from callcenter.platform.rate_limits import RateLimiter
from callcenter.platform.settings import Settings, load_settings
from db.engine import unit_of_work
from db.models import Complaint
from tests.support import media_samples
from tests.support.backend import TEST_SECRETS, InProcessServer, free_port
from tests.support.citizen_forms import hidden_fields
from tests.support.complaint_followup import Filed, ask
from tests.support.complaint_form import WASTE, ComplaintForm, unit_named

ADDRESS = "203.0.113.77"  # TEST-NET-3: appears nowhere unless we put it there
USER_AGENT = "PrivacyProbe/9.7 (Linux; followup-ua-7f3a)"
MOBILE = "09187654329"
AUTHOR = "Probe Author Qzx"
GPS = {1: "N", 2: (36.0, 16.0, 12.5), 3: "E", 4: (50.0, 0.0, 7.25)}


def jpeg_with_gps_and_author() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = AUTHOR  # Artist
    exif.get_ifd(0x8825).update(GPS)
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), "orange").save(buffer, format="JPEG", exif=exif)
    data = buffer.getvalue()
    assert AUTHOR.encode() in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the bait is there
    return data


def pdf_with_author() -> bytes:
    return media_samples.pdf(AUTHOR)


def mp3_with_artist() -> bytes:
    return media_samples.mp3(b"\x55\xaa", AUTHOR).data


@dataclass
class Served:
    url: str
    settings: Settings


@pytest.fixture
async def served(engine: sa.Engine, database_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    """The app behind uvicorn as production runs it behind its proxy: X-Forwarded-For trusted from 127.0.0.1, the
    access log on; plus a probe route that says which address and user agent the app saw (the control that the
    bait reached it)."""
    settings = load_settings(environ={}, environment="test", **TEST_SECRETS, database_url=database_url,
                             web_port=free_port(), state_dir=tmp_path / "state")
    app = create_app(settings, telephony=False)

    @app.get("/complaints/test-probe")
    def probe(request: Request) -> dict[str, str]:
        return {"client": request.client.host if request.client else "", "agent": request.headers["user-agent"]}

    server = InProcessServer(uvicorn.Config(app, host="127.0.0.1", port=settings.web_port, log_level="debug",
                                            log_config=None, access_log=True, proxy_headers=True,
                                            forwarded_allow_ips="127.0.0.1", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield Served(url=f"http://127.0.0.1:{settings.web_port}", settings=settings)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def complainant(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": ADDRESS}
    async with httpx.AsyncClient(base_url=served.url, headers=headers) as client:
        yield client


def filed_through_the_form(engine: sa.Engine, served: Served, uploads: list[tuple[str, bytes, str]]) -> Filed:
    """The complainant's own browser walks /complaints/new anonymously, its files on the attachments step, and
    files; the receipt is what the page showed. Blocking (a sync client): run it in a thread beside the server."""
    with httpx.Client(base_url=served.url, headers={"User-Agent": USER_AGENT, "X-Forwarded-For": ADDRESS}) as client:
        form = ComplaintForm(client=client, engine=engine)
        draft = form.start()
        added = form.post(draft, "files", {}, intent="upload",
                          files=[("attachments", upload) for upload in uploads])
        assert added.status_code == 200 and "پیوست افزوده شد" in added.text, added.text
        form.fill(draft, unit_id=unit_named(engine, WASTE), anonymous=True)
        receipt = form.receipt(form.post(draft, "review", {}, intent="file"))
    [complaint] = form.complaints()
    assert complaint.id is not None
    return Filed(complaint.id, complaint.tracking_code, receipt)


async def follow_up_and_answer(client: httpx.AsyncClient, filed: Filed,
                               files: list[tuple[str, bytes, str]]) -> None:
    token = hidden_fields((await client.get("/complaints/follow")).text)["csrf_token"]
    # The named way by mistake: the mobile typed must be kept nowhere (no such complaint for it).
    by_mobile = await client.post("/complaints/follow", data={
        "csrf_token": token, "way": "mobile", "intent": "send_code", "tracking_code": filed.tracking_code,
        "mobile": MOBILE})
    assert by_mobile.status_code == 200, by_mobile.text
    wrong = await client.post("/complaints/follow", data={
        "csrf_token": token, "way": "receipt", "tracking_code": filed.tracking_code, "receipt": "zzzz-zzzz-zzzz"})
    assert wrong.status_code == 404
    opened = await client.post("/complaints/follow", data={
        "csrf_token": token, "way": "receipt", "tracking_code": filed.tracking_code, "receipt": filed.receipt})
    assert opened.status_code == 303 and opened.headers["location"] == "/complaints/case", opened.text
    case = await client.get("/complaints/case")
    assert case.status_code == 200
    answered = await client.post("/complaints/case", data={"csrf_token": token, "body": "پاسخ با پیوست"},
                                 files=[("attachments", file) for file in files])
    assert answered.status_code == 303, answered.text
    page = (await client.get("/complaints/case?answered=1")).text
    assert "پاسخ با پیوست" in page
    for link in [part.split('"')[0] for part in page.split('href="/complaints/case/files/')[1:]]:
        assert (await client.get(f"/complaints/case/files/{link}")).status_code == 200
    assert (await client.post("/complaints/case/leave", data={"csrf_token": token})).status_code == 303


def every_row(engine: sa.Engine) -> Iterator[str]:
    """Every row of every table the database has (reflected, not only the models we know of)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                yield f"{table.name}: {tuple(row)!r}"


def every_log_record(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    for record in caplog.records:
        yield f"{record.name}: {record.getMessage()} {record.exc_text or ''} {record.__dict__!r}"


def every_stored_file(state_dir: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(state_dir.rglob("*")) if path.is_file()}


def keyed_by_the_installation(scope: str, value: str) -> str:
    """What a limit counting ``value`` under the installation's secret would store: with the secret and a copy of
    the database, anybody could test an address against it (the day's random key is what prevents that)."""
    return RateLimiter(secret=TEST_SECRETS["secret_key"]).key_of(scope, value)


def leaks(filed: Filed, haystack: str | bytes) -> list[str]:
    text = haystack.decode("latin-1") if isinstance(haystack, bytes) else haystack
    secrets = (ADDRESS, USER_AGENT, "followup-ua-7f3a", MOBILE, MOBILE[1:], filed.receipt, normalised(filed.receipt),
               AUTHOR, *(keyed_by_the_installation(scope, ADDRESS)
                         for scope in (FOLLOW_BY_ADDRESS.scope, ADDRESS_SCOPE, "track-address")),
               *(keyed_by_the_installation(rule.scope, MOBILE) for rule in NUMBER_RULES))
    return [secret for secret in secrets if secret.lower() in text.lower()]


def image_metadata(data: bytes) -> dict[int, object]:
    """What EXIF an image still carries (GPS included); {} for a file that is not an image."""
    try:
        image = Image.open(io.BytesIO(data))
    except OSError:
        return {}
    exif = image.getexif()
    return {**dict(exif), **dict(exif.get_ifd(0x8825))}


async def assert_nothing_identifies(filed: Filed, served: Served, engine: sa.Engine,
                                    caplog: pytest.LogCaptureFixture) -> None:
    rows = list(every_row(engine))
    assert any(row.startswith("rate_limit_window:") and FOLLOW_BY_ADDRESS.scope in row for row in rows)  # counted
    for row in rows:
        assert not leaks(filed, row), row
    records = list(every_log_record(caplog))
    assert any("uvicorn.access" in record and "/complaints/case" in record for record in records)  # it logged
    for record in records:
        assert not leaks(filed, record), record
    files = every_stored_file(served.settings.state_dir)
    stored = [path for path in files if path.parent.name == "complaint_files"]
    assert len(stored) >= 2, files.keys()  # the complaint's file and the answer's
    for path, data in files.items():
        assert not leaks(filed, data), path
        assert image_metadata(data) == {}, path


async def test_given_an_anonymous_complainant_when_they_follow_up_and_answer_then_nothing_anywhere_identifies_them(
    served: Served, complainant: httpx.AsyncClient, engine: sa.Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    own_photo, answers_photo = jpeg_with_gps_and_author(), jpeg_with_gps_and_author()  # made on their phone
    caplog.set_level(logging.DEBUG)
    control = (await complainant.get("/complaints/test-probe")).json()
    assert control == {"client": ADDRESS, "agent": USER_AGENT}  # the bait reached the app as a client's own
    filed = await asyncio.to_thread(filed_through_the_form, engine, served, [("where.jpg", own_photo, "image/jpeg")])
    ask(engine, filed)

    await follow_up_and_answer(complainant, filed, [("photo.jpg", answers_photo, "image/jpeg")])

    with unit_of_work(engine) as session:
        complaint = session.get(Complaint, filed.id)
        assert complaint is not None and complaint.anonymous and complaint.identity_sealed is None
    await assert_nothing_identifies(filed, served, engine, caplog)


async def test_given_a_pdf_and_an_mp3_with_an_author_when_sent_anonymously_then_no_author_is_stored(
    served: Served, complainant: httpx.AsyncClient, engine: sa.Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    pdf, mp3 = pdf_with_author(), mp3_with_artist()
    caplog.set_level(logging.DEBUG)
    filed = await asyncio.to_thread(filed_through_the_form, engine, served, [("a.pdf", pdf, "application/pdf")])

    await follow_up_and_answer(complainant, filed, [("b.mp3", mp3, "audio/mpeg")])

    await assert_nothing_identifies(filed, served, engine, caplog)
