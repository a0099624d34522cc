"""Outside the 24-hour window, end to end: the real `wijkbrug run` process (WhatsApp only) and the fake Graph
API (tests/fakegraphapi.py). When the member accepts, the volunteer last wrote more than a day ago: she gets
the one approved template in her language first, the real message is held until she replies, then released
in order. A SIGKILL between the template and her reply loses nothing and sends the template only once.

A day passes honestly on both sides, with no test hook in the bot: the bot is stopped, the volunteer's
stored last-inbound time (db/whatsapp.py's column in `addresses`) is moved back 25 hours, as if she had
written then, and the fake's clock is moved on 25 hours, so Meta's record of her window is closed too.
Every person, id and number here is invented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.whatsapp_render import TEMPLATE_NAME
from tests.test_run_channels import WhatsAppOnly, ask_for_a_handover, change, hears, press, stored, utc

DAY_AND_AN_HOUR = timedelta(hours=25)


def kinds(bot: WhatsAppOnly, user, since: int) -> list[str]:  # noqa: ANN001
    return [m["type"] for m in bot.graph.sent_to(user)[since:]]


async def test_the_template_first_then_the_held_message_across_a_kill(whatsapp_only) -> None:  # noqa: ANN001
    bot, moved = whatsapp_only
    graph = bot.graph
    graph.register_template(TEMPLATE_NAME, "en", 0)  # approved by Meta in English, the volunteer's language
    volunteer = await bot.invite("--role", "volunteer", "--org", "lantaarn")
    member = await bot.invite("--role", "member", "--contact", "c-overvecht-2")
    await bot.start()
    ayse = await bot.join("Ayşe", volunteer)
    emre = await bot.join("Emre", member)
    await ask_for_a_handover(graph, ayse)
    await hears(graph, emre, "Verzoek om een warme overdracht")
    await bot.settled()
    assert await bot.stop() == 0, bot.logs()[-3000:]

    # A day and an hour pass without a word from Ayşe (Emre writes when he accepts: his window opens again).
    day_ago = utc(datetime.now(UTC) - DAY_AND_AN_HOUR)
    change(bot.database, "UPDATE addresses SET last_inbound_at = ? WHERE channel = 'whatsapp' AND address = ?",
           day_ago, ayse.bsuid)
    moved[0] = DAY_AND_AN_HOUR.total_seconds()
    assert not graph.in_window(ayse) and not graph.in_window(emre)
    start = len(graph.sent_to(ayse))

    await bot.start()
    await press(graph, emre, "Aannemen")
    await graph.wait_for(lambda g: kinds(bot, ayse, start) == ["template"], timeout=20)
    sent = graph.sent_to(ayse)[start]
    assert sent["payload"]["template"] == {"name": TEMPLATE_NAME, "language": {"code": "en"}}

    # Killed after the template went and was recorded, with the message held, before Ayşe replies.
    def held() -> bool:
        recorded = stored(
            bot.database,
            "SELECT template_sent_at IS NOT NULL FROM addresses WHERE channel = 'whatsapp' AND address = ?",
            ayse.bsuid,
        )
        waiting = stored(
            bot.database,
            "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND address = ? AND next_attempt_at > ?",
            ayse.bsuid, utc(datetime.now(UTC)),
        )
        return recorded == [(1,)] and waiting[0][0] >= 1

    await graph.wait_for(lambda _: held(), timeout=20)
    await bot.kill()
    await bot.start()
    before = len(graph.sent_to(emre))
    await bot.writes(emre, "/help")  # the bot is back and has delivered a round
    await graph.wait_for(lambda g: len(g.sent_to(emre)) > before, timeout=20)
    await bot.settled()
    assert kinds(bot, ayse, start) == ["template"]  # once, and nothing free-form into the closed window
    assert graph.refused() == []  # nothing was even tried: Meta refused nothing

    # She replies to the template: what was held comes first, in order, then the answer to her reply.
    await bot.writes(ayse, "ok")
    await hears(graph, ayse, "accepted your request")
    await bot.settled()
    after = graph.texts(ayse)[start:]
    assert after[0] == f"template:{TEMPLATE_NAME}" and after.count(f"template:{TEMPLATE_NAME}") == 1
    assert "accepted your request" in after[1], after
    assert graph.refused() == []
    assert stored(bot.database, "SELECT status FROM cases") == [("accepted",)]
    assert await bot.stop() == 0, bot.logs()[-3000:]
    logs = bot.logs()
    assert "Fatma" not in logs and "Ayşe" not in logs and ayse.bsuid not in logs
