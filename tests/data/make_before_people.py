"""Make tests/data/before_people.sqlite3: a database as Wijkbrug stored it before a person had
addresses (schema version 12, commit 973942a), holding invented people of every role. The
migration test (tests/test_migration_people.py) upgrades a copy of it.

Run it with the code of that commit, never with a newer one:

    git worktree add --detach /tmp/wijkbrug-973942a 973942a
    cd /tmp/wijkbrug-973942a && python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'
    .venv/bin/python <this worktree>/tests/data/make_before_people.py
    git worktree remove --force /tmp/wijkbrug-973942a

It replays before_people_story.txt through that commit's bot (invites used, a handover with the
parent's details sealed, a second one waiting, a member revoked, a volunteer erased, a conversation half-way), then
adds with that commit's repository functions what a story cannot: a volunteer the channel
refused (403), a call still waiting in the outbox, an alert held for a coordinator, audit rows.
Everything is sealed with the invented key in before_people.key (made if missing).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "before_people.sqlite3"
KEY = HERE / "before_people.key"
STORY = HERE / "before_people_story.txt"
VERSION = 12  # the schema of commit 973942a
LATER = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # after the story's last step


def old_enough() -> bool:
    """Is the code on the path that of schema VERSION (973942a)? (Later code moved `migrations`.)"""
    try:
        from db.connection import migrations  # type: ignore[attr-defined]
    except ImportError:
        return False
    return bool(migrations()[-1][0] == VERSION)


async def make() -> None:
    from bot.i18n import Catalogs
    from db import alerts, outbox, privacy, settings, users
    from db.connection import connect, transaction
    from db.vault import CHECK_KEY, CHECK_TEXT, Vault, attach, load_keys
    from flows import access
    from flows.model import ToCoordinators
    from tests.story import replay
    for stale in (DATABASE, Path(f"{DATABASE}-wal"), Path(f"{DATABASE}-shm")):
        stale.unlink(missing_ok=True)
    vault = Vault(load_keys(None, KEY, create=True))
    await replay(STORY, Catalogs(), DATABASE, vault)

    conn = await connect(DATABASE)
    attach(conn, vault)
    try:
        async with transaction(conn):
            await settings.put(conn, CHECK_KEY, vault.seal(CHECK_TEXT) or "")
            noor = await users.by_chat(conn, "telegram", "7001")
            hodan = await users.by_chat(conn, "telegram", "7003")
            assert noor is not None and noor.display_name == "Noor"
            assert hodan is not None and hodan.display_name == "Hodan"
            await users.mark_unreachable(conn, "telegram", noor.chat_id, LATER)  # what a 403 does
            petra = await users.by_chat(conn, "telegram", "7004")
            assert petra is not None and petra.display_name == "Petra"
            await users.mark_unreachable(conn, "telegram", petra.chat_id, LATER)  # and her coordinators were told
            await users.told_unreachable(conn, petra.id)
            await outbox.enqueue(
                conn, "telegram", hodan.chat_id, "sendMessage",
                {"chat_id": hodan.chat_id, "text": "An invented message still waiting to be sent."}, LATER,
            )
            alert = access.unreachable(noor.as_user(), None)  # as if her coordinator were not there yet
            assert alert is not None and isinstance(alert.to, ToCoordinators)
            await alerts.hold(conn, alert.to.scope, alert, LATER)
            await privacy.audit(conn, "operator", "export", "org:kompas", LATER, "invented")
            await privacy.audit(conn, f"user:{hodan.id}", "refused", "H-999999", LATER)
        await conn.execute("VACUUM")  # small, and without the pages of what the story deleted
    finally:
        await conn.close()
    print(f"made {DATABASE.relative_to(Path.cwd()) if DATABASE.is_relative_to(Path.cwd()) else DATABASE}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path.cwd()))  # the old commit's tests/story.py
    if not old_enough():
        sys.exit(f"{Path(__file__).name}: run it with the code of commit 973942a (schema {VERSION}): see its docstring")
    asyncio.run(make())
