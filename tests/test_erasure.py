"""Erasure and retention that really erase (issue 13, items 7-9): after `wijkbrug erase` or the
nightly retention, no erased value is left in the database file or its write-ahead log, in plain
text or sealed (every sealed token found in the files' bytes is opened with the key and
searched); and the files are readable by their owner only. All names and numbers are invented.

What is about the database's content runs on PostgreSQL too, where "the files" are every row of
every table as text (PostgreSQL's own pages and log are the server's, not Wijkbrug's, to clean);
what is about SQLite's file and its write-ahead log runs on SQLite."""

from __future__ import annotations

import re
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import rendering
from bot.context import Work
from bot.i18n import Catalogs
from bot.runner import Runner
from db import conversations, outbox, privacy, settings, users, wal
from db.connection import connect, transaction
from db.vault import Vault, attach, load_keys
from flows import intake
from flows.model import Message, ToCoordinators
from tests import driver
from tests.conftest import BACKENDS
from tests.story import replay
from tests.test_e2e_telegram import Wijkbrug, texts, wijkbrug  # noqa: F401 - the fixture
from tests.test_trust import operator, rows, story_db  # noqa: F401 - story_db is a fixture
from tests.test_trust import play as play_story
from tests.test_webhook import free_port, post

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
STORY_START = datetime(2026, 11, 30, 10, 0, tzinfo=AMSTERDAM)

# A volunteer of an organisation without a coordinator asks Emre for a warm handover: up to the
# point where the parent's name and number are typed (`REQUEST`), then sent (`SENT`).
HEADER = """\
# invented people only
Zorbeline: volunteer kompas en
Emre: member c-overvecht-2 en
start: 2026-11-30 10:00
"""
INTAKE = """
Zorbeline > /new
Zorbeline > [No]
Zorbeline > [School and education]
Zorbeline > [4–11 years]
Zorbeline > [Turkish]
Zorbeline > 3561
Zorbeline > The mother got an invented letter about quintessential absence.
Zorbeline > [Save]
"""
REQUEST = """
Zorbeline > [🤝 Emre Kocabaş]
Zorbeline > [The parent calls the professional]
Zorbeline > [The parent agrees]
Zorbeline > Fatmagül
Zorbeline > 06 12345678
"""
SENT = REQUEST + """
Zorbeline > mornings
Zorbeline > [No attachment]
Zorbeline > [Send the request]
"""
PARENT = ["Fatmagül", "612345678", "quintessential"]  # the parent's name, number, question text


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's file, its log, a second file


async def play(database: str | Path, catalogs: Catalogs, body: str) -> Vault:
    """Replay the story header and `body` into `database`, sealed with the key file the CLI uses."""
    story = Path.cwd() / "story.txt"  # the test's folder (story_db goes there)
    story.write_text(HEADER + body, "utf-8")
    return await play_story(story, database, catalogs)


