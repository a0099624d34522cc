"""The fake Bot API delivers updates by webhook as Telegram does: POSTs with the secret token header,
in order per chat, a failed delivery (refused, non-2xx) tried again; and, as Telegram behind a load
balancer, spread over several instances, a refused one's updates going to another."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import FAKE_TOKEN as TOKEN
from tests.fakebotapi import FakeBotApi

SECRET = "an-invented-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Instance:
    """A bot instance's webhook server: records what it was given; `answer` picks the status."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.got: list[tuple[int, str]] = []  # (update_id, secret header)
        self.answer: Callable[[dict], int] = lambda update: 200
        self._runner: web.AppRunner | None = None

    async def receive(self, request: web.Request) -> web.Response:
        update = await request.json()
        self.got.append((update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")))
        return web.Response(status=self.answer(update))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        server.retry_pause = 0.05
        yield server


async def call(api: FakeBotApi, method: str, **params: object) -> dict:
    async with aiohttp.ClientSession() as session, session.post(f"{api.api_url}{TOKEN}/{method}", json=params) as r:
        return await r.json()


async def test_updates_are_posted_with_the_secret_once_the_webhook_is_set(api: FakeBotApi) -> None:
    bot = Instance()
    await bot.start()
    try:
        first = api.user_sends(7001, "before the webhook")
        assert (await call(api, "setWebhook", url=bot.url, secret_token=SECRET))["ok"]
        second = api.user_sends(7001, "after it")
        await api.wait_for(lambda a: a.pending_updates == 0)
        assert bot.got == [(first["update_id"], SECRET), (second["update_id"], SECRET)]  # in order, with the secret
        assert api.handed_out == [first["update_id"], second["update_id"]]
        refused = await call(api, "getUpdates")  # as on Telegram: no polling while a webhook is set
        assert refused["error_code"] == 409 and "webhook is active" in refused["description"]
        assert (await call(api, "deleteWebhook"))["ok"]
        api.user_sends(7001, "kept for getUpdates")
        assert [u["message"]["text"] for u in (await call(api, "getUpdates"))["result"]] == ["kept for getUpdates"]
    finally:
        await bot.stop()


async def test_a_failed_delivery_is_tried_again_until_it_is_taken(api: FakeBotApi) -> None:
    bot = Instance()  # not listening yet: connection refused
    assert (await call(api, "setWebhook", url=bot.url, secret_token=SECRET))["ok"]
    update = api.user_sends(7002, "hello")
    await api.wait_for(lambda a: len(a.deliveries) >= 2)
    assert {d["status"] for d in api.deliveries} == {"ClientConnectorError"} and api.pending_updates == 1
    answers = iter([500, 403, 200])
    bot.answer = lambda _: next(answers)
    await bot.start()
    try:
        await api.wait_for(lambda a: a.pending_updates == 0)
        assert [d["status"] for d in api.deliveries if isinstance(d["status"], int)] == [500, 403, 200]
        assert [got for got, _ in bot.got] == [update["update_id"]] * 3 and api.handed_out == [update["update_id"]]
    finally:
        await bot.stop()


@pytest.mark.parametrize("pick", ["round-robin", "random"])
async def test_behind_a_load_balancer_a_stopped_instance_loses_nothing(api: FakeBotApi, pick: str) -> None:
    one, two = Instance(), Instance()
    await one.start()
    await two.start()
    try:
        api.balance([one.url, two.url], pick)
        assert (await call(api, "setWebhook", url="https://bot.example.org/hook", secret_token=SECRET))["ok"]
        chats = range(7100, 7120)
        chat_of: dict[int, int] = {}

        def send(chat: int, text: str) -> int:
            chat_of[update_id := api.user_sends(chat, text)["update_id"]] = chat
            return update_id

        sent = [send(chat, f"message {n}") for n in range(3) for chat in chats]
        await api.wait_for(lambda a: a.pending_updates == 0)
        assert one.got and two.got  # spread over both
        await one.stop()  # one instance goes away: its share is refused and goes to the other
        more = [send(chat, "after the stop") for chat in chats]
        await api.wait_for(lambda a: a.pending_updates == 0)
        assert sorted(u for u, _ in one.got + two.got) == sorted(sent + more)  # each taken once, none lost
        assert {u for u, _ in two.got} >= set(more)
        refused = [d for d in api.deliveries if d["url"] == one.url and not isinstance(d["status"], int)]
        assert refused  # the stopped one was chosen, refused, and the update went to the other
        taken = [d["update_id"] for d in api.deliveries if d["status"] == 200]
        for chat in chats:  # each chat's updates were taken in the order they were sent
            assert [u for u in taken if chat_of[u] == chat] == [u for u in sent + more if chat_of[u] == chat]
    finally:
        await one.stop()
        await two.stop()
