"""The checks CI runs, inside the README's test command: no line over the 120 characters ruff is
configured for (pyproject.toml, `[tool.ruff]`), anywhere in the repository, and mypy --strict on
the pure flows and the database layer (`[tool.mypy]`). Both tools come with the `test` extra,
pinned to one minor release each."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
INSTALL = "pip install -e '.[test]'"


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`tool` run by this interpreter from the repository's root; fails in one line if missing."""
    assert importlib.util.find_spec(tool) is not None, f"{tool} is not installed: {INSTALL}"
    return subprocess.run(
        [sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_no_line_in_the_repository_is_longer_than_ruff_allows() -> None:
    done = run("ruff", "check", "--no-cache", "--select", "E501", "--output-format", "concise", ".")
    assert done.returncode == 0, f"lines over the limit (wrap them by hand):\n{done.stdout}{done.stderr}"


def test_flows_and_db_pass_mypy_strict() -> None:
    # `[tool.mypy]` names the files (flows, db) and turns on strict; --strict here says so again.
    done = run("mypy", "--strict")
    assert done.returncode == 0, f"mypy --strict on flows/ and db/:\n{done.stdout}{done.stderr}"
