"""The fake Bot API server answers python-telegram-bot the way Telegram does.

python-telegram-bot (with its own httpx networking) is the reference client here: the bot itself
no longer uses it (bot/botapi.py), and tests/test_botapi.py holds the bot's own client to reading
the same answers the same way."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.conftest import FAKE_TOKEN as TOKEN
from tests.fakebotapi import FakeBotApi

ALICE = 1001
NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC, the fake server's injected clock
HANG_GUARD = 20  # seconds; only stops a broken test from hanging, asserts nothing about speed


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake server with a fixed clock: the dates it stamps are exactly NOW."""
    async with FakeBotApi(token=TOKEN, clock=lambda: NOW) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.api_url, base_file_url=api.file_url) as client:
        yield client


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs])


async def test_urls_and_get_me(api: FakeBotApi, bot: Bot) -> None:
    assert api.port > 0
    assert api.api_url == f"http://127.0.0.1:{api.port}/bot"
    assert api.file_url == f"http://127.0.0.1:{api.port}/file/bot"
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username, me.first_name) == (123, True, "wijkbrug_test_bot", "Wijkbrug Test")
    assert me.can_join_groups is True and me.supports_inline_queries is False


async def test_updates_are_redelivered_until_a_higher_offset_confirms_them(api: FakeBotApi, bot: Bot) -> None:
    first = api.user_sends(ALICE, "/start hello", first_name="Alice")
    second = api.user_sends(ALICE, "hoi")
    assert second["update_id"] == first["update_id"] + 1

    batch = await bot.get_updates()
    assert [u.update_id for u in batch] == [first["update_id"], second["update_id"]]
    start = batch[0].message
    assert start is not None and start.text == "/start hello" and start.from_user is not None
    assert (start.chat.id, start.chat.type, start.from_user.id, start.from_user.language_code) == (
        ALICE, "private", ALICE, "nl")
    assert start.parse_entities(["bot_command"]) != {} and list(start.parse_entities().values()) == ["/start"]
    assert batch[1].message is not None and not batch[1].message.entities

    again = await bot.get_updates(offset=first["update_id"])  # not confirmed yet: delivered again
    assert [u.update_id for u in again] == [first["update_id"], second["update_id"]]
    assert (await bot.get_updates(offset=second["update_id"]))[0].update_id == second["update_id"]
    assert await bot.get_updates(offset=second["update_id"] + 1) == ()
    assert await bot.get_updates(offset=first["update_id"]) == ()  # forgotten for good
    assert api.handed_out == [first["update_id"], second["update_id"]] * 2 + [second["update_id"]]
    assert api.pending_updates == 0

    third = api.user_sends(ALICE, "nog een")
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [third["update_id"]]
    assert await bot.get_updates(offset=third["update_id"] + 1, allowed_updates=["callback_query"]) == ()


async def test_allowed_updates_filters_kinds(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "Kies", reply_markup=keyboard(("A", "1|a")))
    api.user_sends(ALICE, "tekst")
    press = api.user_presses(ALICE, sent.message_id, "1|a")
    batch = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in batch] == [press["update_id"]]
    assert len(await bot.get_updates(allowed_updates=[])) == 2  # [] means every kind again


async def until_a_poll_waits(api: FakeBotApi) -> None:
    await api.wait_for(lambda a: a.polls_waiting == 1, timeout=HANG_GUARD)


async def test_long_poll_times_out_empty_or_returns_early(api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=1))
    await until_a_poll_waits(api)  # it holds the connection open instead of answering at once
    assert await asyncio.wait_for(poll, HANG_GUARD) == ()
    assert api.polls == [{"timeout": 1, "ended": "timeout"}]  # its timeout ran out, nothing else ended it

    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await until_a_poll_waits(api)
    sent = api.user_sends(ALICE, "daar ben ik")
    batch = await asyncio.wait_for(poll, HANG_GUARD)
    assert [u.update_id for u in batch] == [sent["update_id"]]
    assert api.polls[-1] == {"timeout": 30, "ended": "update"}  # the update ended the wait, not the timeout
    assert api.polls_waiting == 0


