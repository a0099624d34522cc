"""The runner: access before any flow, one transaction per update, rendering per recipient."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import NoReturn

import pytest

from bot.runner import Runner
from bot.telegram_send import calls
from db import alerts, conversations, inbox, invites, questions, users
from db.connection import transaction
from db.inbox import Incoming
from flows import session
from flows.model import Role
from flows.state import Step
from tests import updates
from tests.driver import feed, sent
from tests.conftest import BACKENDS


async def invite(runner: Runner, role: Role = Role.VOLUNTEER, org: str = "lantaarn") -> str:
    async with transaction(runner.conn):
        made = await invites.create(
            runner.conn, role=role, org_id=org, now=runner.clock(), valid_for=timedelta(days=14)
        )
    return made.code


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here that opens `conn` runs on SQLite and on PostgreSQL."""
    return str(request.param)


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's own lock and disk errors


@pytest.fixture
def runner(conn, catalogs, clock) -> Runner:
    # Predictable codes, so a test can take one and see another used.
    codes = itertools.cycle([f"Q-{letter * 4}" for letter in "ABCDEFGH"])
    return Runner(conn, catalogs, clock, "telegram", new_code=lambda: next(codes))


async def test_a_stranger_is_answered_politely_and_nothing_of_them_is_kept(runner, conn) -> None:
    for text in ["/start", "/start not-a-code", "hello"]:
        await feed(runner, updates.message(900, text, language_code="tr"))
    calls = await sent(runner)
    assert [c[1] for c in calls] == ["sendMessage"] * 3
    assert "davet" in calls[0][2]["text"]  # Turkish, from the phone's language
    assert await users.by_chat(conn, "telegram", "900") is None
    assert await inbox.pending(conn, "telegram") == []
    async with conn.execute("SELECT count(*) FROM inbox WHERE payload IS NOT NULL") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_an_invite_registers_once_with_the_phone_language(runner, conn) -> None:
    code = await invite(runner)
    await feed(runner, updates.message(901, f"/start {code}", first_name="Yusuf", language_code="ar"))
    account = await users.by_chat(conn, "telegram", "901")
    assert account is not None and account.role is Role.VOLUNTEER and account.org_id == "lantaarn"
    assert account.language == "ar" and account.display_name == "Yusuf"
    welcome = (await sent(runner))[0][2]["text"]
    assert "Yusuf" in welcome and "/new" in welcome

    await feed(runner, updates.message(902, f"/start {code}", language_code="de"))  # used already
    assert await users.by_chat(conn, "telegram", "902") is None
    refusal = (await sent(runner))[0][2]["text"]
    assert "uitnodigingslink" in refusal  # German is not shipped: Dutch


async def test_a_saved_question_is_stored_and_the_conversation_reset(runner, conn) -> None:
    code = await invite(runner)
    await feed(runner, updates.message(903, f"/start {code}", language_code="en"))
    await feed(runner, updates.message(903, "/new"))
    await sent(runner)
    for value in ["no", "school", "4-12", "tr"]:
        state = await conversations.load(conn, 1)
        await feed(runner, updates.press(903, 50, f"{state.token}|{value}"))
    await feed(runner, updates.message(903, "3561 AB"))
    await feed(runner, updates.message(903, "An invented question about a letter from school."))
    state = await conversations.load(conn, 1)
    assert state.step is Step.REVIEW
    await sent(runner)
    await feed(runner, updates.press(903, 51, f"{state.token}|save", text="Please check the question:"))
    calls = await sent(runner)
    assert [c[1] for c in calls] == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert calls[1][2]["text"].endswith("✓ Save") and calls[1][2]["message_id"] == 51
    [stored] = await questions.of_volunteer(conn, 1, runner.vault)
    assert stored.code in calls[2][2]["text"]
    assert stored.theme == "school" and stored.pc4 == "3561" and stored.parent_language == "tr"
    assert (await conversations.load(conn, 1)).step is None


