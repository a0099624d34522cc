"""Two `wijkbrug run --webhook` processes on one PostgreSQL database, behind the fake Bot API acting as
Telegram behind a load balancer (each update goes to one instance; one refused goes to the other).

50 invented volunteers register and go through the intake at once, ten of them on to a warm handover
to the same (invented) wijkteam member; meanwhile one instance is killed with SIGKILL and, a moment
later, started again (a crash, then a rolling restart's comeback). Then the reminders fall due and the
Monday push is due, with both instances running, moved there in the database as a stopped clock would
find them (no test hook in the bot: the timers' due time and the stored next-push time are set in the
past). Checked at the end:

- nothing lost: every update was taken by an instance, stored once and processed, none failed;
- every person's replies came in the order of their steps, each once (a message in flight at the kill
  may come twice, by design: only a copy sent before the kill and again after it is excused);
- every button press was answered once (same excuse);
- one question per volunteer, one case per handover;
- every reminder sent once, the Monday push sent once.

The person-at-a-time processing and the timer, outbox and push claims this needs are issue 18's
(PostgreSQL advisory locks, SKIP LOCKED leases, the push under a lock)."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from db import invites
from db.connection import connect, transaction
from flows.model import Role
from tests.fakebotapi import FakeBotApi
from tests.test_e2e_telegram import TOKEN, Wijkbrug, press, stored, texts
from tests.test_webhook import free_port

PEOPLE = 50
HANDOVERS = 10  # the first ten volunteers go on to a warm handover
KILL_AFTER = 0.4  # the share of all steps done when one instance is killed
SECRET = "an-invented-webhook-secret-0123456789"
HOOK = "https://bot.example.org/telegram"  # the public address; the balancer spreads it over the instances
LONG_AGO = "2000-01-03T08:00:00+00:00"
WITHIN = 60  # seconds a step may take before the test gives up (a hang, never a timed assertion)

VOLUNTEERS = range(8000, 8000 + PEOPLE)
MEMBER = 8100  # Emre Kocabaş of Buurtteam Overvecht, from the invented sample directory
COORDINATOR = 8101  # of the volunteers' organisation: the Monday push reaches them

INTAKE = [  # (what the volunteer does, a fragment of the reply it brings)
    ("/new", "Is a child in danger right now"),
    ("[No]", "What is the question about?"),
    ("[School and education]", "How old is the child?"),
    ("[4–11 years]", "Which language does the parent speak best?"),
    ("[Turkish]", "What is the parent's postcode?"),
    ("3561", "Describe the question in your own words"),
    ("An invented question, number {n}.", "Please check the question:"),
    ("[Save]", "Saved. The question code is"),
]
HANDOVER = [
    ("[🤝 Emre Kocabaş]", "How will the family meet Emre Kocabaş?"),
    ("[The parent calls the professional]", "Please read this to the parent"),
    ("[The parent agrees]", "What is the parent's first name?"),
    ("Invented", "What is the parent's phone number?"),
    ("06 12345678", "When can Emre Kocabaş best call the parent?"),
    ("[No preference]", "Do you want to add a photo or a document"),
    ("[No attachment]", "Please check the request:"),
    ("[Send the request]", "Sent to Emre Kocabaş as"),
]
WELCOME = "Welcome to Wijkbrug"
REQUEST = "Request for a warm handover"
REMINDER = "⏰ Reminder:"
PUSH = "Good morning! Here is last week's summary."


@pytest.fixture
def backend() -> str:
    return "postgresql"


@dataclass
class Two:
    api: FakeBotApi
    instances: list[Wijkbrug]
    database: str
    sent: list[int] = field(default_factory=list)  # every update a person sent
    killed_at: float = 0.0  # time.monotonic() of the SIGKILL
    dead_at: float = 0.0  # …and once the fake has read what the killed instance wrote before it died
    trouble: str | None = None  # what went wrong, seen by watch() while the people talk

    def scripts(self) -> dict[int, list[tuple[str, str]]]:
        return {
            chat: [(a.format(n=n), e) for a, e in INTAKE + (HANDOVER if n < HANDOVERS else [])]
            for n, chat in enumerate(VOLUNTEERS)
        }


@pytest.fixture
async def two(tmp_path: Path, database: str) -> AsyncIterator[Two]:
    async with FakeBotApi(token=TOKEN) as api:
        api.retry_pause = 0.05
        instances = [Wijkbrug(api, tmp_path / name, database) for name in ("a", "b")]
        for instance in instances:
            instance.folder.mkdir()
            instance.env.pop("WIJKBRUG_ONLY_INSTANCE")  # two instances: webhook mode
            instance.env.update({
                "WIJKBRUG_KEY_FILE": str(tmp_path / "wijkbrug.key"),  # one key for the one database
                "WIJKBRUG_WEBHOOK_PORT": str(free_port()), "WIJKBRUG_WEBHOOK_SECRET": SECRET,
                # The fake has no rate limits: the test is about correctness, not Telegram's caps.
                "WIJKBRUG_SEND_PER_SECOND": "100000", "WIJKBRUG_CHAT_PER_SECOND": "100000",
                "WIJKBRUG_FLOOD_PER_MINUTE": "100000",
            })
        await instances[0].operator("directory", "import", str(sample_directory()))
        api.balance([f"http://127.0.0.1:{i.env['WIJKBRUG_WEBHOOK_PORT']}/telegram" for i in instances])
        yield Two(api, instances, database)
        for instance in instances:
            if instance.process is not None and instance.process.returncode is None:
                await instance.kill()


def sample_directory() -> Path:
    from bot import directory_file

    return directory_file.sample_path()


async def invite_everyone(database: str) -> dict[int, str]:
    """An invite for every person, made here (52 operator commands would take longer than the test)."""
    conn = await connect(database)
    now, day = datetime.now(UTC), timedelta(days=1)
    try:
        async with transaction(conn):
            codes = {
                chat: (await invites.create(conn, role=Role.VOLUNTEER, org_id="kompas", now=now, valid_for=day)).code
                for chat in VOLUNTEERS
            }
            codes[MEMBER] = (
                await invites.create(
                    conn, role=Role.MEMBER, org_id=None, contact_id="c-overvecht-2", now=now, valid_for=day
                )
            ).code
            codes[COORDINATOR] = (
                await invites.create(conn, role=Role.COORDINATOR, org_id="kompas", now=now, valid_for=day)
            ).code
    finally:
        await conn.close()
    return codes


def count(api: FakeBotApi, chat: int, fragment: str) -> int:
    return sum(fragment in t for t in texts(api, chat))


async def step(two: Two, chat: int, action: str, expect: str) -> None:
    """One update from `chat` and the reply it brings (another copy of `expect` than before)."""
    api = two.api
    seen = count(api, chat, expect)
    if action.startswith("["):
        sent = press(api, chat, action.strip("[]"))
    else:
        sent = api.user_sends(chat, action, language_code="en")
    two.sent.append(sent["update_id"])

    def answered(a: FakeBotApi) -> bool:
        assert two.trouble is None, two.trouble
        return count(a, chat, expect) > seen

    await api.wait_for(answered, timeout=WITHIN)


async def watch(two: Two, scripts: dict[int, list[tuple[str, str]]]) -> None:
    """Stops the test at the first sign of an update processed twice (a person's flow derails after
    it, so waiting for their next reply would only time out): a press answered twice, or a reply to
    one step sent twice, other than a call in flight at the kill sent again."""
    api = two.api
    while two.trouble is None:
        twice = [
            c for c in api.calls if c["method"] == "answerCallbackQuery" and c.get("failed") == 400
            and not (c["at"] >= two.killed_at > 0)
        ]
        if twice:
            two.trouble = (
                f"{len(twice)} button press(es) answered a second time (Telegram refused: query too old), "
                "so an update was processed by both instances"
            )
        for chat, script in scripts.items():
            said = [c["params"].get("text", "") for c in excused(calls_to(api, chat, "sendMessage"), two)]
            doubled = [e for e in [WELCOME, *(e for _, e in script)] if sum(e in t for t in said) > 1]
            if doubled:
                two.trouble = (
                    f"volunteer {chat} got the reply {doubled[0]!r} twice, not as a message in flight at the "
                    "kill: an update was processed by both instances (or a message sent by both)"
                )
                break
        await asyncio.sleep(0.2)


async def settled(two: Two) -> None:
    """Every update taken and processed, every call made, no timer due and the push not due."""
    def idle() -> bool:
        waiting = stored(
            two.database,
            "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM inbox WHERE processed_at IS NULL) "
            f"+ (SELECT count(*) FROM timers WHERE fired_at IS NULL AND due_at <= '{datetime.now(UTC).isoformat()}') "
            f"+ (SELECT count(*) FROM settings WHERE key = 'summary.next_push' AND value <= '{LONG_AGO}')",
        )
        return waiting == [(0,)] and two.api.pending_updates == 0

    await two.api.wait_for(lambda _: idle(), timeout=WITHIN)
    await asyncio.sleep(2)  # a round of both instances' timers (every second) that might still fire
    await two.api.wait_for(lambda _: idle(), timeout=WITHIN)


def calls_to(api: FakeBotApi, chat: int, method: str) -> list[dict]:
    return [c for c in api.calls if c["method"] == method and "failed" not in c and api._call_chat(c) == chat]


def excused(calls: list[dict], two: Two) -> list[dict]:
    """The calls without the second copies of one in flight at the kill (sent by the killed instance,
    again after the kill by the instance that took over or came back, possibly after newer ones). The
    fake reads a request the killed instance wrote just before it died only after the SIGKILL was sent:
    a first copy counts as the killed one's until the fake has read all it left (`dead_at`)."""
    kept: list[dict] = []
    for call in calls:
        if two.killed_at and two.killed_at <= call["at"] and any(
            earlier["params"] == call["params"] and earlier["at"] < two.dead_at for earlier in kept
        ):
            continue
        kept.append(call)
    return kept