def files(database: str | Path) -> bytes:
    """The bytes of the database file and of its write-ahead log; on PostgreSQL, every row of every
    table as text."""
    if isinstance(database, str):
        tables = [t for (t,) in rows(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        every = [r[0] for t in tables for r in rows(database, f"SELECT CAST(t AS text) FROM {t} t")]
        return "\n".join(str(text) for text in every).encode()
    return b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())


def traces(database: str | Path, vault: Vault, secrets: list[str]) -> list[str]:
    """Each of `secrets` found in the files, in plain text or inside any sealed token in them."""
    stored = files(database)
    opened = []
    # Sealed values stand side by side in a row's bytes; ':' is not in a token, so one ends where
    # the next "v1:" begins, or at the first byte that is not base64. The next column's text may go on
    # in base64's letters (a date: "2026-11-30T09"), so each whole-quantum prefix is tried, longest
    # first (cryptography 51 refuses bytes after a token's padding, which 50 ignored).
    for run in set(re.findall(rb"v1:[A-Za-z0-9_=-]+?(?=v1:|[^A-Za-z0-9_=-]|$)", stored)):
        body = run[3:]
        for end in range(len(body) - len(body) % 4, 0, -4):
            try:
                opened.append(vault.open("v1:" + body[:end].decode("ascii")) or "")
                break
            except Exception:  # noqa: BLE001 - not a whole token (a fragment at a page boundary)
                continue
    return [s for s in secrets if s.encode() in stored or any(s in text for text in opened)]


async def erase(**target: object) -> int:
    """`wijkbrug erase --question CODE` or `--user ID`, through the command line's `main`."""
    [(what, which)] = target.items()
    return await operator("erase", f"--{what}", str(which))


async def retention(database: str | Path, catalogs: Catalogs, vault: Vault, at: datetime) -> Runner:
    """The nightly run of the bot, at `at` (the story stored its next-run time)."""
    conn = await connect(database)
    attach(conn, vault)
    runner = Runner(
        conn, catalogs, lambda: at.astimezone(UTC), "telegram", vault=vault, retention_days=90, text_retention_days=180
    )
    async with transaction(conn):
        await settings.put(conn, "retention.next_run", at.astimezone(UTC).isoformat())
    await runner.retention()
    return runner


# ---- item 7: the write-ahead log ---------------------------------------------------------


def running_bot(database: Path) -> sqlite3.Connection:
    """A connection left open, as the running bot's are: closing the last connection copies the
    log back by itself, which would hide what an erasure leaves behind while the bot runs."""
    bot = sqlite3.connect(database, isolation_level=None)
    bot.execute("PRAGMA journal_mode = WAL")
    return bot


@SQLITE_ONLY
async def test_an_erased_question_is_in_neither_the_database_nor_its_write_ahead_log(story_db, catalogs) -> None:
    vault = await play(story_db, catalogs, INTAKE + SENT)
    bot = running_bot(story_db)
    assert traces(story_db, vault, PARENT) == PARENT  # sealed in the files, and the key opens them
    assert await erase(question="Q-1001") == 0
    assert traces(story_db, vault, PARENT) == []
    assert Path(f"{story_db}-wal").stat().st_size == 0
    bot.close()


@SQLITE_ONLY
async def test_retention_leaves_nothing_of_what_it_erased_in_the_write_ahead_log(story_db, catalogs) -> None:
    vault = await play(
        story_db, catalogs, INTAKE + SENT + "\nEmre > [Accept]\nEmre > [Contact made]\nEmre > [Closed]\n"
    )
    assert rows(story_db, "SELECT status FROM cases") == [("closed",)]
    bot = running_bot(story_db)
    runner = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=181))
    assert rows(
        story_db, "SELECT first_name_sealed, text FROM parents JOIN questions q ON q.id = parents.question_id"
    ) == [(None, None)]
    assert traces(story_db, vault, PARENT) == []
    await runner.conn.close()
    bot.close()


async def test_a_busy_checkpoint_is_tried_again_until_the_old_snapshot_is_released(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "w.sqlite3")
    await conn.execute("CREATE TABLE t (x)")
    await conn.execute("INSERT INTO t VALUES ('old')")
    reader = sqlite3.connect(tmp_path / "w.sqlite3", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()  # holds the snapshot before the next write
    await conn.execute("UPDATE t SET x = 'new'")
    pauses: list[float] = []

    async def sleep(pause: float) -> None:
        pauses.append(pause)
        if len(pauses) == 3:
            reader.execute("COMMIT")

    assert await wal.truncate(conn, sleep=sleep)
    assert pauses == [0.01, 0.02, 0.04]  # busy three times, growing pauses, then done
    assert Path(f"{tmp_path / 'w.sqlite3'}-wal").stat().st_size == 0
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM t").fetchall()
    await conn.execute("UPDATE t SET x = 'newer'")
    assert not await wal.truncate(conn, attempts=4, sleep=sleep)  # never released: it says so
    reader.close()
    await conn.close()


# ---- item 8: what erasure and retention missed --------------------------------------------


async def test_new_drops_a_request_abandoned_after_the_parent_s_name_and_number(story_db, catalogs) -> None:
    vault = await play(story_db, catalogs, INTAKE + REQUEST + "\nZorbeline > /new\n")
    conn = await connect(story_db)
    attach(conn, vault)
    state = await conversations.load(conn, 1)
    await conn.close()
    assert state.request is None and state.saved is None and state.draft is not None  # a new question, from scratch


async def test_cancel_drops_a_request_being_put_together_and_says_so(story_db, catalogs) -> None:
    story = Path.cwd() / "story.txt"
    vault = await play(story_db, catalogs, INTAKE + REQUEST + "\nZorbeline > /cancel\n")
    conn = await connect(story_db)
    attach(conn, vault)
    state = await conversations.load(conn, 1)
    await conn.close()
    assert state.request is None and state.saved is None
    told = (await replay(story, catalogs, Path.cwd() / "again.sqlite3")).rstrip().splitlines()[-1]
    assert told == "→ Zorbeline: Cancelled: nothing was sent."  # not "There is nothing to cancel."


async def test_retention_clears_a_request_abandoned_with_the_parent_s_details(story_db, catalogs) -> None:
    vault = await play(story_db, catalogs, INTAKE + REQUEST)
    conn = await connect(story_db)
    attach(conn, vault)
    assert (await conversations.load(conn, 1)).request is not None
    await conn.close()
    soon = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=89))
    await soon.conn.close()
    assert traces(story_db, vault, ["Fatmagül"]) == ["Fatmagül"]  # within the retention period: kept
    later = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=91))
    state = await conversations.load(later.conn, 1)
    await later.conn.close()
    assert state.request is None and state.saved is None and state.token > 0
    assert traces(story_db, vault, ["Fatmagül", "612345678"]) == []


