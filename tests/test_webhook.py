"""Webhook mode: Telegram posts updates to the bot; a request without the right secret token gets
403 and is not processed; an update is in the inbox before the 200 goes back."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from tests.test_e2e_telegram import Wijkbrug, stored, texts, wijkbrug  # noqa: F401 - the fixture

SECRET = "an-invented-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def post(url: str, update: dict, secret: str | None) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    for _ in range(100):  # the server may still be starting
        try:
            async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as answer:
                return answer.status
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    raise AssertionError("the webhook server did not come up")


async def test_updates_with_the_secret_are_stored_and_answered_others_refused(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    wijkbrug.env.update({"WIJKBRUG_WEBHOOK_PORT": str(port), "WIJKBRUG_WEBHOOK_SECRET": SECRET})
    await wijkbrug.start("--webhook", url)
    update = {"update_id": 501, "message": {"message_id": 1, "date": 0, "chat": {"id": 7701, "type": "private"}, "from": {"id": 7701, "is_bot": False, "first_name": "X", "language_code": "en"}, "text": "/start"}}
    assert await post(url, update, None) == 403
    assert await post(url, {**update, "update_id": 502}, "wrong") == 403
    assert await post(url, {**update, "update_id": 503}, SECRET) == 200
    await wijkbrug.api.wait_for(lambda a: any("only for invited" in t for t in texts(a, 7701)), timeout=20)
    assert stored(wijkbrug.database, "SELECT update_id FROM inbox") == [(503,)]  # the refused ones left no trace
    hook = wijkbrug.api.settings[("webhook", "")]
    assert hook == {"url": url, "secret_token": SECRET}
    assert await wijkbrug.stop() == 0