async def test_a_taken_question_code_is_replaced_not_lost(runner, conn, clock) -> None:
    code = await invite(runner)
    await feed(runner, updates.message(904, f"/start {code}", language_code="en"))
    from flows.model import LogQuestion

    await questions.insert(
        conn,
        LogQuestion(
            code="Q-AAAA", volunteer_id=1, org_id="lantaarn", urgent=False, theme="other", age_group="0-4",
            parent_language="nl", pc4="3500", text="x", created_at=clock(),
        ),
        runner.vault,
    )
    await feed(runner, updates.message(904, "/new"))
    for value in ["no", "housing", "0-4", "nl"]:
        await feed(runner, updates.press(904, 1, f"{(await conversations.load(conn, 1)).token}|{value}"))
    await feed(runner, updates.message(904, "3500"))
    await feed(runner, updates.message(904, "invented"))
    await feed(runner, updates.press(904, 1, f"{(await conversations.load(conn, 1)).token}|save"))
    saved = await questions.of_volunteer(conn, 1, runner.vault)
    assert len(saved) == 2 and saved[0].code == "Q-AAAA"
    assert saved[1].code != "Q-AAAA" and saved[1].text == "invented"  # the taken code was skipped


async def test_without_a_coordinator_the_volunteer_is_told_to_call_veilig_thuis_and_no_alert_waits(
    runner, conn
) -> None:
    await feed(runner, updates.message(905, f"/start {await invite(runner)}", first_name="Sara", language_code="en"))
    await feed(runner, updates.message(905, "/new"))
    await sent(runner)
    await feed(runner, updates.press(905, 1, f"{(await conversations.load(conn, 1)).token}|yes"))
    to_volunteer = [c for c in await sent(runner) if c[1] == "sendMessage"]
    safety = to_volunteer[0][2]["text"]  # first, and on its own
    assert "112" in safety and "0800-2000" in safety and "?" not in safety
    assert "Your organisation has no coordinator in Wijkbrug yet" in safety and "call Veilig Thuis yourself" in safety
    assert "is being alerted" not in safety
    assert await alerts.count(conn, "org:lantaarn") == 0  # nothing waits unseen

    await feed(runner, updates.message(906, f"/start {await invite(runner, Role.COORDINATOR)}", language_code="nl"))
    to_coordinator = [c for c in await sent(runner) if c[0] == "906" and c[1] == "sendMessage"]
    assert len(to_coordinator) == 1  # the welcome only

    # now there is a coordinator: the alert goes straight to them, in their language, with a
    # one-tap link to the volunteer's chat
    await feed(runner, updates.message(905, "/cancel"))
    await feed(runner, updates.message(905, "/new"))
    await feed(runner, updates.press(905, 1, f"{(await conversations.load(conn, 1)).token}|yes"))
    calls = await sent(runner)
    [alert] = [c[2] for c in calls if c[0] == "906"]
    assert "Dringend" in alert["text"] and alert["text"].endswith("\n\n👤 Sara")
    offset = len(alert["text"].encode("utf-16-le")) // 2 - 4  # in UTF-16 units, as Telegram counts
    assert alert["entities"] == [
        {
            "type": "text_mention", "offset": offset, "length": 4,
            "user": {"id": 905, "is_bot": False, "first_name": "Sara"},
        }
    ]
    assert "is being alerted" in next(
        c[2]["text"] for c in calls if c[0] == "905" and "call 112 now" in c[2].get("text", "")
    )


async def test_a_coordinator_of_another_organisation_gets_no_alert(runner, conn) -> None:
    await feed(runner, updates.message(907, f"/start {await invite(runner, Role.COORDINATOR, 'kompas')}"))
    await feed(runner, updates.message(908, f"/start {await invite(runner)}"))
    await sent(runner)
    await feed(runner, updates.message(908, "/new"))
    await feed(runner, updates.press(908, 1, f"{(await conversations.load(conn, 2)).token}|yes"))
    assert all(c[0] != "907" for c in await sent(runner))
    assert await alerts.count(conn, "org:lantaarn") == 0