async def test_erasing_a_question_clears_the_request_being_put_together_for_it(story_db, catalogs) -> None:
    vault = await play(story_db, catalogs, INTAKE + REQUEST)
    assert await erase(question="Q-1001") == 0
    assert traces(story_db, vault, PARENT) == []


async def test_a_language_typed_as_free_text_is_erased(story_db, catalogs) -> None:
    """Typed before the intake stored codes only: a tester typed a person's name there."""
    vault = await play(story_db, catalogs, INTAKE)
    typed = "UPDATE questions SET parent_language = 'other:Invented Personname'"
    rows(story_db, typed)
    runner = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=1))
    await runner.conn.close()
    assert rows(story_db, "SELECT parent_language FROM questions") == [("und",)]  # CLDR: unknown language
    assert traces(story_db, vault, ["Invented Personname"]) == []
    rows(story_db, typed)
    assert await erase(question="Q-1001") == 0
    assert traces(story_db, vault, ["Invented Personname"]) == []


async def test_the_migration_replaces_typed_languages_already_stored(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite3"
    with sqlite3.connect(database) as raw:
        raw.execute("PRAGMA user_version = 9")
    conn = await connect(database, upgrade=False)
    from db.schema import migrations

    for version, _, sql in migrations():
        if version <= 9:
            for statement in [s for s in sql.split(";\n") if s.strip()]:
                await conn.execute(statement)
    await conn.execute("INSERT INTO organisations VALUES ('o', 'O')")
    await conn.execute(
        "INSERT INTO questions (code, org_id, urgent, theme, age_group, parent_language, pc4, created_at) "
        "VALUES ('Q-AAAA', 'o', 0, 'other', '', 'other:Invented Personname', '3561', '2026-01-01'), "
        "('Q-BBBB', 'o', 0, 'other', '', 'tr', '3561', '2026-01-01')"
    )
    await conn.execute("INSERT INTO settings VALUES ('telegram.webhook_secret', 'invented-secret-token')")
    from db.schema import migrate

    assert (await migrate(conn))[:2] == ["010_privacy.sql", "011_question_languages.sql"]
    await conn.close()
    assert rows(database, "SELECT parent_language FROM questions ORDER BY code") == [("und",), ("tr",)]
    assert rows(database, "SELECT count(*) FROM settings WHERE key = 'telegram.webhook_secret'") == [(0,)]


@SQLITE_ONLY
async def test_a_typed_decline_reason_is_erased_by_retention_and_with_the_member(story_db, catalogs) -> None:
    declined = (
        INTAKE + SENT + "\nEmre > [Decline]\nEmre > [Another reason (type it)]\nEmre > Invented reason about Kwabena\n"
    )
    vault = await play(story_db, catalogs, declined)
    assert traces(story_db, vault, ["Kwabena"]) == ["Kwabena"]
    runner = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=91))
    await runner.conn.close()
    assert traces(story_db, vault, ["Kwabena"]) == []

    vault = await play(story_db.parent / "second.sqlite3", catalogs, declined)
    second = story_db.parent / "second.sqlite3"
    conn = await connect(second)
    attach(conn, vault)
    async with transaction(conn):
        member = rows(second, "SELECT id FROM users WHERE role = 'member'")[0][0]
        erased = await privacy.erase_user(conn, member, datetime.now(UTC))
    assert erased is not None and "1 decline reason(s) in their own words" in erased.items
    assert await wal.truncate(conn)
    await conn.close()
    assert traces(second, vault, ["Kwabena"]) == []


async def play_with_held_alert(database: str | Path, catalogs: Catalogs) -> Vault:
    """The intake, and an alert naming its volunteer held for a scope without a coordinator. (A
    safety alert goes only to a coordinator who can read it now; what is still held is an alert to
    a scope whose coordinator has not joined yet, as an escalation to such a wijkteam.)"""
    vault = await play(database, catalogs, INTAKE)
    conn = await connect(database)
    attach(conn, vault)
    runner = Runner(conn, catalogs, lambda: STORY_START, vault=vault)
    alert = Message(
        to=ToCoordinators(org_id="kompas"), parts=(intake.coordinator_alert("Zorbeline", STORY_START),), about=1
    )
    async with transaction(conn):
        await rendering.deliver(Work(runner.core), alert)  # as any message is, held for lack of a reader
    await conn.close()
    return vault


