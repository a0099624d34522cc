"""Every story in tests/stories/ replays, through the whole bot, to exactly what it says, on both backends."""

import os
from pathlib import Path

import pytest

from bot.i18n import Catalogs
from tests.conftest import BACKENDS
from tests.story import replay

FOLDER = Path(__file__).parent / "stories"
UPDATE = os.environ.get("WIJKBRUG_UPDATE_GOLDEN") == "1"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every story runs on SQLite and on PostgreSQL, to the same transcript."""
    return str(request.param)


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.txt")), ids=lambda p: p.stem)
async def test_story(path: Path, catalogs: Catalogs, database: str | Path) -> None:
    actual = await replay(path, catalogs, database)
    if UPDATE:
        path.write_text(actual, "utf-8")
    assert actual == path.read_text("utf-8"), (
        f"{path.name} differs; rerun with WIJKBRUG_UPDATE_GOLDEN=1 and read the diff"
    )
