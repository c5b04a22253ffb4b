"""The documentation as a map: every relative link in README.md and docs/ reaches a file, every decision is an ADR
with its four sections, and no doc quotes one of our function signatures (they describe behaviour instead)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# [text](target) outside code; the target ends at whitespace or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# A lower-case Python name called with arguments, inside backticks: `apply_action(session, *, ...)`.
# Asterisk's applications and functions (`Queue()`, `MUTEAUDIO(all)`) are capitalised and allowed.
SIGNATURE = re.compile(r"`[a-z_][a-z0-9_.]*\([^`)]+\)`")
ADR_SECTIONS = ("## Status", "## Context", "## Decision", "## Consequences")


def prose(path: Path) -> str:
    """The page without its code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))


def relative_links(path: Path) -> list[str]:
    targets = (match.group(1) for match in LINK.finditer(prose(path)))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_of_a_doc_points_at_an_existing_file(page: Path) -> None:
    missing = [target for target in relative_links(page)
               if not (page.parent / target.split("#", 1)[0]).exists()]
    assert missing == [], f"{page.relative_to(ROOT)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_quotes_a_function_signature(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    assert SIGNATURE.findall(text) == []


def test_the_link_check_sees_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("See [the spec](spec/none.md), `[not](a-link.md)` and [a site](https://example.org).\n")
    assert relative_links(page) == ["spec/none.md"]


def test_decisions_1_to_36_are_adrs_with_status_context_decision_and_consequences() -> None:
    records = {int(p.name[:4]): p for p in (ROOT / "docs" / "adr").glob("[0-9][0-9][0-9][0-9]-*.md")}
    assert set(range(1, 37)) <= set(records)
    for number in range(1, 37):
        text = records[number].read_text(encoding="utf-8")
        positions = [text.find(heading + "\n") for heading in ADR_SECTIONS]
        assert -1 not in positions and positions == sorted(positions), records[number].name
