"""Docs generated from the code stay true: README's configuration table and docs/errors.md."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.platform.reference_docs import (
    ERRORS_DOC,
    README,
    TABLE_END,
    TABLE_START,
    errors_doc,
    readme_with_settings_table,
    settings_table,
    stale_docs,
    write_docs,
)
from callcenter.platform.settings import Settings, variable_name


def test_given_the_committed_readme_when_compared_then_its_settings_table_is_the_generated_one() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme_with_settings_table(readme) == readme, "run: python -m callcenter docs"


def test_given_the_committed_errors_doc_when_compared_then_it_is_the_generated_one() -> None:
    assert ERRORS_DOC.read_text(encoding="utf-8") == errors_doc(), "run: python -m callcenter docs"


def test_given_every_setting_when_the_table_is_rendered_then_each_variable_has_a_row_with_a_description() -> None:
    rows = {line.split("`")[1]: line for line in settings_table().splitlines()[2:]}
    assert list(rows) == [variable_name(name) for name in Settings.model_fields]
    assert {"DATABASE_URL", "REDIS_URL", "PASOKH_WEB_PORT", "PASOKH_AGENT_RING_SECONDS"} <= set(rows)
    assert all(field.description for field in Settings.model_fields.values())
    assert "| `PASOKH_WEB_WORKERS` | integer, ≥ 1, ≤ 32 | `1` |" in rows["PASOKH_WEB_WORKERS"]
    assert "`all` or `web`" in rows["PASOKH_ROLE"]
    # Nothing of the machine that generated it: the state directory is shown relative, the home as ~.
    assert str(Path.home()) not in settings_table()


def test_given_a_readme_whose_table_is_old_when_written_then_only_the_block_between_the_markers_changes(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copyfile(ERRORS_DOC, tmp_path / "docs" / "errors.md")
    (tmp_path / "README.md").write_text(f"# Pasokh\n\nbefore\n{TABLE_START}\n| old |\n{TABLE_END}\nafter\n",
                                        encoding="utf-8")
    assert stale_docs(tmp_path) == [tmp_path / "README.md"]
    assert write_docs(tmp_path) == [tmp_path / "README.md"]
    written = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert written == f"# Pasokh\n\nbefore\n{TABLE_START}\n{settings_table()}{TABLE_END}\nafter\n"
    assert stale_docs(tmp_path) == []


def test_given_a_readme_without_the_markers_when_generated_then_refused() -> None:
    with pytest.raises(ValueError, match="settings-table:start"):
        readme_with_settings_table("# Pasokh\n| variable | default |\n")
