"""Every transcript in tests/transcripts/ replays to exactly what it says (see tests/transcript.py)."""

import os
from pathlib import Path
from typing import get_args

import pytest

from bot.i18n import Catalogs
from flows.model import Effect
from tests.transcript import replay
from tests.transcript_world import LINES

FOLDER = Path(__file__).parent / "transcripts"
UPDATE = os.environ.get("WIJKBRUG_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.txt")), ids=lambda p: p.stem)
def test_transcript(path: Path, catalogs: Catalogs) -> None:
    actual = replay(path, catalogs)
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert actual == path.read_text("utf-8"), (
        f"{path.name} differs; rerun with WIJKBRUG_UPDATE_GOLDEN=1 and read the diff"
    )


def test_every_kind_of_effect_has_a_line() -> None:
    """The harness shows every effect a flow returns: a new kind of effect needs its `= …` line."""
    kinds = set(get_args(get_args(Effect)[0]))
    assert kinds == set(LINES), f"without a line in tests/transcript_world.py: {kinds - set(LINES)}"
