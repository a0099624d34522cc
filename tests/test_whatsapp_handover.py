"""End to end across two channels: the real `wijkbrug run` process against the fake Bot API and the fake
Graph API. A Turkish volunteer on WhatsApp logs a question and asks for a warm handover; the wijkteam
member on Telegram, in Dutch, accepts; the volunteer hears it on WhatsApp. The bot is killed with
SIGKILL in the middle and nothing is lost. Every person, number and text is invented."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import directory_file
from tests.fakebotapi import FakeBotApi
from tests.fakegraphapi import FakeGraphApi, WaUser
from tests.test_e2e_telegram import TOKEN, Wijkbrug, reply_containing
from tests.test_e2e_telegram import press as press_telegram
from tests.test_run_channels import hears, press

EMRE = 6001
VERIFY = "invented-verify-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[tuple[Wijkbrug, FakeGraphApi]]:
    port = free_port()
    async with FakeBotApi(token=TOKEN) as api, FakeGraphApi() as graph:
        graph.webhook_url = f"http://127.0.0.1:{port}/whatsapp"
        bot = Wijkbrug(api, tmp_path)
        bot.env.update({
            "WIJKBRUG_WHATSAPP_TOKEN": graph.token, "WIJKBRUG_WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
            "WIJKBRUG_WHATSAPP_APP_SECRET": graph.app_secret, "WIJKBRUG_WHATSAPP_VERIFY_TOKEN": VERIFY,
            "WIJKBRUG_WHATSAPP_API_URL": graph.api_url, "WIJKBRUG_WHATSAPP_LISTEN": f"127.0.0.1:{port}",
            "WIJKBRUG_WHATSAPP_NUMBER": graph.metadata["display_phone_number"],
        })
        await bot.operator("directory", "import", str(directory_file.sample_path()))
        yield bot, graph
        if bot.process is not None and bot.process.returncode is None:
            await bot.kill()


LETTER = b"%PDF-1.4 an invented letter from school"


async def ask_for_a_handover(graph: FakeGraphApi, ayse: WaUser, letter: bytes) -> None:
    """Ayşe, registered on WhatsApp, logs a question in Turkish and sends Emre a warm handover request with
    the parent's letter (a PDF sent on WhatsApp)."""
    await graph.deliver_message(ayse, "/language tr")
    await hears(graph, ayse, "Türkçe")
    await graph.deliver_message(ayse, "/new")
    await hears(graph, ayse, "güvenlik sorusu")
    await press(graph, ayse, "Hayır")
    await hears(graph, ayse, "Soru hangi konuyla ilgili?")
    await press(graph, ayse, "Okul ve eğitim")
    await hears(graph, ayse, "Çocuk kaç yaşında?")
    await press(graph, ayse, "4–11 yaş")
    await hears(graph, ayse, "hangi dili konuşuyor")
    await press(graph, ayse, "Türkçe")
    await hears(graph, ayse, "posta kodu")
    await graph.deliver_message(ayse, "3561 AB")
    await hears(graph, ayse, "kendi sözlerinizle")
    await graph.deliver_message(ayse, "Annenin okuldan bir mektubu var.")
    await hears(graph, ayse, "Lütfen soruyu kontrol edin")
    await press(graph, ayse, "Kaydet")
    await hears(graph, ayse, "tanıştırmak ister misiniz")
    await press(graph, ayse, "🤝 Emre Kocabaş")
    await hears(graph, ayse, "nasıl görüşecek")
    await press(graph, ayse, "Gönüllü, anne veya babayla birlikte arar")
    await hears(graph, ayse, "kabul edip etmediğini sorun")
    await press(graph, ayse, "Anne veya baba kabul ediyor")
    await hears(graph, ayse, "babanın adı nedir")
    await graph.deliver_message(ayse, "Fatma")
    await hears(graph, ayse, "telefon numarası")
    await graph.deliver_message(ayse, "06 12345678")
    await hears(graph, ayse, "ne zaman arayabilir")
    await graph.deliver_message(ayse, "öğleden sonra")
    await hears(graph, ayse, "eklemek ister misiniz")
    await graph.deliver_message(ayse, document=letter, filename="brief.pdf")
    await hears(graph, ayse, "Lütfen talebi kontrol edin")
    await press(graph, ayse, "Talebi gönder")
    await hears(graph, ayse, "Gönderildi")


async def test_a_turkish_volunteer_on_whatsapp_and_a_dutch_member_on_telegram(both) -> None:  # noqa: ANN001
    bot, graph = both
    api = bot.api
    volunteer = json.loads(await bot.operator(
        "invite", "--role", "volunteer", "--org", "lantaarn", "--channel", "whatsapp", "--json"))
    member = json.loads(await bot.operator("invite", "--role", "member", "--contact", "c-overvecht-2", "--json"))
    assert volunteer["link"] == f"https://wa.me/31600000099?text=START%20{volunteer['code']}"
    await bot.start()
    ayse = graph.add_user("Ayşe")  # a username user: no phone number
    for _ in range(100):  # until the webhook listens
        if (await graph.deliver_message(ayse, f"START {volunteer['code']}")).answers == [200]:
            break
        await asyncio.sleep(0.1)
    await hears(graph, ayse, "Ayşe")
    assert await graph.verify_webhook(VERIFY) == (200, "1158201444")
    api.user_sends(EMRE, f"/start {member['code']}", first_name="Emre", language_code="nl")
    await reply_containing(api, EMRE, "Emre")

    await ask_for_a_handover(graph, ayse, LETTER)
    await reply_containing(api, EMRE, "Verzoek om een warme overdracht")

    await bot.settled()
    await bot.kill()  # a hard stop between the request and its answer
    await bot.start()
    press_telegram(api, EMRE, "Aannemen")
    await hears(graph, ayse, "talebinizi kabul etti")
    # The letter Ayşe sent on WhatsApp reaches Emre on Telegram: fetched from Meta with the token, uploaded.
    await api.wait_for(lambda a: [c for c in a.calls if c["method"] == "sendDocument"], timeout=20)
    assert graph.media_downloads == 1
    assert graph.refused() == []  # every payload the bot sent passed the fake's checks
    await bot.settled()
    assert await bot.stop() == 0
    logs = bot.logs()
    assert "Fatma" not in logs and "Ayşe" not in logs and ayse.bsuid not in logs
