"""The fake Graph API server (tests/fakegraphapi.py) answers like Meta's WhatsApp Cloud API.

A client here is plain aiohttp; the webhook receiver is a small aiohttp server on 127.0.0.1 that checks the
signature the way the bot must. Phone numbers are invented (+31 6 0000 00xx)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import FakeClock
from tests.fakegraph_shapes import SEND_BY_BSUID
from tests.fakegraphapi import MEDIA_URL_TTL, FakeGraphApi

TOKEN, SECRET, VERIFY = "fake-graph-token", "fake-app-secret", "fake-verify-token"
AYSE_PHONE = "+31 6 0000 0001"  # invented
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
Json = dict[str, Any]


@dataclass
class Receiver:
    """The bot's webhook, reduced to what Meta sees: 403 on a bad signature, else ``answer``."""

    answer: int = 200
    bodies: list[Json] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    url: str = ""

    async def post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected):
            return web.Response(status=403)
        self.raws.append(raw)
        self.bodies.append(json.loads(raw))
        return web.Response(status=self.answer)

    async def get(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == VERIFY:
            return web.Response(text=q.get("hub.challenge", ""))
        return web.Response(status=403)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/webhook", rec.post)
    app.router.add_get("/webhook", rec.get)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
    yield rec
    await runner.cleanup()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def graph(clock: FakeClock, receiver: Receiver) -> AsyncIterator[FakeGraphApi]:
    async with FakeGraphApi(token=TOKEN, app_secret=SECRET, webhook_url=receiver.url, clock=clock) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def send(http: aiohttp.ClientSession, graph: FakeGraphApi, payload: Json,
               token: str = TOKEN) -> tuple[int, Json]:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", **payload}
    async with http.post(graph.messages_url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


def text(to: str, body: str = "Hallo") -> Json:
    return {"to": to, "type": "text", "text": {"body": body}}


def buttons(to: str, *pairs: tuple[str, str], body: str = "Kies") -> Json:
    return {"to": to, "type": "interactive", "interactive": {"type": "button", "body": {"text": body}, "action": {
        "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]}}}


def rows(to: str, sections: list[list[Json]], button: str = "Opties") -> Json:
    return {"to": to, "type": "interactive", "interactive": {"type": "list", "body": {"text": "Kies een"}, "action": {
        "button": button, "sections": [{"title": f"Deel {n}", "rows": r} for n, r in enumerate(sections)]}}}


def template(to: str, name: str = "new_item", lang: str = "tr", params: int = 1) -> Json:
    parameters = [{"type": "text", "text": f"p{i}"} for i in range(params)]
    return {"to": to, "type": "template", "template": {"name": name, "language": {"code": lang},
                                                       "components": [{"type": "body", "parameters": parameters}]}}


def error_of(body: Json) -> int:
    assert set(body["error"]) >= {"message", "type", "code", "error_subcode", "fbtrace_id"}
    return int(body["error"]["code"])


async def opened(graph: FakeGraphApi, phone: str = AYSE_PHONE, name: str = "Ayşe (invented)") -> Any:
    """A user who just wrote, so the 24-hour window is open."""
    user = graph.add_user(name, phone=phone)
    await graph.deliver_message(user, "merhaba")
    return user


async def test_a_text_inside_the_window_is_recorded_with_a_fresh_wamid(graph: FakeGraphApi,
                                                                       http: aiohttp.ClientSession) -> None:
    user = await opened(graph)
    status, body = await send(http, graph, text(AYSE_PHONE))
    assert status == 200
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": AYSE_PHONE, "wa_id": "31600000001"}]
    wamid = body["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    status, again = await send(http, graph, text("31600000001"))
    assert again["messages"][0]["id"] != wamid
    assert [m["id"] for m in graph.sent_to(user)] == [wamid, again["messages"][0]["id"]]
    assert graph.sent[0]["payload"]["text"] == {"body": "Hallo"} and graph.sent[0]["to"] == "31600000001"


async def test_a_wrong_token_gets_401_in_graphs_error_shape(graph: FakeGraphApi, http: aiohttp.ClientSession) -> None:
    await opened(graph)
    status, body = await send(http, graph, text(AYSE_PHONE), token="not-the-token")
    assert (status, error_of(body), body["error"]["type"]) == (401, 190, "OAuthException")
    assert graph.sent == [] and graph.refused()[-1]["status"] == 401


@pytest.mark.parametrize(("payload", "code"), [
    ({"messaging_product": "sms"}, 100),
    ({"type": "sticker", "sticker": {"id": "1"}}, 100),
    (text(AYSE_PHONE, ""), 100),
    (text(AYSE_PHONE, "x" * 4097), 100),
    (buttons(AYSE_PHONE), 131009),
    (buttons(AYSE_PHONE, *[(f"b{i}", f"B{i}") for i in range(4)]), 131009),
    (buttons(AYSE_PHONE, ("a", "x" * 21)), 131009),
    (buttons(AYSE_PHONE, ("a", "Ja"), ("a", "Nee")), 131009),
    (buttons(AYSE_PHONE, ("a", "Ja"), ("b", "Ja")), 131009),
    (buttons(AYSE_PHONE, ("a" * 257, "Ja")), 131009),
    (buttons(AYSE_PHONE, ("a", "Ja"), body="x" * 1025), 131009),
    (rows(AYSE_PHONE, [[{"id": f"r{i}", "title": "T"} for i in range(6)]] * 2), 131009),
    (rows(AYSE_PHONE, [[{"id": "r1", "title": "T"}], [{"id": "r1", "title": "U"}]]), 131009),
    (rows(AYSE_PHONE, [[{"id": "r1", "title": "x" * 25}]]), 131009),
    (rows(AYSE_PHONE, [[{"id": "r1", "title": "T", "description": "x" * 73}]]), 131009),
    (rows(AYSE_PHONE, [[{"id": "r1", "title": "T"}]], button="x" * 21), 131009),
    ({"to": AYSE_PHONE, "type": "image", "image": {}}, 100),
    ({"to": AYSE_PHONE, "type": "document", "document": {"id": "404"}}, 100),
    ({"to": None, "type": "text", "text": {"body": "aan niemand"}}, 100),
])
async def test_invalid_payloads_are_refused_and_nothing_is_recorded(
        graph: FakeGraphApi, http: aiohttp.ClientSession, payload: Json, code: int) -> None:
    await opened(graph)
    status, body = await send(http, graph, {"to": AYSE_PHONE, **payload})
    assert (status, error_of(body)) == (400, code)
    assert graph.sent == []


async def test_the_limits_themselves_are_accepted(graph: FakeGraphApi, http: aiohttp.ClientSession) -> None:
    await opened(graph)
    limits = [
        text(AYSE_PHONE, "x" * 4096),
        buttons(AYSE_PHONE, ("a" * 256, "x" * 20), ("b", "B"), ("c", "C"), body="x" * 1024),
        rows(AYSE_PHONE, [[{"id": f"r{i}", "title": "x" * 24, "description": "d" * 72} for i in range(5)]] * 1
             + [[{"id": f"s{i}", "title": "T"} for i in range(5)]], button="x" * 20),
        {"to": AYSE_PHONE, "type": "image", "image": {"link": "https://example.invalid/a.jpg"}},
        {"to": AYSE_PHONE, "type": "document", "document": {"id": graph.add_media(b"%PDF", "application/pdf"),
                                                            "filename": "brief.pdf"}},
    ]
    for payload in limits:
        status, body = await send(http, graph, payload)
        assert status == 200, body
    assert [m["type"] for m in graph.sent] == ["text", "interactive", "interactive", "image", "document"]
