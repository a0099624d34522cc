"""The code stays in small modules, each doing one job (issue 14): none outside the tests is over
400 lines, and the command line reaches the bot's runner in one place only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
LIMIT = 400


def python_files() -> list[Path]:
    return sorted(p for folder in ("bot", "flows", "db", "benchmarks") for p in (ROOT / folder).rglob("*.py"))


def test_no_module_outside_the_tests_is_over_400_lines() -> None:
    lengths = {str(p.relative_to(ROOT)): len(p.read_text("utf-8").splitlines()) for p in python_files()}
    too_long = {name: n for name, n in lengths.items() if n > LIMIT}
    assert too_long == {}, f"modules over {LIMIT} lines: split them by job"


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (`from bot import x` as `bot.x`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_command_line_reaches_the_runner_only_through_its_services_module() -> None:
    cli_modules = [ROOT / "bot" / "cli.py", *sorted((ROOT / "bot").glob("cli_*.py"))]
    reaching = {
        p.name for p in cli_modules if imported(p) & {"bot.runner", "bot.runner.Runner", "bot.departure", "bot.core"}
    }
    assert reaching == {"cli_services.py"}
