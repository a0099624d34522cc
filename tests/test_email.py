"""E-mail notices through a real SMTP server on 127.0.0.1 (tests/smtp_server.py): a handover request
to an e-mail member, its link, right-to-left mail, a stable Message-ID, retries and refusals, a
reminder, no flood. The tests read the link out of the received mail. All people are invented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.delivery import DeliveryWorker
from bot.email_people import notice_body
from bot.email_send import email_worker
from bot.email_smtp import Smtp
from bot.i18n import Catalogs
from bot.runner import Runner
from db import conversations, login_links, outbox, users, web_feed, web_sessions
from db.connection import Connection, Patience, connect, transaction
from db.login_links import Opened
from db import vault as sealing
from db.vault import Vault, attach
from flows import codec
from flows.model import Role
from tests import driver, updates
from tests.conftest import FakeClock
from tests.smtp_server import Received, SmtpServer, smtp_server  # noqa: F401 - smtp_server is a fixture
from tests.test_member_leaves import STORIES
from tests.test_trust import play, story_db  # noqa: F401 - story_db is a fixture

EMRE_MAIL = "emre.kocabas@buurtteam.example"  # his (invented) address in the sample directory
SENT_AT = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)  # a Monday
REMINDER_DUE = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # 16 working hours on, and a little more
ESCALATION_DUE = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # 32 working hours on
PETRA_MAIL = "coordinator.overvecht@example.invalid"
PUBLIC = "https://wijkbrug.example.org"


def smtp_of(server: SmtpServer) -> Smtp:
    return Smtp(host=server.host, port=server.port, sender="Wijkbrug <wijkbrug@example.org>", public_url=PUBLIC)


async def drain(worker: DeliveryWorker) -> None:
    while await worker.drain_once():
        pass


def token_of(mail: Received) -> str:
    link = mail.link()
    assert link.startswith(f"{PUBLIC}/login/")
    return link.rsplit("/", 1)[1]


async def request_to_email_member(database: Path, catalogs: Catalogs, tmp_path: Path) -> tuple[Vault, int, str]:
    """The story of a request, up to Sara's "Send", with Emre made an e-mail person who reads
    Dutch; then Sara sends it. Returns the vault, Emre's account id and the case's code."""
    story = (STORIES / "member_erased_with_waiting_request_en.txt").read_text("utf-8")
    path = tmp_path / "request.txt"
    path.write_text(story[: story.index("Sara > [Send the request]")], "utf-8")
    vault = await play(path, database, catalogs)
    conn = await connect(database)
    attach(conn, vault)
    try:
        emre = await users.by_address(conn, "telegram", "7001")
        assert emre is not None
        async with transaction(conn):
            await users.add_address(conn, emre.id, "email", EMRE_MAIL, SENT_AT, preferred=True)
            await users.add_address(conn, emre.id, "web", str(emre.id), SENT_AT)
            await users.set_language(conn, emre.id, "nl")
        runner = Runner(conn, catalogs, lambda: SENT_AT, "telegram", vault=vault)
        sara = await users.by_address(conn, "telegram", "7000")
        assert sara is not None
        state = await conversations.load(conn, sara.id)
        send = codec.encode_step(state.token, "send")  # the story's last prompt: the review
        await driver.feed(runner, updates.press(7000, 1, send, language_code="en") | {"update_id": 90_000_001})
        async with conn.execute("SELECT id FROM cases") as cursor:
            (case,) = [str(row[0]) for row in await cursor.fetchall()]
        return vault, emre.id, case
    finally:
        await conn.close()


async def workers(database: Path, vault: Vault, catalogs: Catalogs, server: SmtpServer, clock) -> DeliveryWorker:
    conns = []
    for _ in range(2):
        conn = await connect(database)
        attach(conn, vault)
        conns.append(conn)
    return email_worker(conns[0], conns[1], catalogs, clock, smtp_of(server), timedelta(minutes=15), Patience())


async def test_a_handover_request_is_one_dutch_mail_without_personal_data_and_its_link_opens(
    story_db, catalogs, tmp_path, smtp_server  # noqa: F811 - fixtures
) -> None:
    vault, emre, case = await request_to_email_member(story_db, catalogs, tmp_path)
    worker = await workers(story_db, vault, catalogs, smtp_server, lambda: SENT_AT)
    try:
        await drain(worker)
        assert len(smtp_server.received) == 1
        mail = smtp_server.received[0]
        assert mail.recipients == [EMRE_MAIL]
        subject = str(mail.message["Subject"])
        assert subject == f"Verzoek om een warme overdracht {case} van Demo-vereniging Het Kompas (invented)"
        assert mail.message["Auto-Submitted"] == "auto-generated"
        assert str(mail.message["Message-ID"]).endswith("@wijkbrug.example.org>")
        everything = mail.message.as_string() + mail.text + mail.html
        for private in ("mother", "reading", "Fatma", "12345678", "Sara", "Emre", "Kocaba", "Turks", "Turkish"):
            assert private not in mail.text and private not in mail.html and private not in subject, private
        assert "Wijkbrug openen" in mail.html and 'lang="nl"' in mail.html and 'dir="ltr"' in mail.html
        assert everything.count("/login/") >= 2  # in both parts
        # The request itself waits on the page: in Emre's feed, with its buttons.
        conn = worker.conn
        feed = await web_feed.recent(conn, emre)
        assert len(feed) == 1 and case in feed[0].body["text"] and feed[0].body["buttons"]
        async with transaction(conn):
            assert await login_links.use(conn, token_of(mail), SENT_AT) == Opened(emre)
    finally:
        await worker.conn.close()
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_the_reminder_reaches_the_email_member(story_db, catalogs, tmp_path, smtp_server) -> None:  # noqa: F811
    vault, emre, case = await request_to_email_member(story_db, catalogs, tmp_path)
    now = [SENT_AT]
    worker = await workers(story_db, vault, catalogs, smtp_server, lambda: now[0])
    conn = await connect(story_db)
    attach(conn, vault)
    try:
        await drain(worker)
        now[0] = REMINDER_DUE
        runner = Runner(conn, catalogs, lambda: now[0], "telegram", vault=vault)
        await runner.fire_timers()
        await drain(worker)
        assert len(smtp_server.received) == 2
        reminder = smtp_server.received[1]
        assert str(reminder.message["Subject"]) == (
            f"Herinnering: Demo-vereniging Het Kompas (invented) wacht op je antwoord op {case}"
        )
        assert reminder.message["Message-ID"] != smtp_server.received[0].message["Message-ID"]
        assert "mother" not in reminder.text
        assert len(await web_feed.recent(conn, emre)) == 2
        # No answer: the escalation reaches the team's coordinator, an e-mail person too.
        petra = await users.by_address(conn, "telegram", "7002")
        assert petra is not None
        async with transaction(conn):
            await users.add_address(conn, petra.id, "email", PETRA_MAIL, now[0], preferred=True)
            await users.add_address(conn, petra.id, "web", str(petra.id), now[0])
        now[0] = ESCALATION_DUE
        await runner.fire_timers()
        await drain(worker)
        assert len(smtp_server.received) == 3
        escalation = smtp_server.received[2]
        assert escalation.recipients == [PETRA_MAIL]
        assert str(escalation.message["Subject"]) == f"Request {case} needs follow-up"  # Petra reads English
        assert "Emre" not in escalation.text and "Sara" not in escalation.text
    finally:
        for c in (conn, worker.conn, worker.sender.conn):  # type: ignore[attr-defined]
            await c.close()


# ---- the sender on its own: a person made here, messages put in the outbox ----------------------


async def _person(conn: Connection, clock: FakeClock, language: str, address: str = "a.member@example.invalid") -> int:
    async with transaction(conn):
        account = await users.create(
            conn, channel="email", chat_id=address, role=Role.MEMBER, org_id=None, language=language,
            display_name="Invented Member", now=clock(),
        )
        await users.add_address(conn, account.id, "web", str(account.id), clock())
    return account.id


async def _say(conn: Connection, clock: FakeClock, user_id: int, code: str, kind: str = "message",
               address: str = "a.member@example.invalid") -> None:
    body = {"text": f"Invented message about {code}", "notice": {"kind": kind, "code": code, "org": "De Lantaarn"}}
    async with transaction(conn):
        await outbox.enqueue(conn, "email", address, "say", body, clock(), user_id)


async def _worker(db_path: Path, conn: Connection, catalogs: Catalogs, server: SmtpServer, clock) -> DeliveryWorker:
    sender_conn = await connect(db_path)
    attach(sender_conn, sealing.of(conn))
    return email_worker(conn, sender_conn, catalogs, clock, smtp_of(server), timedelta(minutes=15), Patience())


async def test_arabic_mail_is_right_to_left(conn, db_path, clock, catalogs, smtp_server) -> None:  # noqa: F811
    person = await _person(conn, clock, "ar")
    worker = await _worker(db_path, conn, catalogs, smtp_server, clock)
    try:
        await _say(conn, clock, person, "H-200001", "handover")
        await drain(worker)
        (mail,) = smtp_server.received
        assert '<html lang="ar" dir="rtl">' in mail.html and 'dir="ltr"' in mail.html  # the link stays LTR
        assert mail.message["Content-Language"] == "ar"
        assert "H-200001" in str(mail.message["Subject"]) and "Wijkbrug" in mail.text
    finally:
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_a_burst_about_one_case_is_one_mail_until_the_page_is_opened(
    conn, db_path, clock, catalogs, smtp_server  # noqa: F811
) -> None:
    person = await _person(conn, clock, "nl")
    worker = await _worker(db_path, conn, catalogs, smtp_server, clock)
    try:
        for _ in range(3):
            await _say(conn, clock, person, "H-300001")
        await _say(conn, clock, person, "H-300002")  # another case: a mail of its own
        await drain(worker)
        assert sorted(str(m.message["Subject"]).split()[3] for m in smtp_server.received) == ["H-300001", "H-300002"]
        assert len(await web_feed.recent(conn, person)) == 4  # every message is on the page
        clock.advance(minutes=5)
        await _say(conn, clock, person, "H-300001")  # unread still: no new mail
        await drain(worker)
        assert len(smtp_server.received) == 2
        first = next(m for m in smtp_server.received if "H-300001" in str(m.message["Subject"]))
        async with transaction(conn):
            assert await login_links.use(conn, token_of(first), clock()) == Opened(person)
        clock.advance(minutes=1)
        await _say(conn, clock, person, "H-300001")  # read since: news is mailed again
        await drain(worker)
        assert len(smtp_server.received) == 3
        clock.advance(minutes=20)
        await _say(conn, clock, person, "H-300001")  # after the quiet time: mailed
        await drain(worker)
        assert len(smtp_server.received) == 4
    finally:
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_a_page_viewed_in_a_session_counts_as_read_for_the_quiet_rule(
    conn, db_path, clock, catalogs, smtp_server  # noqa: F811
) -> None:
    """A person logged in already (no link used since the mail) who views their page has read it:
    the next news about the case is mailed; a session that was not used holds it back."""
    person = await _person(conn, clock, "nl")
    async with transaction(conn):
        token = await web_sessions.create(conn, person, clock())  # logged in before the first mail
    clock.advance(minutes=1)
    worker = await _worker(db_path, conn, catalogs, smtp_server, clock)
    try:
        await _say(conn, clock, person, "H-310001")
        await drain(worker)
        clock.advance(minutes=2)
        await _say(conn, clock, person, "H-310001")  # the session is not used since: held back
        await drain(worker)
        assert len(smtp_server.received) == 1
        clock.advance(minutes=1)
        async with transaction(conn):
            await web_sessions.seen(conn, token, clock())  # what bot/web/site.logged_in records on a view
        clock.advance(minutes=1)
        await _say(conn, clock, person, "H-310001")  # read since: mailed
        await drain(worker)
        assert len(smtp_server.received) == 2
    finally:
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_the_same_row_sent_twice_has_the_same_message_id(
    conn, db_path, clock, catalogs, smtp_server  # noqa: F811
) -> None:
    person = await _person(conn, clock, "nl")
    worker = await _worker(db_path, conn, catalogs, smtp_server, clock)
    try:
        body = notice_body("handover", "H-400001", "De Lantaarn")
        # A crash after the server took the mail, before the row was deleted: the row is sent again.
        await worker.sender.send("a.member@example.invalid", "notice", body)
        await worker.sender.send("a.member@example.invalid", "notice", body)
        await worker.sender.send("a.member@example.invalid", "notice", notice_body("handover", "H-400001", ""))
        ids = [str(m.message["Message-ID"]) for m in smtp_server.received]
        assert ids[0] == ids[1] != ids[2]
        assert person
    finally:
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_a_4xx_is_tried_again_and_a_5xx_marks_the_address_unreachable(
    conn, db_path, clock, catalogs, smtp_server  # noqa: F811
) -> None:
    later = await _person(conn, clock, "nl", "busy@example.invalid")
    gone = await _person(conn, clock, "nl", "gone@example.invalid")
    smtp_server.refuse("busy@example.invalid", "451 4.3.0 try again later")
    smtp_server.refuse("gone@example.invalid", "550 5.1.1 no such mailbox")
    worker = await _worker(db_path, conn, catalogs, smtp_server, clock)
    try:
        await _say(conn, clock, later, "H-500001", address="busy@example.invalid")
        await _say(conn, clock, gone, "H-500002", address="gone@example.invalid")
        await drain(worker)
        assert smtp_server.received == []
        waiting = await outbox.waiting(conn, "email")
        assert [(w.address, w.kind, w.attempts) for w in waiting] == [("busy@example.invalid", "notice", 1)]
        (address,) = [a for a in await users.addresses(conn, gone) if a.channel == "email"]
        assert address.unreachable_at is not None
        assert [a.id for a in await users.newly_unreachable(conn)] == [gone]  # coordinators are told
        del smtp_server.handler.refuse["busy@example.invalid"]
        clock.advance(minutes=1)
        await drain(worker)
        assert [m.recipients for m in smtp_server.received] == [["busy@example.invalid"]]
        assert await outbox.waiting(conn, "email") == []
    finally:
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_a_server_that_is_down_is_tried_again(conn, db_path, clock, catalogs) -> None:
    from tests.smtp_server import free_port

    person = await _person(conn, clock, "nl")
    smtp = Smtp(host="127.0.0.1", port=free_port(), sender="wijkbrug@example.org", public_url=PUBLIC)
    sender_conn = await connect(db_path)
    attach(sender_conn, sealing.of(conn))
    worker = email_worker(conn, sender_conn, catalogs, clock, smtp, timedelta(minutes=15), Patience())
    try:
        await _say(conn, clock, person, "H-600001")
        await drain(worker)
        assert [(w.kind, w.attempts) for w in await outbox.waiting(conn, "email")] == [("notice", 1)]
    finally:
        await sender_conn.close()


async def test_an_alert_about_a_child_is_always_mailed(
    conn, db_path, clock, catalogs, smtp_server  # noqa: F811
) -> None:
    person = await _person(conn, clock, "nl")
    worker = await _worker(db_path, conn, catalogs, smtp_server, clock)
    try:
        await _say(conn, clock, person, "", "alert")
        await drain(worker)
        clock.advance(minutes=2)
        await _say(conn, clock, person, "", "alert")  # another volunteer, unread: mailed all the same
        await drain(worker)
        subjects = [str(m.message["Subject"]) for m in smtp_server.received]
        assert subjects == ["Dringend: een vrijwilliger van De Lantaarn meldt dat een kind misschien in gevaar is"] * 2
    finally:
        await worker.sender.conn.close()  # type: ignore[attr-defined]


async def test_an_e_mail_address_refused_for_good_is_told_as_such_not_as_a_blocked_bot(
    tmp_path, catalogs: Catalogs  # noqa: ANN001
) -> None:
    """The coordinators' message says what happened on the unreachable address's channel: a mail
    server that refuses the address (not "may have blocked the bot", which is a chat's 403)."""
    from flows import access
    from flows.model import User

    database = tmp_path / "refused.sqlite3"
    vault, emre, _ = await request_to_email_member(database, catalogs, tmp_path)
    conn = await connect(database)
    attach(conn, vault)
    try:
        async with transaction(conn):
            await users.mark_unreachable(conn, "email", EMRE_MAIL, SENT_AT)
        runner = Runner(conn, catalogs, lambda: SENT_AT + timedelta(minutes=1), "telegram", vault=vault)
        await runner.fire_timers()  # the timers' round tells the coordinators
        petra = await users.by_address(conn, "telegram", "7002")
        assert petra is not None and petra.role is Role.COORDINATOR
        texts = [w.body.get("text", "") for w in await outbox.waiting_at(conn, "telegram", "7002", "say")]
        told = [text for text in texts if "can no longer be reached" in text]
        assert len(told) == 1 and "mail server refuses e-mail" in told[0] and "blocked" not in told[0], texts
        assert await users.newly_unreachable(conn) == []  # told once
    finally:
        await conn.close()
    person = User(id=1, role=Role.MEMBER, org_id=None, language="nl", name="Emre")
    by_chat, by_mail = (access.unreachable(person, "bt-overvecht", by_email) for by_email in (False, True))
    assert by_chat is not None and by_mail is not None
    assert "geblokkeerd" in catalogs.render(by_chat.parts[0], "nl")
    assert "geblokkeerd" not in (mail := catalogs.render(by_mail.parts[0], "nl")) and "e-mail" in mail


async def test_acting_on_the_page_keeps_a_refused_e_mail_address_marked_a_delivery_clears_it(
    tmp_path, catalogs: Catalogs, smtp_server  # noqa: ANN001, F811
) -> None:
    """The page is another channel: what the person does there says nothing of the mail server that
    refused their address. Only a mail the server takes again clears the mark."""
    import json

    from bot.email_send import EmailSender
    from bot.updates import Inbound, text_input
    from db import inbox
    from db.inbox import Incoming

    database = tmp_path / "page.sqlite3"
    vault, emre, _ = await request_to_email_member(database, catalogs, tmp_path)
    conn = await connect(database)
    attach(conn, vault)
    later = SENT_AT + timedelta(minutes=5)
    try:
        async with transaction(conn):
            await users.mark_unreachable(conn, "email", EMRE_MAIL, SENT_AT)
        inbound = Inbound(chat_id=str(emre), first_name="Emre", language_code="nl", event=text_input("/help"))
        payload = json.dumps({"inbound": inbound.model_dump(mode="json")}, ensure_ascii=False)
        async with transaction(conn):
            await inbox.receive(conn, "web", [Incoming(update_id=1, payload=payload)], later)
        await Runner(conn, catalogs, lambda: later, "web", vault=vault).process_pending()
        assert await outbox.waiting_at(conn, "web", str(emre), "say")  # handled: the page answered
        (address,) = [a for a in await users.addresses(conn, emre) if a.channel == "email"]
        assert address.unreachable_at is not None  # still marked
        sender = EmailSender(conn, catalogs, lambda: later, smtp_of(smtp_server))
        await sender.send(EMRE_MAIL, "notice", notice_body("link"))
        assert len(smtp_server.received) == 1
        (address,) = [a for a in await users.addresses(conn, emre) if a.channel == "email"]
        assert address.unreachable_at is None  # the server took a mail: reachable again
    finally:
        await conn.close()
