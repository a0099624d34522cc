"""Every story in tests/stories/ replays, through the whole bot, to exactly what it says."""

import os
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from tests.story import replay

FOLDER = Path(__file__).parent / "stories"
UPDATE = os.environ.get("WIJKBRUG_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.txt")), ids=lambda p: p.stem)
async def test_story(path: Path, catalogs: Catalogs, tmp_path: Path) -> None:
    actual = await replay(path, catalogs, tmp_path / "story.sqlite3")
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert actual == path.read_text("utf-8"), (
        f"{path.name} differs; rerun with WIJKBRUG_UPDATE_GOLDEN=1 and read the diff"
    )