async def start_both(two: Two, *which: int) -> None:
    for n in which or range(len(two.instances)):
        await two.instances[n].start("--webhook", HOOK)
    await two.api.wait_for(lambda a: a._webhook == HOOK, timeout=WITHIN)


async def register(two: Two, codes: dict[int, str]) -> None:
    await asyncio.gather(*(step(two, chat, f"/start {code}", WELCOME) for chat, code in codes.items()))


async def test_fifty_people_at_once_and_a_kill_lose_nothing_and_keep_each_ones_order(two: Two) -> None:
    api = two.api
    codes = await invite_everyone(two.database)
    first = two.instances[0]
    scripts = two.scripts()
    watching = asyncio.create_task(watch(two, scripts))
    await start_both(two)
    await register(two, codes)  # everyone at once

    # Everyone talks at once; one instance is killed when 40% of the steps are done, and comes back.
    total = sum(len(s) for s in scripts.values())
    done = 0

    async def volunteer(chat: int) -> None:
        nonlocal done
        for action, expect in scripts[chat]:
            await step(two, chat, action, expect)
            done += 1

    async def crash() -> None:
        await api.wait_for(lambda _: done >= total * KILL_AFTER, timeout=WITHIN)
        assert first.process is not None
        two.killed_at = time.monotonic()
        first.process.send_signal(signal.SIGKILL)
        await first.process.wait()
        await asyncio.sleep(0.2)  # the fake reads what it wrote before it died
        two.dead_at = time.monotonic()
        await asyncio.sleep(1)  # meanwhile every update goes to the other instance
        await first.start("--webhook", HOOK)

    try:
        crashing = asyncio.create_task(crash())
        await asyncio.gather(*(volunteer(chat) for chat in VOLUNTEERS))
        await crashing
        assert two.killed_at and done == total
        await settled(two)
        await asyncio.sleep(0.5)  # the watch's last look
        assert two.trouble is None, two.trouble
    finally:
        two.trouble = two.trouble or "ended"
        await watching
    assert all(i.process is not None and i.process.returncode is None for i in two.instances), logs(two)

    # Nothing lost: every update taken by an instance, stored once, processed, none failed.
    assert api.pending_updates == 0
    outcomes = dict(stored(two.database, "SELECT update_id, outcome FROM inbox"))
    assert sorted(outcomes) == sorted(two.sent)
    assert [u for u, outcome in outcomes.items() if outcome in (None, "failed")] == []
    assert set(api.handed_out) == set(two.sent)

    # Every person's replies in the order of their steps, each once.
    out_of_order = {}
    for chat, script in scripts.items():
        said = [c["params"].get("text", "") for c in excused(calls_to(api, chat, "sendMessage"), two)]
        expected = [WELCOME] + [expect for _, expect in script]
        heard = [next(e for e in expected if e in text) for text in said if any(e in text for e in expected)]
        if heard != expected:
            out_of_order[chat] = heard
    assert out_of_order == {}, f"{len(out_of_order)} of {PEOPLE} volunteers heard replies out of order or twice"

    # Every press answered once (a second answer Telegram refuses: "query is too old"). A press's answer only
    # stops its spinner and is sent beside the outbox, not kept: a press the killed instance processed just
    # before it died may go unanswered (its step was stored; Telegram ends the spinner itself). Either instance
    # may have received it (both look at the inbox), so: any press taken in the two seconds before the kill,
    # and at most one per volunteer: a press's answer is queued before its step's reply, which the volunteer
    # waits for before pressing again. (How many that is overall depends on how fast the bot processed just
    # before the kill: 10 in one run, all within 0.07 s of it, which a bound of 8 failed.)
    presses = [q for q, c in api._queries.items() if c in scripts]
    answered = [
        str(c["params"]["callback_query_id"]) for c in api.calls
        if c["method"] == "answerCallbackQuery" and "failed" not in c
    ]
    assert len(answered) == len(set(answered)) and set(answered) <= set(presses)
    just_before_kill = {
        d["query"] for d in api.deliveries if d["status"] == 200 and two.killed_at - 2 < d["at"] < two.dead_at
    }
    unanswered = set(presses) - set(answered)
    per_volunteer = [api._queries[q] for q in unanswered]
    assert unanswered <= just_before_kill and len(per_volunteer) == len(set(per_volunteer)), [
        (q, [(d["url"], d["status"], round(d["at"] - two.killed_at, 2)) for d in api.deliveries if d["query"] == q])
        for q in sorted(unanswered)
    ]

    # One question per volunteer, one case (and one request to the member) per handover.
    assert stored(two.database, "SELECT count(*), count(DISTINCT volunteer_id) FROM questions") == [(PEOPLE, PEOPLE)]
    assert stored(two.database, "SELECT count(*) FROM cases") == [(HANDOVERS,)]
    to_member = [c["params"]["text"] for c in excused(calls_to(api, MEMBER, "sendMessage"), two)]
    cases = re.findall(r"H-[0-9A-Z]+", " ".join(t.split("\n")[0] for t in to_member if REQUEST in t))
    assert len(cases) == HANDOVERS and len(set(cases)) == HANDOVERS

    for instance in two.instances:
        assert await instance.stop() == 0, logs(two)
    assert len({c["params"]["url"] for c in api.calls if c["method"] == "setWebhook"}) == 1
    assert not any(c["method"] == "getUpdates" for c in api.calls) and api.polls == []
    taken_by = {d["url"] for d in api.deliveries if d["status"] == 200}
    assert len(taken_by) == 2  # both instances took updates
    refused = sum(1 for d in api.deliveries if d["status"] != 200)
    print(
        f"\ntwo instances: {len(two.sent)} updates from {len(codes)} people, one instance killed and started "
        f"again, {refused} deliveries refused and sent to the other instance"
    )