async def test_a_held_alert_is_sealed_and_erased_with_the_volunteer_it_names(story_db, catalogs) -> None:
    vault = await play_with_held_alert(story_db, catalogs)
    (message,) = rows(story_db, "SELECT message FROM held_alerts WHERE scope = 'org:kompas'")[0]
    assert message.startswith("v1:") and "Zorbeline" in (vault.open(message) or "")
    assert await erase(user=1) == 0
    assert rows(story_db, "SELECT count(*) FROM held_alerts WHERE scope = 'org:kompas'") == [(0,)]
    assert traces(story_db, vault, ["Zorbeline"]) == []


async def test_erasing_a_person_removes_each_of_their_addresses_and_what_waited_for_it(story_db, catalogs) -> None:
    """A person with a second address (an invented WhatsApp number) and a call waiting for it."""
    vault = await play(story_db, catalogs, INTAKE)
    conn = await connect(story_db)
    attach(conn, vault)
    async with transaction(conn):
        zorbeline = await users.by_chat(conn, "telegram", "7000")
        assert zorbeline is not None
        await users.add_address(conn, zorbeline.id, "whatsapp", "31699990042", STORY_START)
        await outbox.enqueue(conn, "whatsapp", "31699990042", "sendMessage", {"text": "invented"}, STORY_START)
    await conn.close()
    assert await erase(user=zorbeline.id) == 0
    assert rows(story_db, "SELECT count(*) FROM addresses WHERE user_id = 1 OR address IN ('7000', '31699990042')") == [
        (0,)
    ]
    assert rows(story_db, "SELECT count(*) FROM outbox") == [(0,)]
    assert traces(story_db, vault, ["31699990042"]) == []


async def test_retention_deletes_alerts_held_past_the_retention_period(story_db, catalogs) -> None:
    vault = await play_with_held_alert(story_db, catalogs)
    runner = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=89))
    await runner.conn.close()
    assert rows(story_db, "SELECT count(*) FROM held_alerts WHERE scope = 'org:kompas'") == [(1,)]
    runner = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=91))
    await runner.conn.close()
    assert rows(story_db, "SELECT count(*) FROM held_alerts") == [(0,)]
    assert traces(story_db, vault, ["Zorbeline"]) == ["Zorbeline"]  # only the account: the person is not erased
    assert rows(story_db, "SELECT count(*) FROM users WHERE display_name = 'Zorbeline'") == [(1,)]


async def test_a_request_never_answered_expires_and_its_parent_s_details_are_erased(story_db, catalogs) -> None:
    vault = await play(story_db, catalogs, INTAKE + SENT)
    soon = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=89))
    await soon.conn.close()
    assert rows(story_db, "SELECT status FROM cases") == [("requested",)]
    later = await retention(story_db, catalogs, vault, STORY_START + timedelta(days=91))
    told = [call.payload["text"] for call in await driver.waiting(later.conn)]
    await later.conn.close()
    assert rows(story_db, "SELECT status, closed_at IS NOT NULL FROM cases") == [("expired", 1)]
    assert rows(story_db, "SELECT count(*) FROM timers WHERE fired_at IS NULL") == [(0,)]
    assert traces(story_db, vault, ["Fatmagül", "612345678"]) == []
    assert told == [
        "Your request H-100001 to Emre Kocabaş has had no news for 90 days, so it is now closed. "
        "The parent's details it held are erased."
    ]


# ---- item 9: files only their owner can read; no webhook secret in the database -------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_its_log_and_its_folder_are_its_owner_s_only(tmp_path: Path) -> None:
    database = tmp_path / "data" / "w.sqlite3"
    conn = await connect(database)
    await conn.execute("CREATE TABLE t (x)")
    assert (mode(database.parent), mode(database)) == (0o700, 0o600)
    assert mode(Path(f"{database}-wal")) == 0o600 and mode(Path(f"{database}-shm")) == 0o600
    await privacy.backup(conn, tmp_path / "backups" / "copy.sqlite3", datetime.now(UTC))
    assert mode(tmp_path / "backups" / "copy.sqlite3") == 0o600 and mode(tmp_path / "backups") == 0o700
    await conn.close()