class BrokenStep:
    """The real conversation, except that a step has a bug whose message quotes what was typed."""

    case_action = staticmethod(session.case_action)

    @staticmethod
    def step(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("a bug, with words the user typed in it")


async def test_a_failing_step_changes_nothing_and_is_answered(runner, conn, catalogs, clock) -> None:
    await feed(runner, updates.message(909, f"/start {await invite(runner)}", language_code="en"))
    await feed(runner, updates.message(909, "/new"))
    before = await conversations.load(conn, 1)
    await sent(runner)

    broken = Runner(conn, catalogs, clock, "telegram", flow=BrokenStep())
    await feed(broken, updates.message(909, "the text"))
    assert await conversations.load(conn, 1) == before
    calls = await sent(broken)
    assert len(calls) == 1 and "went wrong" in calls[0][2]["text"]
    assert list((await inbox.outcomes(conn, "telegram")).values())[-1] == "failed"


async def test_a_stale_press_only_answers_the_callback(runner, conn) -> None:
    await feed(runner, updates.message(910, f"/start {await invite(runner)}", language_code="en"))
    await feed(runner, updates.message(910, "/new"))
    state = await conversations.load(conn, 1)
    await sent(runner)
    await feed(runner, updates.press(910, 3, f"{state.token - 1}|no"))
    calls = await sent(runner)
    assert [c[1] for c in calls] == ["answerCallbackQuery"]
    assert "expired" in calls[0][2]["text"]
    assert await conversations.load(conn, 1) == state


async def test_a_member_joins_bound_to_their_entry_and_away_changes_who_is_suggested(runner, conn, clock) -> None:
    from bot.directory_file import load, sample_path
    from db import directory as stored_directory

    sample = load(sample_path())
    async with transaction(conn):
        await stored_directory.replace(conn, sample.directory, sample.away_given)
        member_code = (
            await invites.create(
                conn, role=Role.MEMBER, org_id=None, contact_id="c-overvecht-2", now=clock(),
                valid_for=timedelta(days=1),
            )
        ).code
    await feed(runner, updates.message(920, f"/start {member_code}", first_name="Emre", language_code="en"))
    member = await users.by_chat(conn, "telegram", "920")
    assert member is not None and member.contact_id == "c-overvecht-2" and member.org_id is None
    calls = await sent(runner)
    assert "You are registered as Emre Kocabaş of Buurtteam Overvecht." in calls[0][2]["text"]
    menu = next(c for c in calls if c[1] == "setMyCommands")
    assert [c["command"] for c in menu[2]["commands"]] == [
        "inbox", "contacts", "away", "back", "cancel", "language", "help",
    ]
    assert menu[2]["scope"] == {"type": "chat", "chat_id": "920"}

    async def suggested() -> str:
        await feed(runner, updates.message(921, "/new", language_code="en"))
        for value in ["no", "school", "4-12", "tr"]:
            await feed(runner, updates.press(921, 1, f"{(await conversations.load(conn, 2)).token}|{value}"))
        await feed(runner, updates.message(921, "3561"))
        await feed(runner, updates.message(921, "An invented question."))
        await feed(runner, updates.press(921, 1, f"{(await conversations.load(conn, 2)).token}|save"))
        return [c for c in await sent(runner) if c[1] == "sendMessage"][-1][2]["text"]

    await feed(runner, updates.message(921, f"/start {await invite(runner)}", language_code="en"))
    await sent(runner)
    assert "Emre Kocabaş" in await suggested()  # speaks Turkish, handles school
    await feed(runner, updates.message(920, "/away 2026-12-24"))
    assert "Emre Kocabaş" not in await suggested()  # away: a colleague is suggested instead
    await feed(runner, updates.message(920, "/back"))
    assert "Emre Kocabaş" in await suggested()


def test_long_texts_are_cut_at_paragraphs_within_telegram_s_limit() -> None:
    from bot.outgoing import split_text

    paragraphs = [f"paragraph {i} " + "x" * 900 for i in range(10)]
    pieces = split_text("\n\n".join(paragraphs), 4096)
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) == 3
    assert "\n\n".join(pieces) == "\n\n".join(paragraphs)
    assert split_text("y" * 5000, 4096) == ["y" * 4096, "y" * 904]


async def test_a_flood_is_slowed_with_one_polite_message_and_nothing_is_lost(conn, catalogs, clock) -> None:
    from bot.runner import Flood

    seconds = [0.0]
    runner = Runner(conn, catalogs, clock, "telegram", flood=Flood(per_minute=30, burst=10, clock=lambda: seconds[0]))
    await feed(runner, updates.message(930, f"/start {await invite(runner)}", language_code="en"))
    await sent(runner)
    for n in range(14):
        update = updates.message(930, f"hello {n}")
        async with transaction(conn):
            await inbox.receive(
                conn,
                "telegram",
                [Incoming(update_id=update["update_id"], payload=updates.payload(update))],
                runner.clock(),
            )
    await runner.process_pending()
    replies = await sent(runner)
    assert len(replies) == 9 + 1  # nine handled (the tenth token went to /start), then one polite notice
    assert "very quickly" in replies[-1][2]["text"]
    assert len(await inbox.pending(conn, "telegram")) == 5  # held back, not lost
    seconds[0] += 10  # five more tokens
    await runner.process_pending()
    assert len(await sent(runner)) == 5 and await inbox.pending(conn, "telegram") == []


