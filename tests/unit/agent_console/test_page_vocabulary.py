"""What the pages are told: each role's buttons are the lifecycle table's steps, and static URLs carry hashes."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent_console.routes.wallboard import SpyMode
from agent_console.static_assets import IMMUTABLE, REVALIDATE, HashedStaticFiles, StaticAssets
from agent_console.vocabulary import page_vocabulary
from callcenter.platform.errors import ValidationFailed
from callcenter.platform.lines import LINES
from callcenter.telephony.asterisk_actions import SPY_OPTIONS
from callcenter.tickets import attachments
from callcenter.tickets.channels import CHANNEL_NAMES, SOURCE_NAMES, Channel
from callcenter.tickets.lifecycle import ACTION_ROLES, TRANSITIONS, apply_action
from db.models import STAFF_ROLES, FieldVerdict, Role, TicketAction, TicketStatus
from tests.support.paths import REPO_ROOT

STATIC = REPO_ROOT / "agent_console" / "static"


@pytest.mark.parametrize("role", list(STAFF_ROLES), ids=lambda r: r.value)
def test_given_a_role_then_the_pages_buttons_are_exactly_the_lifecycle_steps_that_role_may_take(role: Role) -> None:
    offered = {(status, step["action"], step["verdict"])
               for status, steps in page_vocabulary(role)["steps"].items() for step in steps}
    allowed = {(status.value, action.value, verdict.value if verdict else None)
               for status, action, verdict in TRANSITIONS if role in ACTION_ROLES[action]}
    assert offered == allowed


def test_given_the_liaison_and_the_field_supervisor_then_their_inbox_buttons_are_as_issue_6_describes() -> None:
    liaison = page_vocabulary(Role.UNIT_LIAISON)["steps"]
    assert {status: [s["action"] for s in steps] for status, steps in liaison.items()} == {
        "referred": ["accept", "decline"], "accepted": ["report_done"], "reopened": ["accept", "dispute"]}
    verdicts = page_vocabulary(Role.FIELD_SUPERVISOR)["steps"]
    assert [(s["verdict"], s["label"]) for s in verdicts["disputed"]] == [
        ("citizen_right", "حق با شهروند"), ("unit_right", "حق با واحد"), ("partly", "تا حدی")]


@pytest.mark.parametrize(("role", "status"), [(Role.UNIT_LIAISON, s) for s in TicketStatus]
                         + [(Role.FIELD_SUPERVISOR, TicketStatus.DISPUTED)])
def test_given_a_step_the_page_offers_then_its_note_rule_is_the_one_the_server_enforces(
    role: Role, status: TicketStatus,
) -> None:
    """A step the page marks as needing a note is refused by the server without one, with the page's words."""
    for step in page_vocabulary(role)["steps"].get(status.value, []):
        if step["note_required"] is None:
            continue
        session = MagicMock()
        session.get.return_value = MagicMock(status=status, unit_id=1, id=7)
        actor = MagicMock(id=3, is_active=True, role=role, unit_id=1)
        verdict = FieldVerdict(step["verdict"]) if step["verdict"] else None
        with pytest.raises(ValidationFailed) as refused:
            apply_action(session, ticket_id=7, action=TicketAction(step["action"]), actor=actor, note="  ",
                         verdict=verdict)
        assert refused.value.message == step["note_required"]


def test_given_the_vocabulary_then_lines_photos_and_the_month_come_from_their_modules() -> None:
    words = page_vocabulary(None, now=datetime(2026, 3, 21, 12, tzinfo=UTC))  # 1 Farvardin 1405
    assert [line["queue"] for line in words["lines"]] == [line.queue for line in LINES]
    assert [line["name"] for line in words["lines"]] == ["۱۳۷", "۱۸۸۸"]
    assert words["photos"]["max_count"] == attachments.MAX_PHOTOS
    assert words["photos"]["max_bytes"] == attachments.MAX_PHOTO_BYTES
    assert words["photos"]["too_big"].format(name="a.jpg") == "عکس «a.jpg» بزرگ‌تر از ۵ مگابایت است."
    assert words["this_month"] == {"year": 1405, "month": 1}
    assert words["months"][0] == "فروردین" and len(words["months"]) == 12
    assert words["steps"] == {}
    assert words["pause_reasons"] == {"break": "استراحت", "training": "آموزش", "after_call_work": "کار پس از تماس"}