async def test_reminders_and_the_monday_push_go_once_with_two_instances(two: Two) -> None:
    """Ten handovers made through one instance; then, with both running, their reminders fall due and
    the Monday push is due: each reminder and the push go out once."""
    api = two.api
    codes = await invite_everyone(two.database)
    chats = list(VOLUNTEERS)[:HANDOVERS]
    scripts = {chat: two.scripts()[chat] for chat in chats}
    await start_both(two, 0)  # the handovers are made on one instance: this test is about the timers
    await register(two, {chat: codes[chat] for chat in [*chats, MEMBER, COORDINATOR]})

    async def volunteer(chat: int) -> None:
        for action, expect in scripts[chat]:
            await step(two, chat, action, expect)

    await asyncio.gather(*(volunteer(chat) for chat in chats))
    await settled(two)
    await start_both(two, 1)
    await api.wait_for(lambda a: sum(c["method"] == "setWebhook" for c in a.calls) == 2, timeout=WITHIN)

    # Time passes: the reminders fall due and the Monday push is due, both instances running.
    waiting = stored(two.database, "SELECT count(*) FROM timers WHERE kind = 'remind' AND fired_at IS NULL")
    assert waiting == [(HANDOVERS,)]
    change(two.database, f"UPDATE timers SET due_at = '{LONG_AGO}' WHERE kind = 'remind' AND fired_at IS NULL")
    change(two.database, f"UPDATE settings SET value = '{LONG_AGO}' WHERE key = 'summary.next_push'")
    await api.wait_for(lambda a: count(a, MEMBER, REMINDER) >= HANDOVERS and count(a, COORDINATOR, PUSH), WITHIN)
    await settled(two)
    assert all(i.process is not None and i.process.returncode is None for i in two.instances), logs(two)

    to_member = [c["params"]["text"] for c in calls_to(api, MEMBER, "sendMessage")]
    requests = [t.split("\n")[0] for t in to_member if REQUEST in t and REMINDER not in t]
    cases = sorted(re.findall(r"H-[0-9A-Z]+", " ".join(requests)))
    assert len(cases) == HANDOVERS and len(set(cases)) == HANDOVERS
    reminded = sorted(re.findall(r"H-[0-9A-Z]+", " ".join(t.split("\n")[0] for t in to_member if REMINDER in t)))
    assert reminded == cases, "each reminder once"
    assert stored(two.database, "SELECT count(*) FROM timers WHERE kind = 'remind' AND fired_at IS NULL") == [(0,)]
    pushes = [c for c in calls_to(api, COORDINATOR, "sendMessage") if PUSH in c["params"]["text"]]
    assert len(pushes) == 1, "the Monday push once"
    assert len(calls_to(api, COORDINATOR, "sendPhoto")) == 1  # its chart once
    (next_push,) = stored(two.database, "SELECT value FROM settings WHERE key = 'summary.next_push'")
    assert next_push[0] > datetime.now(UTC).isoformat()  # the next one is next week's
    for instance in two.instances:
        assert await instance.stop() == 0, logs(two)


def change(database: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(database) as pg:
        pg.execute(sql)


def logs(two: Two) -> str:
    return "\n".join(i.logs()[-1500:] for i in two.instances)
