"""Where the repository is, for tests that read its files (so a test's own depth in tests/ does not matter)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
