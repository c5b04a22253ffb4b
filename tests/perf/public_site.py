"""The public site under load: wrk's 200 connections looking requests up and filing reports, beside a baseline.

The backend serves as it does for citizens (uvicorn, the real app, the bench's database). Three wrk runs, one
after another in the same backend: the baseline (``GET /healthz``: the same server, middleware and one database
query, nothing of the public site's own work), status lookups (the signed links of SMS messages and receipts,
spread over many tickets) and report submissions (one browser session that verified its mobile, each request a
new ``request_id``, so each one files a ticket). Afterwards the tickets filed are counted in the database: each
answered submission must be exactly one ticket, none lost, none doubled.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from callcenter.citizens.links import status_path
from callcenter.platform.settings import Settings
from callcenter.tickets.filing import file_from_channel
from callcenter.tickets.lifecycle import Citizen
from db.engine import unit_of_work
from db.models import Category, Line, Ticket, TicketCreate, TicketSource, Unit, UnitKind
from tests.perf.web_load import WrkResult, form_post_script, get_script, run_wrk
from tests.support.citizen_forms import hidden_fields, latest_phone_code

BENCH_MOBILE = "09127654321"
LOOKUP_TICKETS = 500
REQUEST_ID_PREFIX = "bench"


@dataclass
class PublicSiteOutcome:
    connections: int
    seconds: int
    runs: list[WrkResult] = field(default_factory=list)
    tickets_filed: int = 0

    def run(self, name: str) -> WrkResult | None:
        return next((run for run in self.runs if run.name == name), None)

    @property
    def answered_submissions(self) -> int:
        submissions = self.run("submissions")
        return 0 if submissions is None else submissions.requests - submissions.bad_status

    @property
    def ok(self) -> bool:
        """No errors in any run, and the submissions answered are the tickets filed (a submission still in flight
        when wrk stopped may have filed one more per connection)."""
        if len(self.runs) != 3 or any(run.errors for run in self.runs):
            return False
        extra = self.tickets_filed - self.answered_submissions
        return 0 <= extra <= self.connections


def seed_lookup_tickets(engine: Engine, count: int) -> list[str]:
    """``count`` web tickets on file (the routing table's units), their tracking codes."""
    with unit_of_work(engine) as session:
        category = session.exec(select(Category).where(Category.line == Line.SERVICES)).first()
        district = session.exec(select(Unit).where(Unit.kind == UnitKind.DISTRICT)).first()
        assert category is not None and category.id is not None and category.default_unit_id is not None
        codes = []
        for n in range(count):
            data = TicketCreate(category_id=category.id, unit_id=category.default_unit_id,
                                district_id=district.id if district else None, address=f"خیابان نمونه {n}",
                                description="چراغ روشنایی کوچه خاموش است", caller_number=f"0912{n:07d}")
            submission = file_from_channel(session, data=data, source=TicketSource.WEB,
                                           by=Citizen(channel=TicketSource.WEB))
            codes.append(submission.ticket.tracking_code)
        return codes


async def verified_session(base_url: str, engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """A browser session that verified ``BENCH_MOBILE`` as a citizen does (the code read from the outbox), and
    the report form's fields: its cookies, and the form's fields (CSRF token, a category, a district)."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        page = await client.get("/citizen/report")
        page.raise_for_status()
        fields = hidden_fields(page.text)
        sent = await client.post("/citizen/phone-code", data={"mobile": BENCH_MOBILE},
                                 headers={"X-CSRF-Token": fields["csrf_token"]})
        sent.raise_for_status()
        form = {**fields, **report_choices(page.text), "address": "خیابان فردوسی، کوچه ۱۲",
                "description": "سطل زباله سر کوچه پر است", "mobile": BENCH_MOBILE, "intent": "file",
                "code": latest_phone_code(engine, BENCH_MOBILE)}
        filed = await client.post("/citizen/report", data=form, headers={"X-CSRF-Token": fields["csrf_token"]})
        if filed.status_code != 200 or "tracking-code" not in filed.text:
            raise RuntimeError(f"the bench's first report was refused: {filed.status_code} {filed.text[-2000:]}")
        return dict(client.cookies.items()), form


def report_choices(html: str) -> dict[str, str]:
    """The first offered category and district of the report form."""
    choices = {}
    for name in ("category_id", "district_id"):
        select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
        assert select_html is not None, name
        value = re.search(r'<option value="(\d+)"', select_html.group(1))
        assert value is not None, name
        choices[name] = value.group(1)
    return choices


def _lua_string(value: str) -> str:
    return '"' + "".join(f"\\{byte}" for byte in value.encode()) + '"'


def lookups_script(paths: list[str]) -> str:
    table = ", ".join(_lua_string(path) for path in paths)
    return f"""
paths = {{{table}}}
counter = 0
wrk.method = "GET"
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""


def submissions_script(cookies: dict[str, str], form: dict[str, str]) -> str:
    fixed = "&".join(f"{quote(k)}={quote(v)}" for k, v in form.items() if k not in ("request_id", "code"))
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    body = f'"{fixed}&request_id={REQUEST_ID_PREFIX}-" .. thread_id .. "-" .. counter'
    return form_post_script("/citizen/report", body_lua=body,
                            headers={"Cookie": cookie, "X-CSRF-Token": form["csrf_token"]})


async def run_public_site(settings: Settings, engine: Engine, *, base_url: str, connections: int,
                          seconds: int) -> PublicSiteOutcome:
    outcome = PublicSiteOutcome(connections=connections, seconds=seconds)
    codes = await asyncio.to_thread(seed_lookup_tickets, engine, LOOKUP_TICKETS)
    cookies, form = await verified_session(base_url, engine)
    loads = (
        ("baseline", get_script("/healthz")),
        ("status lookups", lookups_script([status_path(settings.secret_key, code) for code in codes])),
        ("submissions", submissions_script(cookies, form)),
    )
    for name, script in loads:
        # wrk is another process; this loop serves the backend meanwhile, so wait for it in a thread.
        outcome.runs.append(await asyncio.to_thread(run_wrk, name, base_url, script, connections=connections,
                                                    seconds=seconds))
    with unit_of_work(engine) as session:
        outcome.tickets_filed = session.exec(select(func.count()).select_from(Ticket).where(
            col(Ticket.request_id).startswith(f"{REQUEST_ID_PREFIX}-"))).one()
    return outcome


def public_site_rows(outcome: PublicSiteOutcome) -> list[tuple[str, str]]:
    base = outcome.run("baseline")
    rows = [("Public site: connections / seconds per run", f"{outcome.connections} / {outcome.seconds} s")]
    for run in outcome.runs:
        rows.append((f"Public site {run.name}: p50 / p99 ms, requests/s, errors",
                     f"{run.p50_ms:.1f} / {run.p99_ms:.1f}, {run.per_second:,.0f}/s, "
                     f"{run.errors} (socket {run.socket_errors}, status {run.bad_status}) of {run.requests:,}"))
        if base is not None and run is not base and base.p50_ms:
            rows.append((f"Public site {run.name} / baseline, p50 / p99",
                         f"{run.p50_ms / base.p50_ms:.1f}× / {run.p99_ms / base.p99_ms:.1f}×"))
    rows.append(("Public site submissions answered / tickets filed",
                 f"{outcome.answered_submissions:,} / {outcome.tickets_filed:,}"))
    return rows
