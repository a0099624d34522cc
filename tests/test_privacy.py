"""Personal data at rest: sealed with a key kept outside the database, and never in plain text."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.i18n import Catalogs
from db.connection import connect
from db.vault import KeyProblem, Vault, open_vault
from tests.story import replay

STORIES = Path(__file__).parent / "stories"


async def test_the_database_file_holds_no_parent_name_phone_or_question_text(
    tmp_path: Path, catalogs: Catalogs
) -> None:
    database = tmp_path / "story.sqlite3"
    await replay(STORIES / "handover_decline_chain_en.txt", catalogs, database)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("story.sqlite3*"))
    assert len(stored) > 10_000
    for secret in ["Fatma", "612345678", "+31612345678", "absence", "interpreter", "mornings", "invented-photo-id"]:
        assert secret.encode() not in stored, secret
    assert b"Overvecht" in stored  # the directory is not personal data: it is there, readable


async def test_a_new_database_gets_a_key_file_only_its_owner_can_read(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "w.sqlite3")
    key_file = tmp_path / "w.key"
    await open_vault(conn, None, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = await open_vault(conn, None, key_file)  # the same key opens it again
    assert again.open(again.seal("x")) == "x"
    await conn.close()


async def test_a_missing_or_wrong_key_stops_with_a_clear_message(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "w.sqlite3")
    key_file = tmp_path / "w.key"
    await open_vault(conn, None, key_file)
    key_file.rename(tmp_path / "elsewhere.key")
    with pytest.raises(KeyProblem, match="key file .* is missing"):
        await open_vault(conn, None, key_file)
    with pytest.raises(KeyProblem, match="does not open the data"):
        await open_vault(conn, Fernet.generate_key().decode(), key_file)
    assert not key_file.exists()  # a wrong start never makes a new key beside old data
    await conn.close()


def test_sealed_values_open_with_the_key_and_rotate_to_a_new_one() -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    before = Vault([old_key])
    sealed = before.seal("Fatma")
    assert sealed is not None and sealed.startswith("v1:") and "Fatma" not in sealed
    assert before.open(sealed) == "Fatma"
    assert before.open("legacy plain text") == "legacy plain text" and before.open(None) is None
    during = Vault([new_key, old_key])  # the new key in front; the old one still opens old data
    rotated = during.rotate(sealed)
    assert Vault([new_key]).open(rotated) == "Fatma"
    with pytest.raises(KeyProblem):
        Vault([new_key]).open(sealed)