def test_given_the_pages_then_no_script_restates_a_rule_or_a_name_the_server_gives() -> None:
    scripts = "\n".join(path.read_text(encoding="utf-8") for path in STATIC.glob("*.js"))
    for restated in ('"report_done"', '"disputed"', "5 * 1024 * 1024", "image/jpeg", "line1888", "line137",
                     "فروردین", "استراحت", "ثبت‌شده", "حق با شهروند", "رفع نشده", "#1f77b4"):
        assert restated not in scripts, restated


def make_static(tmp_path: Path) -> StaticAssets:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.js").write_text('import "./x.js";\n')
    (tmp_path / "common.js").write_text("export const one = 1;\n")
    (tmp_path / "page.js").write_text('import { one } from "./common.js";\nconsole.log(one);\n')
    return StaticAssets(tmp_path)


def test_given_a_module_importing_a_sibling_then_its_url_changes_when_the_sibling_changes(tmp_path: Path) -> None:
    before = make_static(tmp_path)
    page_before, common_before = before.url("page.js"), before.url("common.js")
    served = (before.assets["page.js"].rewritten or b"").decode()
    assert f'from "./common.js?v={before.assets["common.js"].version}"' in served
    assert before.assets["vendor/lib.js"].rewritten is None  # published libraries are served as they are
    (tmp_path / "common.js").write_text("export const one = 2;\n")
    after = StaticAssets(tmp_path)
    assert after.url("common.js") != common_before
    assert after.url("page.js") != page_before  # page.js itself did not change: its import did


def test_given_a_hashed_url_then_it_is_cached_for_a_year_and_an_unhashed_one_is_revalidated(tmp_path: Path) -> None:
    assets = make_static(tmp_path)
    app = FastAPI()
    app.mount("/static", HashedStaticFiles(assets), name="static")
    client = TestClient(app)
    hashed = client.get(assets.url("page.js"))
    assert hashed.status_code == 200 and hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.headers["content-type"].startswith("text/javascript")
    assert "?v=" in hashed.text
    assert client.get("/static/page.js").headers["cache-control"] == REVALIDATE
    assert client.get("/static/page.js?v=stale").headers["cache-control"] == REVALIDATE
    assert client.get(assets.url("vendor/lib.js")).headers["cache-control"] == IMMUTABLE
    again = client.get(assets.url("page.js"), headers={"If-None-Match": hashed.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/missing.js").status_code == 404
    assert assets.url("missing.js") == "/static/missing.js"


def test_given_a_dropped_websocket_then_reconnecting_backs_off_exponentially_with_jitter_up_to_a_cap() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (make deps installs it)")
    script = ("import { reconnectDelay } from './agent_console/static/common.js';"
              "console.log(JSON.stringify([0, 1, 2, 5, 6, 40].map((a) => "
              "[reconnectDelay(a, () => 0), reconnectDelay(a, () => 0.999999)])));")
    out = subprocess.run([node, "--input-type=module", "-e", script], cwd=STATIC.parents[1], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    lowest, highest = zip(*json.loads(out), strict=True)
    assert [round(x) for x in lowest] == [500, 1000, 2000, 15000, 15000, 15000]  # half the ceiling at least
    assert [round(x) for x in highest] == [1000, 2000, 4000, 30000, 30000, 30000]  # doubling, capped at 30 s


def test_the_pages_name_sources_and_channels_from_the_channels_module_in_the_reports_order() -> None:
    words = page_vocabulary(None)
    assert words["sources"] == {source.value: name for source, name in SOURCE_NAMES.items()}
    assert [entry["channel"] for entry in words["channels"]] == [channel.value for channel in Channel]
    assert [entry["name"] for entry in words["channels"]] == list(CHANNEL_NAMES.values())


def test_given_the_wallboard_then_its_supervision_buttons_are_the_modes_the_api_accepts_in_chanspy_order() -> None:
    offered = [button["mode"] for button in page_vocabulary(Role.SUPERVISOR)["spy_modes"]]
    assert offered == list(SPY_OPTIONS) == [mode.value for mode in SpyMode]
    assert all(button["name"] for button in page_vocabulary(Role.SUPERVISOR)["spy_modes"])
