"""The web channel's sender: what the bot says to a person on the web page lands in their feed."""

from __future__ import annotations

from bot.feed_send import FeedSender
from db import users, web_feed
from db.connection import Connection, transaction
from flows.model import Role
from tests.conftest import FakeClock


async def test_a_prompt_its_choice_and_a_notice_reach_the_feed(conn: Connection, clock: FakeClock) -> None:
    async with transaction(conn):
        member = await users.create(
            conn, channel="web", chat_id="placeholder", role=Role.MEMBER, org_id=None, language="nl",
            now=clock(), display_name="Invented Member",
        )
    sender = FeedSender(conn, clock)
    address = str(member.id)
    buttons = [[{"id": "c:1:accept", "label": "Accepteren"}]]
    await sender.send(address, "say", {"text": "Nieuw verzoek (verzonnen)", "buttons": buttons})
    prompt = (await web_feed.recent(conn, member.id))[0]
    await sender.send(address, "chosen", {"ref": str(prompt.id), "text": "Nieuw verzoek\n\n✓ Accepteren"})
    await sender.send(address, "answer", {"press": "p1", "notice": "Al beantwoord"})
    await sender.send(address, "answer", {"press": "p2"})  # no notice: nothing to show
    await sender.send(address, "menu", {"commands": []})
    entries = await web_feed.recent(conn, member.id)
    assert [(e.kind, e.body.get("text")) for e in entries] == [
        ("say", "Nieuw verzoek (verzonnen)"), ("notice", "Al beantwoord")
    ]
    assert entries[0].body["buttons"] == buttons and entries[0].replaced == "Nieuw verzoek\n\n✓ Accepteren"