async def test_send_message_returns_a_full_message(api: FakeBotApi, bot: Bot) -> None:
    api.user_sends(ALICE, "/start", first_name="Alice")  # user messages take message ids in the chat too
    msg = await bot.send_message(ALICE, "Welkom!", reply_markup=keyboard(("Ja", "1|ja"), ("Nee", "1|nee")))
    assert msg.message_id == 2 and msg.text == "Welkom!"
    assert msg.chat.id == ALICE and msg.chat.type == "private" and msg.chat.first_name == "Alice"
    assert msg.from_user is not None and msg.from_user.id == 123 and msg.from_user.is_bot
    assert msg.date.timestamp() == NOW  # the server's injected clock (see the api fixture above)
    assert msg.reply_markup == keyboard(("Ja", "1|ja"), ("Nee", "1|nee"))
    second = await bot.send_message(ALICE, "<b>Vet</b> &amp; zo", parse_mode="HTML")
    assert second.message_id == 3 and second.text == "Vet & zo" and second.reply_markup is None

    (call,) = [c for c in api.sent(ALICE) if c["params"].get("text") == "Welkom!"]
    assert call["method"] == "sendMessage" and call["params"]["chat_id"] == ALICE
    assert call["params"]["reply_markup"]["inline_keyboard"][1][0] == {"text": "Nee", "callback_data": "1|nee"}
    assert [m["text"] for m in api.messages(ALICE)] == ["Welkom!", "Vet & zo"]
    assert api.last_keyboard(ALICE) == (2, [[{"text": "Ja", "callback_data": "1|ja"}],
                                            [{"text": "Nee", "callback_data": "1|nee"}]])
    assert api.sent(999) == [] and api.last_keyboard(999) is None


async def test_callback_press_round_trip(api: FakeBotApi, bot: Bot) -> None:
    msg = await bot.send_message(ALICE, "Kies", reply_markup=keyboard(("A", "1|a"), ("B", "1|b")))
    update = api.user_presses(ALICE, msg.message_id, "1|b", first_name="Alice")
    (got,) = await bot.get_updates()
    query = got.callback_query
    assert query is not None and query.id == update["callback_query"]["id"] and query.data == "1|b"
    assert query.from_user.id == ALICE and query.message is not None
    assert query.message.message_id == msg.message_id and query.message.reply_markup == msg.reply_markup
    assert await bot.answer_callback_query(query.id, text="Ok") is True
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("nope")
    answers = [c for c in api.sent(ALICE) if c["method"] == "answerCallbackQuery"]
    assert [a.get("failed") for a in answers] == [None, 400]  # the unknown id belongs to no chat
    with pytest.raises(ValueError, match="no button"):
        api.user_presses(ALICE, msg.message_id, "1|c")


async def test_edit_message_text_and_not_modified(api: FakeBotApi, bot: Bot) -> None:
    msg = await bot.send_message(ALICE, "Vraag", reply_markup=keyboard(("A", "1|a")))
    api.clock = lambda: NOW + 60  # a minute later
    edited = await bot.edit_message_text("Antwoord: A", chat_id=ALICE, message_id=msg.message_id,
                                         reply_markup=keyboard(("Terug", "2|back")))
    assert isinstance(edited, type(msg)) and edited.text == "Antwoord: A"
    assert edited.date.timestamp() == NOW and edited.edit_date is not None and edited.edit_date.timestamp() == NOW + 60
    assert api.messages(ALICE)[0]["reply_markup"]["inline_keyboard"] == [[{"text": "Terug", "callback_data": "2|back"}]]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Antwoord: A", chat_id=ALICE, message_id=msg.message_id,
                                    reply_markup=keyboard(("Terug", "2|back")))
    assert api.sent(ALICE)[-1]["failed"] == 400
    done = await bot.edit_message_text("Klaar", chat_id=ALICE, message_id=msg.message_id)  # drops the keyboard
    assert done.reply_markup is None and api.last_keyboard(ALICE) is None
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=99)
    markup = await bot.edit_message_reply_markup(ALICE, msg.message_id, reply_markup=keyboard(("C", "3|c")))
    assert markup.reply_markup == keyboard(("C", "3|c")) and markup.text == "Klaar"