async def test_files_made_readable_by_others_are_tightened(tmp_path: Path) -> None:
    database = tmp_path / "data" / "w.sqlite3"
    await (await connect(database)).close()
    for path, loose in ((database.parent, 0o755), (database, 0o644), (Path(f"{database}-wal"), 0o644)):
        if path.exists():
            path.chmod(loose)
    conn = await connect(database)
    assert (mode(database.parent), mode(database)) == (0o700, 0o600)
    assert mode(Path(f"{database}-wal")) == 0o600
    key_file = tmp_path / "data" / "w.key"
    load_keys(None, key_file, create=True)
    key_file.chmod(0o644)  # e.g. restored from a backup by hand
    load_keys(None, key_file, create=False)
    assert mode(key_file) == 0o600
    (tmp_path / "old-copy.sqlite3").write_bytes(b"")
    (tmp_path / "old-copy.sqlite3").chmod(0o644)
    await privacy.backup(conn, tmp_path / "old-copy.sqlite3", datetime.now(UTC))
    assert mode(tmp_path / "old-copy.sqlite3") == 0o600
    await conn.close()


async def test_a_database_in_the_working_directory_leaves_that_directory_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    await (await connect(Path("w.sqlite3"))).close()
    assert (mode(tmp_path), mode(tmp_path / "w.sqlite3")) == (0o755, 0o600)


async def test_the_webhook_secret_made_by_the_bot_is_not_kept_in_the_database(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    wijkbrug.env["WIJKBRUG_WEBHOOK_PORT"] = str(port)
    wijkbrug.env.pop("WIJKBRUG_WEBHOOK_SECRET", None)
    await wijkbrug.start("--webhook", url)
    update = {
        "update_id": 601,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 7702, "type": "private"},
            "from": {"id": 7702, "is_bot": False, "first_name": "X", "language_code": "en"},
            "text": "/start",
        },
    }
    assert await post(url, {**update, "update_id": 600}, "wrong") == 403
    await wijkbrug.api.wait_for(lambda a: ("webhook", "") in a.settings, timeout=20)
    secret = wijkbrug.api.settings[("webhook", "")]["secret_token"]
    assert len(secret) >= 32
    assert await post(url, update, secret) == 200
    await wijkbrug.api.wait_for(lambda a: any("only for invited" in t for t in texts(a, 7702)), timeout=20)
    assert await wijkbrug.stop() == 0
    assert secret.encode() not in files(wijkbrug.database)


@SQLITE_ONLY
async def test_erasing_while_the_bot_runs_empties_its_write_ahead_log(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    """The real `wijkbrug run` keeps its connections open and its checkpointer thread running
    while the operator erases in another process: the log is still emptied, and neither file
    holds the question's text afterwards (sealed or not)."""
    from tests.test_e2e_telegram import VOLUNTEER, press, reply_containing

    api = wijkbrug.api
    invite = (
        (await wijkbrug.operator("invite", "--role", "volunteer", "--org", "lantaarn", "--json"))
        .split('"code": "')[1]
        .split('"')[0]
    )
    await wijkbrug.start()
    api.user_sends(VOLUNTEER, f"/start {invite}", first_name="Invented", language_code="en")
    await reply_containing(api, VOLUNTEER, "Welcome to Wijkbrug")
    api.user_sends(VOLUNTEER, "/new", language_code="en")
    await reply_containing(api, VOLUNTEER, "Is a child in danger right now")
    for label, next_prompt in (
        ("No", "What is the question about?"), ("School and education", "How old"), ("4–11 years", "Which language"),
    ):
        press(api, VOLUNTEER, label)
        await reply_containing(api, VOLUNTEER, next_prompt)
    press(api, VOLUNTEER, "Turkish")
    await reply_containing(api, VOLUNTEER, "postcode")
    api.user_sends(VOLUNTEER, "3561", language_code="en")
    await reply_containing(api, VOLUNTEER, "Describe the question")
    api.user_sends(VOLUNTEER, "An invented question about a xylophonic letter.", language_code="en")
    await reply_containing(api, VOLUNTEER, "Please check the question:")
    press(api, VOLUNTEER, "Save")
    await reply_containing(api, VOLUNTEER, "Saved. The question code is")
    await wijkbrug.settled()
    vault = Vault(load_keys(None, wijkbrug.database.with_suffix(".key"), create=False))
    assert traces(wijkbrug.database, vault, ["xylophonic"]) == ["xylophonic"]
    (code,) = rows(wijkbrug.database, "SELECT code FROM questions")[0]
    out = await wijkbrug.operator("erase", "--question", code)
    assert "the question's text" in out
    assert traces(wijkbrug.database, vault, ["xylophonic"]) == []  # the bot is still running
    assert wijkbrug.process is not None and wijkbrug.process.returncode is None
    assert await wijkbrug.stop() == 0
