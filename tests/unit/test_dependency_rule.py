"""The dependency rule's contracts (pyproject.toml, docs/adr/0040): kept by the code as it is, broken by a
forbidden import added to a copy of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
PACKAGES = ("callcenter", "agent_console", "ivr", "asterisk_config", "db")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = "Each package imports only the packages below it"
ACYCLIC = "No import cycle between the modules or subpackages of one package"


def copy_of_the_code(target: Path) -> Path:
    """The packages' Python files and the configuration, nothing else (no templates, no vendored assets)."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=_not_source)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _not_source(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"
            or not (name.endswith(".py") or (Path(folder) / name).is_dir())]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on ``tree``, which it finds first on the path (not the installed packages)."""
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, timeout=60, check=False)


def test_given_the_code_as_it_is_when_linted_then_every_contract_is_kept(tmp_path: Path) -> None:
    result = lint_imports(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{LAYERS} KEPT" in result.stdout and f"{ACYCLIC} KEPT" in result.stdout


@pytest.mark.parametrize(("module", "forbidden", "broken"), [
    ("callcenter/platform/notifier.py", "callcenter.bootstrap", LAYERS),  # a platform module reaching the top
    ("db/models.py", "callcenter.platform.persian", LAYERS),  # db imports nothing of ours
    ("ivr/menu.py", "agent_console.csrf", LAYERS),  # siblings are independent
    ("callcenter/tickets/tracking_code.py", "callcenter.tickets.store", ACYCLIC),  # store imports tracking_code
], ids=["platform-imports-bootstrap", "db-imports-platform", "ivr-imports-agent-console", "cycle-in-tickets"])
def test_given_a_forbidden_import_when_linted_then_its_contract_is_reported_broken(
    tmp_path: Path, module: str, forbidden: str, broken: str,
) -> None:
    tree = copy_of_the_code(tmp_path)
    with (tree / module).open("a") as source:
        source.write(f"\nimport {forbidden}  # noqa: E402\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert f"{broken} BROKEN" in result.stdout, result.stdout
    # The report names the import (a cycle's by the modules' names relative to their package).
    assert forbidden.rsplit(".", 1)[1] in result.stdout.split("Broken contracts")[1]
