"""The bot's own Bot API client (bot/botapi.py) against real servers on 127.0.0.1.

Telegram's answers are read as python-telegram-bot reads them: every documented kind of answer (and
a few broken ones) is served to both, PTB's own request layer (httpx) and ours, and both must
return the same result or raise the error of the same name with the same message. Then the
client against the fake Bot API: meeting Telegram, a long poll, a file as multipart, a wrong token,
a silent server."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram.error import TelegramError as PtbError
from telegram.request import HTTPXRequest

from bot.botapi import BotApi, ChatMigrated, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from tests.conftest import FAKE_TOKEN as TOKEN
from tests.fakebotapi import FakeBotApi

ALICE = 1001


def error(status: int, description: str, **parameters: Any) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, json.dumps(body).encode()


# What Telegram answers (https://core.telegram.org/bots/api#making-requests, #responseparameters),
# and what a proxy in front of it may answer instead.
ANSWERS: dict[str, tuple[int, bytes]] = {
    "ok": (200, json.dumps({"ok": True, "result": {"message_id": 7, "text": "Vraag – سؤال"}}).encode()),
    "ok, true": (200, b'{"ok": true, "result": true}'),
    "flood control": error(429, "Too Many Requests: retry after 3", retry_after=3),
    "chat migrated": error(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1009),
    "blocked": error(403, "Forbidden: bot was blocked by the user"),
    "bad token": error(401, "Unauthorized"),
    "no such method": error(404, "Not Found"),
    "chat not found": error(400, "Bad Request: chat not found"),
    "two pollers": error(409, "Conflict: terminated by other getUpdates request"),
    "server error": error(500, "Internal Server Error"),
    "unknown parameter": error(400, "Bad Request: something new", something_new=1),
    "an error without a description": (500, b'{"ok": false, "error_code": 500}'),
    "a status without a name": error(599, "Weird"),
    "a proxy's page": (502, b"<html><body>Bad Gateway</body></html>"),
    "a proxy's page, unnamed status": (520, b"<html>Unknown</html>"),
    "not JSON, but 200": (200, b"<html>hello</html>"),
    "not UTF-8": (200, b"\xff\xfe{"),
}


@pytest.fixture
async def canned() -> AsyncIterator[tuple[str, dict[str, tuple[int, bytes]]]]:
    """A server that answers every call with the answer named in its path (`/bot…/<name>`)."""
    answers = {str(n): answer for n, answer in enumerate(ANSWERS.values())}

    async def answer(request: web.Request) -> web.Response:
        status, body = answers[request.match_info["method"]]
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/bot", answers
    finally:
        await runner.cleanup()


async def outcome(call: Any) -> tuple[str, Any]:
    try:
        return "result", await call
    except (PtbError, TelegramError) as exc:
        with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta
            warnings.simplefilter("ignore")
            extra = getattr(exc, "retry_after", None) or getattr(exc, "seconds", None)
        extra = extra or getattr(exc, "new_chat_id", None)
        return type(exc).__name__, (str(exc), extra)


async def test_every_answer_is_read_as_python_telegram_bot_reads_it(
    canned: tuple[str, dict[str, tuple[int, bytes]]],
) -> None:
    url, answers = canned
    ptb = HTTPXRequest()
    ours = BotApi(TOKEN, url)
    await ptb.initialize()
    try:
        for (name, (status, body)), key in zip(ANSWERS.items(), answers, strict=True):
            theirs = await outcome(ptb.post(f"{url}{TOKEN}/{key}"))
            mine = await outcome(ours.call(key, {"chat_id": ALICE}))
            json_body = body.startswith(b"{")
            if theirs[0] == "result" or json_body:
                assert mine == theirs, name
            else:  # PTB adds the unparsable answer to its message; ours never repeats an answer's content
                assert mine[0] == theirs[0], name
                assert theirs[1][0].startswith(mine[1][0]), name
    finally:
        await ptb.shutdown()
        await ours.close()


async def test_the_errors_carry_what_the_caller_needs(canned: tuple[str, dict[str, tuple[int, bytes]]]) -> None:
    url, answers = canned
    keys = dict(zip(ANSWERS, answers, strict=True))
    client = BotApi(TOKEN, url)
    try:
        with pytest.raises(RetryAfter) as waited:
            await client.call(keys["flood control"])
        assert waited.value.seconds == 3.0
        with pytest.raises(ChatMigrated) as moved:
            await client.call(keys["chat migrated"])
        assert moved.value.new_chat_id == -1009
        with pytest.raises(NetworkError):  # a proxy's error page: worth trying again
            await client.call(keys["a proxy's page"])
    finally:
        await client.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        yield server


async def test_meeting_telegram_polling_and_a_file(api: FakeBotApi) -> None:
    client = BotApi(TOKEN, api.api_url)
    try:
        me = await client.call("getMe")
        assert me["is_bot"] is True and me["username"]
        api.user_sends(ALICE, "hallo – مرحبا")
        (update,) = await client.call("getUpdates", {"timeout": 1, "allowed_updates": ["message"]})
        assert update["message"]["text"] == "hallo – مرحبا"
        assert await client.call("getUpdates", {"offset": update["update_id"] + 1, "timeout": 0}) == []
        sent = await client.call(
            "sendDocument", {"chat_id": str(ALICE), "caption": "Week 48 – invented"},
            files={"document": ("week.csv", b"code,theme\nH-1,school\n")},
        )
        assert sent["document"]["file_name"] == "week.csv" and sent["caption"] == "Week 48 – invented"
        (call,) = [c for c in api.sent(ALICE) if c["method"] == "sendDocument"]
        assert call["params"]["caption"] == "Week 48 – invented"
    finally:
        await client.close()


async def test_a_wrong_token_is_invalid_and_a_silent_server_times_out(api: FakeBotApi) -> None:
    wrong = BotApi("999:WRONG", api.api_url)
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await wrong.call("getMe")
    await wrong.close()
    client = BotApi(TOKEN, api.api_url, read_timeout=0.2)
    try:
        with pytest.raises(TimedOut):  # the long poll outlasts the read timeout
            await client.call("getUpdates", {"timeout": 5})
        api.user_sends(ALICE, "hallo")
        assert len(await client.call("getUpdates", {"timeout": 5}, read_timeout=5)) == 1  # its own timeout
    finally:
        await client.close()
    await api.stop()
    with pytest.raises(NetworkError):
        await client.call("getMe")