@SQLITE_ONLY
async def test_a_locked_database_writes_nothing_and_the_update_waits(runner, conn, db_path) -> None:
    import sqlite3

    from bot.runner import StorageProblem
    from db import connection

    code = await invite(runner)
    update = updates.message(940, f"/start {code}", language_code="en")
    async with transaction(conn):
        await inbox.receive(
            conn, "telegram", [Incoming(update_id=update["update_id"], payload=updates.payload(update))], runner.clock()
        )
    other = sqlite3.connect(db_path, timeout=0)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the database
    conn.busy_seconds = 0.1
    try:
        with pytest.raises(StorageProblem, match="locked"):
            await runner.process_pending()
    finally:
        other.rollback()
        other.close()
        conn.busy_seconds = connection.BUSY_TIMEOUT_MS / 1000
    assert len(await inbox.pending(conn, "telegram")) == 1 and await users.by_chat(conn, "telegram", "940") is None
    await runner.process_pending()  # free again: the update is handled, nothing was lost
    assert await users.by_chat(conn, "telegram", "940") is not None and await inbox.pending(conn, "telegram") == []


@SQLITE_ONLY
async def test_a_full_disk_is_reported_as_itself_and_leaves_no_partial_write(conn) -> None:
    """SQLite rolls a transaction back by itself when the disk is full; the error that reaches
    the runner (and becomes a StorageProblem, see above) must be that one, not a failed rollback."""
    import sqlite3

    from db import settings

    async with conn.execute("PRAGMA page_count") as cur:
        pages = (await cur.fetchone())[0]
    await conn.execute(f"PRAGMA max_page_count = {pages + 2}")
    written = 0
    with pytest.raises(sqlite3.OperationalError, match="full"):
        while True:
            async with transaction(conn):
                await settings.put(conn, f"filler.{written}", "x" * 2000)
                await settings.put(conn, f"filler.{written}.b", "y" * 2000)
            written += 1
    assert await settings.get(conn, f"filler.{written}") is None  # the failed transaction left nothing
    await conn.execute("PRAGMA max_page_count = 1073741823")


async def test_with_send_now_a_press_is_answered_after_its_commit_beside_the_outbox(
    conn, catalogs, clock, monkeypatch
) -> None:
    """The Telegram bot answers button presses at once, beside the outbox: only once the
    update's transaction is committed, and never from a transaction that was rolled back."""
    now: list[tuple[str, dict, bool]] = []

    def send_now(channel: str, address: str, kind: str, body: dict) -> None:
        now.append(calls(address, kind, body) + (conn.in_transaction,))

    runner = Runner(conn, catalogs, clock, "telegram", send_now=send_now)
    await feed(runner, updates.message(911, f"/start {await invite(runner)}", language_code="en"))
    await feed(runner, updates.message(911, "/new"))
    await sent(runner)
    state = await conversations.load(conn, 1)
    await feed(runner, updates.press(911, 7, f"{state.token}|no", text="Is a child in danger?"))
    assert [c[1] for c in await sent(runner)] == ["editMessageText", "sendMessage"]
    assert now == [("answerCallbackQuery", {"callback_query_id": now[0][1]["callback_query_id"]}, False)]

    now.clear()
    await feed(runner, updates.press(911, 3, f"{state.token - 1}|no"))  # a stale button: only a notice
    assert await sent(runner) == []
    assert [m for m, _, _ in now] == ["answerCallbackQuery"] and "expired" in now[0][1]["text"]

    now.clear()
    state = await conversations.load(conn, 1)
    real = inbox.mark_processed
    failures = iter([RuntimeError("a bug, after the press was answered")])

    async def breaks_once(*args, **kwargs):
        if (failure := next(failures, None)) is not None:
            raise failure
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbox, "mark_processed", breaks_once)
    await feed(runner, updates.press(911, 8, f"{state.token}|no", text="Is a child in danger?"))
    # The update's transaction, answer and all, is undone; the apology's own answers the press once.
    assert await conversations.load(conn, 1) == state
    assert [c[1] for c in await sent(runner)] == ["sendMessage"]
    assert [(m, in_txn) for m, _, in_txn in now] == [("answerCallbackQuery", False)]