async def test_faults_surface_as_ptb_errors(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(ALICE, "te snel")
    waited = retry.value.retry_after  # an int in PTB 22.8 unless PTB_TIMEDELTA=1 makes it a timedelta
    assert (waited.total_seconds() if hasattr(waited, "total_seconds") else waited) == 3
    api.fail_next("sendMessage", status=403, times=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(ALICE, "geblokkeerd")
    api.fail_next("editMessageText", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=1)
    assert [c.get("failed") for c in api.sent(ALICE)] == [429, 403, 403, 500]
    assert api.messages(ALICE) == []
    ok = await bot.send_message(ALICE, "nu wel")
    assert ok.message_id == 1 and api.sent(ALICE)[-1].get("failed") is None


async def test_wrong_token_and_unknown_method(api: FakeBotApi) -> None:
    async with Bot(TOKEN, base_url=api.api_url) as good:
        with pytest.raises(EndPointNotFound):  # PTB's reading of a 404 "Not Found: method not found"
            await good.do_api_request("noSuchMethod")
    with pytest.raises(InvalidToken, match="rejected by the server"):  # PTB's reading of a 401 on getMe
        async with Bot("999:WRONG", base_url=api.api_url):
            pass


async def test_raw_http_shapes_json_bodies_and_get(api: FakeBotApi) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.api_url}999:WRONG/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{api.api_url}{TOKEN}/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        async with http.get(f"{api.api_url}{TOKEN}/getme") as resp:  # method names are case-insensitive
            assert (await resp.json())["result"]["username"] == "wijkbrug_test_bot"
        async with http.post(f"{api.api_url}{TOKEN}/sendMessage", json={"chat_id": str(ALICE), "text": "json"}) as resp:
            body = await resp.json()
            assert body["ok"] is True and body["result"]["chat"]["id"] == ALICE and body["result"]["text"] == "json"
        api.user_sends(ALICE, "hoi")
        async with http.get(f"{api.api_url}{TOKEN}/getUpdates?offset=0&timeout=0") as resp:
            assert [u["message"]["text"] for u in (await resp.json())["result"]] == ["hoi"]
        api.fail_next("getUpdates", status=429, retry_after=2)
        async with http.post(f"{api.api_url}{TOKEN}/getUpdates") as resp:
            assert resp.status == 429 and await resp.json() == {
                "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 2",
                "parameters": {"retry_after": 2}}


@pytest.mark.filterwarnings("ignore:Please use 'Bot.sendMessage'")  # do_api_request on purpose: a plain dict
async def test_do_api_request_with_plain_dict_markup(api: FakeBotApi, bot: Bot) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "1|a"}]]}
    result = await bot.do_api_request("sendMessage",
                                      api_kwargs={"chat_id": ALICE, "text": "Kies", "reply_markup": markup})
    assert result["chat"]["id"] == ALICE and result["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "1|a"
    assert api.last_keyboard(ALICE) == (result["message_id"], [[{"text": "A", "callback_data": "1|a"}]])
    batch = await bot.do_api_request("getUpdates", api_kwargs={"offset": 0, "timeout": 0,
                                                               "allowed_updates": ["message", "callback_query"]})
    assert batch == []
    too_long = {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 65}]]}  # Telegram allows 1-64 bytes
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": ALICE, "text": "x", "reply_markup": too_long})


async def test_commands_photos_documents_and_wait_for(api: FakeBotApi, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Begin")], language_code="nl")
    assert [c.command for c in await bot.get_my_commands(language_code="nl")] == ["start"]
    assert await bot.get_my_commands() == ()
    assert await bot.set_my_description("Hallo", language_code="nl")

    update = api.user_sends_photo(ALICE, caption="kapotte lantaarn")
    (got,) = await bot.get_updates()
    assert got.message is not None and got.message.caption == "kapotte lantaarn" and len(got.message.photo) == 2
    file = await bot.get_file(got.message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == b"\xff\xd8\xff\xe0fake-jpeg"
    forwarded = await bot.send_photo(ALICE, update["message"]["photo"][-1]["file_id"], caption="doorgestuurd")
    assert forwarded.photo[-1].file_id == got.message.photo[-1].file_id and forwarded.caption == "doorgestuurd"
    doc = await bot.send_document(ALICE, InputFile(b"a;b\n1;2\n", filename="rapport.csv"))
    assert doc.document is not None and doc.document.file_name == "rapport.csv" and doc.document.file_size == 8
    uploaded = await bot.send_photo(ALICE, b"\x89PNG fake")
    assert uploaded.photo and uploaded.photo[0].file_size == 9
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(ALICE, "not-a-file-id")

    await api.wait_for(lambda a: len(a.messages(ALICE)) == 3, timeout=1)
    with pytest.raises(TimeoutError, match="sendPhoto"):
        await api.wait_for(lambda a: len(a.messages(ALICE)) == 4, timeout=0.2)


async def test_a_newer_poll_terminates_a_waiting_one_and_stop_releases_polls(api: FakeBotApi, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await until_a_poll_waits(api)
    async with Bot(TOKEN, base_url=api.api_url) as other:  # one Bot has a single getUpdates connection
        second = asyncio.create_task(other.get_updates(timeout=30))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, HANG_GUARD)
        assert api.polls == [{"timeout": 30, "ended": "conflict"}] and api.polls_waiting == 1
        await asyncio.wait_for(
            api.stop(), HANG_GUARD
        )  # the waiting long poll answers [] instead of holding the shutdown up
        assert await asyncio.wait_for(second, HANG_GUARD) == ()
        assert api.polls[-1] == {"timeout": 30, "ended": "stop"} and api.polls_waiting == 0


CHILD = """
import asyncio, sys
from telegram import Bot

async def main():
    async with Bot(sys.argv[1], base_url=sys.argv[2]) as bot:
        (update,) = await bot.get_updates(timeout=5)
        await bot.send_message(update.message.chat.id, "echo: " + update.message.text)
        await bot.get_updates(offset=update.update_id + 1, timeout=0)

asyncio.run(main())
"""


async def test_a_bot_in_a_subprocess_talks_to_it_over_http(api: FakeBotApi) -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, TOKEN, api.api_url)
    api.user_sends(ALICE, "hallo")
    await api.wait_for(lambda a: [m["text"] for m in a.messages(ALICE)] == ["echo: hallo"], timeout=8)
    assert await asyncio.wait_for(child.wait(), 5) == 0
    assert api.pending_updates == 0
