"""Many sealed values at once, for the key rotation's test and benchmark (invented texts)."""

from __future__ import annotations

from datetime import UTC, datetime

from db import directory, questions, users
from db.connection import Connection, transaction
from db.vault import Vault
from flows.directory import Directory, Organisation
from flows.model import LogQuestion, Role

ORG = "kompas"


async def fill_questions(conn: Connection, vault: Vault, count: int, org: str = ORG) -> None:
    """`count` questions of `org` (created if the directory lacks it), each text sealed."""
    async with transaction(conn):
        if not (await directory.load(conn)).organisation_name(org):
            organisations = [Organisation(id=org, name="Het Kompas (invented)")]
            await directory.replace(conn, Directory.of(organisations=organisations), frozenset())
        at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        volunteer = await users.create(
            conn, channel="bulk", chat_id="1", role=Role.VOLUNTEER, org_id=org, language="nl",
            display_name="Bulk (invented)", now=at,
        )
        for n in range(count):
            question = LogQuestion(
                code=f"B-{n:06d}", volunteer_id=volunteer.id, org_id=org, urgent=False, theme="housing",
                age_group="0-4",
                parent_language="ar", pc4="3531", text=f"An invented question, number {n}.", created_at=at,
            )
            await questions.insert(conn, question, vault)
