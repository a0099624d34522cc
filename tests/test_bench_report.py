"""The load benchmark's report generator (benchmarks/report.py) on a small recorded result
(tests/data/load_result.json, invented figures), so the generated block of docs/performance.md
cannot rot between two runs of `make bench`. No timing here: the benchmark prints its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report

ROOT = Path(__file__).parent.parent
RESULT = Path(__file__).parent / "data" / "load_result.json"


def recorded() -> dict:
    return json.loads(RESULT.read_text("utf-8"))


def row(text: str, label: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def test_each_figure_is_the_median_with_the_lowest_and_highest_run() -> None:
    text = report.block(recorded())
    assert row(text, "saturated updates/s") == ["450 (400–500)", "800 (700–900)"]
    assert row(text, "CPU per update") == ["1.5 ms (1.4–1.6)", "0.90 ms (0.80–1.0)"]
    assert row(text, "peak RSS") == ["79.2 MB (79.0–79.4)", "40.5 MB (40.0–41.0)"]
    assert row(text, "handovers accepted per second") == ["27.0 (24.0–30.0)", "–"]  # the echo hands nothing over


def test_wijkbrug_is_compared_with_each_baseline_run_by_run() -> None:
    # 400/700 and 500/900: the ratios of the pairs, not the ratio of the medians (450/800)
    assert row(report.block(recorded()), "saturated updates/s, Wijkbrug ÷ it") == ["0.56× (0.56–0.57)"]


def test_pacing_shows_the_busiest_second_beside_telegrams_limits() -> None:
    text = report.block(recorded())
    assert row(text, "all volunteers: most messages in one second") == ["52", "29", report.OVERALL]
    assert row(text, "10 people: reply p99") == ["16.0 ms (12.0–20.0)", "343 ms", ""]


def test_the_block_says_when_where_and_how_it_was_measured() -> None:
    text = report.block(recorded())
    assert text.startswith("Measured 2026-12-05 17:15 UTC on 2 cores (An invented CPU for the test), Python 3.11.7")
    assert "2 runs of each bot, interleaved" in text
    assert "**Note:** A recorded result" in text
    assert row(text, "start-up, new database") == ["0.70 s"]


def test_regenerating_replaces_only_the_generated_block(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nBy hand.\n\n{report.BEGIN}\nold figures\n{report.END}\n\nAlso by hand.\n")
    result = tmp_path / "result.json"
    result.write_text(RESULT.read_text("utf-8"))
    done = subprocess.run([sys.executable, "-m", "benchmarks.report", str(result), "--doc", str(doc)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = doc.read_text("utf-8")
    assert text.startswith("# Performance\n\nBy hand.\n\n")
    assert text.endswith(f"{report.END}\n\nAlso by hand.\n")
    assert "old figures" not in text
    assert f"{report.BEGIN}\n{report.block(recorded())}\n{report.END}" in text


def test_the_performance_doc_has_its_markers(tmp_path: Path) -> None:
    copy = tmp_path / "performance.md"
    copy.write_text((ROOT / "docs" / "performance.md").read_text("utf-8"))
    report.regenerate(copy, "generated")
    assert f"{report.BEGIN}\ngenerated\n{report.END}" in copy.read_text("utf-8")


def test_a_doc_without_markers_is_named_in_the_error(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nNo markers here.\n")
    with pytest.raises(SystemExit, match="performance.md: needs one line"):
        report.regenerate(doc, "generated")
    assert doc.read_text() == "# Performance\n\nNo markers here.\n"
