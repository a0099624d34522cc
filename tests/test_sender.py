"""The outbox's sender against the fake Bot API: a stored call goes out as JSON (bot/botapi.py),
and Telegram's answers map to deliver, wait, retry or drop."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from bot import delivery
from bot.botapi import BotApi
from bot.telegram import TelegramSender
from tests.conftest import FAKE_TOKEN as TOKEN
from tests.fakebotapi import FakeBotApi

CHAT = 1001


@pytest.fixture
async def sender(api: FakeBotApi) -> AsyncIterator[TelegramSender]:
    client = BotApi(TOKEN, api.api_url)
    try:
        yield TelegramSender(client)
    finally:
        await client.close()


async def test_a_stored_call_is_sent_with_its_keyboard_and_answers_with_the_result(
    api: FakeBotApi, sender: TelegramSender
) -> None:
    api.user_sends(CHAT, "hello")  # the chat exists
    keyboard = {"inline_keyboard": [[{"text": "Ja – نعم", "callback_data": "yes"}]]}
    result = await sender.call("sendMessage", {"chat_id": str(CHAT), "text": "Vraag – سؤال", "reply_markup": keyboard})
    assert result["text"] == "Vraag – سؤال" and isinstance(result["message_id"], int)
    message_id, rows = api.last_keyboard(CHAT) or (0, [])
    assert message_id == result["message_id"] and rows[0][0]["callback_data"] == "yes"


async def test_a_file_the_bot_made_goes_as_multipart(api: FakeBotApi, sender: TelegramSender) -> None:
    api.user_sends(CHAT, "hello")
    upload = {"field": "document", "filename": "week.csv", "data": base64.b64encode(b"code,theme\n").decode("ascii")}
    result = await sender.call("sendDocument", {"chat_id": str(CHAT), "caption": "CSV", "_upload": upload})
    assert result["document"]["file_name"] == "week.csv"


@pytest.mark.parametrize(
    ("status", "raised", "kind"),
    [
        (429, delivery.RetryAfter, None),
        (403, delivery.Permanent, "Forbidden"),
        (400, delivery.Permanent, "BadRequest"),
        (500, delivery.Transient, "NetworkError"),
        (502, delivery.Transient, "NetworkError"),
    ],
)
async def test_telegram_s_refusals_map_to_wait_drop_or_retry(
    api: FakeBotApi, sender: TelegramSender, status: int, raised: type[delivery.DeliveryError], kind: str | None
) -> None:
    api.user_sends(CHAT, "hello")
    api.fail_next("sendMessage", status=status, retry_after=7 if status == 429 else None)
    with pytest.raises(raised) as caught:
        await sender.call("sendMessage", {"chat_id": str(CHAT), "text": "x"})
    if status == 429:
        assert caught.value.seconds == 7.0  # type: ignore[attr-defined]
    else:
        assert caught.value.args == (kind,)
    assert (await sender.call("sendMessage", {"chat_id": str(CHAT), "text": "x"}))["text"] == "x"  # the next one goes


async def test_an_unreachable_server_is_a_transient_failure(api: FakeBotApi, sender: TelegramSender) -> None:
    await api.stop()
    with pytest.raises(delivery.Transient):
        await sender.call("sendMessage", {"chat_id": str(CHAT), "text": "x"})


async def test_texts_go_without_link_previews(api: FakeBotApi, sender: TelegramSender) -> None:
    """A relayed note may hold a link (invented here): Telegram must not fetch it for a preview."""
    api.user_sends(CHAT, "hello")
    note = "💬 Sara about H-100018:\n\n“See https://school.example/letter”"
    sent = await sender.call("sendMessage", {"chat_id": str(CHAT), "text": note})
    await sender.call(
        "editMessageText", {"chat_id": str(CHAT), "message_id": sent["message_id"], "text": note + "\n\n✓ Answer"}
    )
    calls = [c for c in api.sent(CHAT) if c["method"] in ("sendMessage", "editMessageText")]
    assert [c["method"] for c in calls] == ["sendMessage", "editMessageText"]
    assert all(c["params"]["link_preview_options"] == {"is_disabled": True} for c in calls)
