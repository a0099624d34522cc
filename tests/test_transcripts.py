"""Every transcript in tests/transcripts/ replays to exactly what it says (see tests/transcript.py)."""

import os
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from tests.transcript import replay

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
    assert actual == path.read_text("utf-8"), f"{path.name} differs; rerun with WIJKBRUG_UPDATE_GOLDEN=1 and read the diff"
