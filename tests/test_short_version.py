"""The short version of a question a volunteer writes for a member who does not read the question's
language (tests/stories/short_version_uk_nl.txt) is sealed at rest and erased with the question."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.i18n import Catalogs
from db import privacy
from db.connection import connect, transaction
from db.vault import Vault, attach
from tests.story import replay

STORY = Path(__file__).parent / "stories" / "short_version_uk_nl.txt"
SHORT = b"landlord raises the rent"  # words of the (invented) short version


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


async def test_the_short_version_is_stored_sealed_with_both_languages(tmp_path: Path, catalogs: Catalogs) -> None:
    database = tmp_path / "story.sqlite3"
    await replay(STORY, catalogs, database)
    assert SHORT not in b"".join(p.read_bytes() for p in tmp_path.glob("story.sqlite3*"))
    assert rows(
        database,
        "SELECT q.text_language, c.short_language, c.short_text IS NOT NULL "
        "FROM cases c JOIN questions q ON q.id = c.question_id",
    ) == [("uk", "en", 1)]


async def test_erasing_the_question_erases_its_short_version(tmp_path: Path, catalogs: Catalogs) -> None:
    database = tmp_path / "story.sqlite3"
    vault = Vault.generate()
    await replay(STORY, catalogs, database, vault)
    code = rows(database, "SELECT code FROM questions")[0][0]
    conn = await connect(database)
    attach(conn, vault)  # erasure opens the volunteers' conversation states too
    async with transaction(conn):
        erased = await privacy.erase_question(conn, code, datetime(2026, 12, 1, tzinfo=UTC))
    await conn.close()
    assert erased is not None and "the short version of the question given for a member" in erased.items
    assert rows(database, "SELECT count(*) FROM cases WHERE short_text IS NOT NULL") == [(0,)]


async def test_retention_erases_the_short_version_with_the_question_s_text(tmp_path: Path, catalogs: Catalogs) -> None:
    database = tmp_path / "story.sqlite3"
    vault = Vault.generate()
    await replay(STORY, catalogs, database, vault)
    conn = await connect(database)
    attach(conn, vault)
    async with transaction(conn):
        await privacy.apply_retention(conn, datetime(2026, 11, 30, tzinfo=UTC) + timedelta(days=179), 90, 180)
    assert rows(database, "SELECT count(*) FROM cases WHERE short_text IS NOT NULL") == [(1,)]
    async with transaction(conn):
        await privacy.apply_retention(conn, datetime(2026, 11, 30, tzinfo=UTC) + timedelta(days=181), 90, 180)
    await conn.close()
    assert rows(database, "SELECT count(*) FROM cases WHERE short_text IS NOT NULL") == [(0,)]


# ---- the request flow on its own --------------------------------------------------------------

from flows import session  # noqa: E402
from flows.model import Choice, Env, Role, Said, User  # noqa: E402
from flows.state import Conversation, Saved, Step  # noqa: E402
from tests.transcript import DIRECTORY  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
ENV = Env(now=NOW, today=NOW.date(), new_code="Q-1", new_case_id="H-1", languages=("nl", "en", "uk", "tr"),
          directory=DIRECTORY, reachable={"c-overvecht-2": 11, "c-overvecht-4": 12})  # fmt: skip


def _picked(contact_id: str, written_in: str) -> tuple[Conversation, User]:
    volunteer = User(id=1, role=Role.VOLUNTEER, org_id="lantaarn", language=written_in, name="Olena")
    saved = Saved(
        code="Q-1", theme="housing", parent_language="uk", urgent=False, wijk="overvecht", text_language=written_in
    )
    offered = Conversation(step=Step.SUGGESTED, saved=saved, token=3)
    return session.step(offered, volunteer, Choice(data=f"3|to:{contact_id}"), ENV).state, volunteer


def test_a_member_who_reads_the_question_s_language_is_asked_without_a_short_version() -> None:
    state, _ = _picked("c-overvecht-2", "tr")  # Emre reads Turkish (invented sample directory)
    assert state.step is Step.WAY


def test_a_member_who_does_not_read_it_asks_for_a_short_version_which_may_be_skipped() -> None:
    state, volunteer = _picked("c-overvecht-4", "uk")  # Gerrit-Jan reads Dutch and English
    assert state.step is Step.SHORT_VERSION and state.request.short_language == "nl"
    refused = session.step(state, volunteer, Said(text="x" * 301), ENV)
    assert refused.state == state and refused.messages  # too long: said why, nothing changed
    skipped = session.step(state, volunteer, Choice(data=f"{state.token}|skip"), ENV).state
    assert skipped.step is Step.WAY and skipped.request.short_skipped
    written = session.step(state, volunteer, Said(text="Rent letter: where can the mother get help?"), ENV).state
    assert written.step is Step.WAY and (written.request.short_text, written.request.short_language) == (
        "Rent letter: where can the mother get help?", "nl")


def test_asking_someone_else_keeps_a_short_version_the_next_member_reads() -> None:
    from flows.cases import Case

    volunteer = User(id=1, role=Role.VOLUNTEER, org_id="lantaarn", language="uk", name="Olena")
    declined = Case(
        id="H-1", kind="handover", status="declined", version=2, question_code="Q-1", theme="housing", age_group="4-12",
        parent_language="uk", wijk="overvecht", wijk_name="Overvecht", urgent=False, question_text="…", volunteer_id=1,
        volunteer_name="Olena", org_id="lantaarn", org_name="De Lantaarn", contact_id="c-overvecht-4",
        contact_name="Gerrit-Jan", member_id=12, team_id="bt-overvecht", team_name="Buurtteam Overvecht",
        way="parent_calls", opened_at=NOW, question_language="uk",
        short_text="Rent letter: where can the mother get help?", short_language="en",
    )  # fmt: skip
    env = ENV.model_copy(update={"reachable": {"c-overvecht-3": 13}})  # Hodan reads English too
    offered = session.case_action(Conversation(token=5), volunteer, declined, "next", 2, env).state
    picked = session.step(offered, volunteer, Choice(data=f"{offered.token}|to:c-overvecht-3"), env).state
    assert picked.step is not Step.SHORT_VERSION and picked.request.short_text == declined.short_text
