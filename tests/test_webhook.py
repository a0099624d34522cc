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
    update = {
        "update_id": 501,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 7701, "type": "private"},
            "from": {"id": 7701, "is_bot": False, "first_name": "X", "language_code": "en"},
            "text": "/start",
        },
    }
    assert await post(url, update, None) == 403
    assert await post(url, {**update, "update_id": 502}, "wrong") == 403
    assert await post(url, {**update, "update_id": 503}, SECRET) == 200
    await wijkbrug.api.wait_for(lambda a: any("only for invited" in t for t in texts(a, 7701)), timeout=20)
    assert stored(wijkbrug.database, "SELECT update_id FROM inbox") == [(503,)]  # the refused ones left no trace
    hook = wijkbrug.api.settings[("webhook", "")]
    assert hook == {"url": url, "secret_token": SECRET}
    assert await wijkbrug.stop() == 0


async def closed_by_server(port: int, sent: bytes, within: float = 30) -> bytes:
    """Open a raw connection, send `sent` (an unfinished request) and read until the server closes
    it; returns what it answered. Fails if the server still holds it after `within` seconds (the
    timeout under test is 1 s; without one aiohttp would hold it for an hour)."""
    for _ in range(100):  # the server may still be starting
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.1)
    else:
        raise AssertionError("the webhook server did not come up")
    writer.write(sent)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), within)  # b"" or an answer, then end of stream
    finally:
        writer.close()


async def test_connections_that_never_finish_their_headers_or_body_are_closed(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    wijkbrug.env.update(
        {"WIJKBRUG_WEBHOOK_PORT": str(port), "WIJKBRUG_WEBHOOK_SECRET": SECRET, "WIJKBRUG_WEBHOOK_TIMEOUT": "1"}
    )
    await wijkbrug.start("--webhook", url)
    # Half a header, never finished:
    assert await closed_by_server(port, b"POST /telegram/hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty") == b""
    # Nothing at all:
    assert await closed_by_server(port, b"") == b""
    # The whole head, and a body that never comes:
    head = (
        f"POST /telegram/hook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"update_id\": 1"
    ).encode()
    assert (await closed_by_server(port, head)).startswith(b"HTTP/1.1 408")
    # ...and the listener still serves whoever sends a whole request.
    update = {
        "update_id": 601,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 7702, "type": "private"},
            "from": {"id": 7702, "is_bot": False, "first_name": "X", "language_code": "en"},
            "text": "/start",
        },
    }
    assert await post(url, update, SECRET) == 200
    assert stored(wijkbrug.database, "SELECT update_id FROM inbox") == [(601,)]
    assert await wijkbrug.stop() == 0
