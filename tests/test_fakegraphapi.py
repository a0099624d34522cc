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


# --- the 24-hour window -------------------------------------------------------------------------------------
async def test_free_form_outside_the_window_is_refused_with_131047_templates_pass(
        graph: FakeGraphApi, http: aiohttp.ClientSession, clock: FakeClock) -> None:
    graph.register_template("new_item", "tr", body_param_count=1)
    user = graph.add_user("Ayşe (invented)", phone=AYSE_PHONE)
    status, body = await send(http, graph, text(AYSE_PHONE))
    assert (status, error_of(body)) == (400, 131047)  # never wrote: no window at all
    status, body = await send(http, graph, template(AYSE_PHONE))
    assert status == 200 and body["messages"][0]["message_status"] == "accepted"

    await graph.deliver_message(user, "tamam")
    clock.advance(hours=23, minutes=59)
    assert graph.in_window(user) and (await send(http, graph, text(AYSE_PHONE)))[0] == 200
    clock.advance(minutes=1)
    assert not graph.in_window(user)
    status, body = await send(http, graph, buttons(AYSE_PHONE, ("a", "Evet")))
    assert (status, error_of(body)) == (400, 131047)
    assert [m["type"] for m in graph.sent_to(user)] == ["template", "text"]


async def test_late_mode_accepts_then_reports_131047_as_a_failed_status(
        graph: FakeGraphApi, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    graph.window_failure = "late"
    graph.add_user("Ayşe (invented)", phone=AYSE_PHONE)
    status, body = await send(http, graph, text(AYSE_PHONE))
    assert status == 200
    wamid = body["messages"][0]["id"]
    assert receiver.bodies == []  # nothing yet: the failure comes later
    [delivery] = await graph.flush_statuses()
    assert delivery.answers == [200]
    [state] = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["statuses"]
    assert (state["id"], state["status"], state["recipient_id"]) == (wamid, "failed", "31600000001")
    assert state["errors"][0]["code"] == 131047 and state["errors"][0]["title"] == "Re-engagement message"
    assert await graph.flush_statuses() == []  # each message is reported once


async def test_auto_statuses_push_sent_and_delivered_by_themselves(
        graph: FakeGraphApi, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    await opened(graph)
    graph.auto_statuses = True
    wamid = (await send(http, graph, text(AYSE_PHONE)))[1]["messages"][0]["id"]
    await graph.wait_for(lambda g: g.message(wamid)["statuses"] == ["sent", "delivered"])
    await graph.wait_for(lambda g: all(d.answers for d in g.deliveries))
    pushed = [s["status"] for b in receiver.bodies for s in b["entry"][0]["changes"][0]["value"].get("statuses", [])]
    assert pushed == ["sent", "delivered"]


# --- templates ----------------------------------------------------------------------------------------------
async def test_template_registry_answers_132001_and_132000(graph: FakeGraphApi, http: aiohttp.ClientSession) -> None:
    graph.add_user("Ayşe (invented)", phone=AYSE_PHONE)
    graph.register_template("new_item", "tr", body_param_count=1)
    assert error_of((await send(http, graph, template(AYSE_PHONE, name="nope")))[1]) == 132001
    status, body = await send(http, graph, template(AYSE_PHONE, lang="so"))
    assert (status, error_of(body)) == (404, 132001)
    status, body = await send(http, graph, template(AYSE_PHONE, params=2))
    assert (status, error_of(body)) == (400, 132000)
    assert (await send(http, graph, template(AYSE_PHONE, params=1)))[0] == 200
    assert graph.templates["new_item", "tr"]["category"] == "UTILITY"


# --- throttling and failures ----------------------------------------------------------------------------------
async def test_throttles_and_5xx_for_the_next_calls_then_normal(graph: FakeGraphApi,
                                                                http: aiohttp.ClientSession) -> None:
    user = await opened(graph)
    other = await opened(graph, phone="+31 6 0000 0002", name="Tesfay (invented)")
    graph.fail_next(130429, times=2)
    graph.fail_next(131000)
    graph.fail_next(131056, recipient=user)
    got = [(s, error_of(b)) for s, b in [await send(http, graph, text("31600000002")) for _ in range(3)]]
    assert got == [(400, 130429), (400, 130429), (500, 131000)]
    assert (await send(http, graph, text("31600000002")))[0] == 200  # the pair limit is only for Ayşe
    status, body = await send(http, graph, text(AYSE_PHONE))
    assert (status, error_of(body)) == (400, 131056)
    assert (await send(http, graph, text(AYSE_PHONE)))[0] == 200
    assert [len(graph.sent_to(u)) for u in (user, other)] == [1, 1]
    assert [c["code"] for c in graph.refused()] == [130429, 130429, 131000, 131056]


async def test_an_unreachable_recipient_gets_131026_now_or_later(graph: FakeGraphApi, http: aiohttp.ClientSession,
                                                                 receiver: Receiver) -> None:
    user = await opened(graph)
    graph.undeliverable(user)
    assert error_of((await send(http, graph, text(AYSE_PHONE)))[1]) == 131026
    graph.undeliverable(user, late=True)
    assert (await send(http, graph, text(AYSE_PHONE)))[0] == 200
    await graph.flush_statuses()
    assert receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] == 131026
    graph.register_template("new_item", "tr", body_param_count=1)
    assert (await send(http, graph, template("+31 6 0000 0077")))[0] == 200  # not on WhatsApp: fails later
    await graph.flush_statuses()
    assert receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["code"] == 131026


# --- identity: BSUID-only users -----------------------------------------------------------------------------
async def test_a_user_known_only_by_bsuid(graph: FakeGraphApi, http: aiohttp.ClientSession,
                                          receiver: Receiver) -> None:
    user = graph.add_user("Samira (invented)", bsuid="NL.8800000001", username="@samira_invented")
    await graph.deliver_message(user, "hallo")
    value = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "Samira (invented)", "username": "@samira_invented"},
                                  "user_id": "NL.8800000001"}]
    [msg] = value["messages"]
    assert "from" not in msg and msg["from_user_id"] == "NL.8800000001"
    status, body = await send(http, graph, {SEND_BY_BSUID: "NL.8800000001", "type": "text", "text": {"body": "Hoi"}})
    assert status == 200 and body["contacts"] == [{"input": "NL.8800000001", "user_id": "NL.8800000001"}]
    status, body = await send(http, graph, {SEND_BY_BSUID: "NL.404", "type": "text", "text": {"body": "Hoi"}})
    assert (status, error_of(body)) == (400, 100)
    await graph.flush_statuses()
    state = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["statuses"][-1]
    assert "recipient_id" not in state and state["recipient_user_id"] == "NL.8800000001"


async def test_a_phone_user_carries_both_ids(graph: FakeGraphApi, receiver: Receiver) -> None:
    await opened(graph)
    value = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]
    contact, msg = value["contacts"][0], value["messages"][0]
    assert contact["wa_id"] == msg["from"] == "31600000001"
    assert contact["user_id"] == msg["from_user_id"] and contact["user_id"].startswith("NL.")
    assert value["metadata"] == {"display_phone_number": "31600000099", "phone_number_id": graph.phone_number_id}
    assert msg["timestamp"] == str(int(NOW.timestamp())) and msg["type"] == "text" and msg["id"].startswith("wamid.")


# --- webhooks -----------------------------------------------------------------------------------------------
async def test_webhooks_are_signed_and_a_bad_or_missing_signature_is_visible(graph: FakeGraphApi,
                                                                            receiver: Receiver) -> None:
    user = graph.add_user("Ayşe (invented)", phone=AYSE_PHONE)
    good = await graph.deliver_message(user, "günaydın")
    assert good.answers == [200] and good.raw == receiver.raws[-1]
    assert b"g\\u00fcnayd\\u0131n" in good.raw  # Meta escapes non-ASCII: only the raw bytes match the signature
    assert (await graph.deliver_message(user, "x", signature="wrong")).answers == [403]
    assert (await graph.deliver_message(user, "x", signature="missing")).answers == [403]
    receiver.answer = 500
    assert (await graph.deliver_message(user, "y")).answers == [500]
    assert [d.answers for d in graph.deliveries] == [[200], [403], [403], [500]]


async def test_duplicates_and_out_of_order_statuses(graph: FakeGraphApi, http: aiohttp.ClientSession,
                                                    receiver: Receiver) -> None:
    user = await opened(graph)
    twice = await graph.deliver_message(user, "nogmaals", duplicate=True)
    assert twice.answers == [200, 200] and receiver.raws[-1] == receiver.raws[-2]
    wamid = (await send(http, graph, text(AYSE_PHONE)))[1]["messages"][0]["id"]
    await graph.deliver_statuses([(wamid, "read", None), (wamid, "sent", None)])
    await graph.deliver_status(wamid, "delivered", duplicate=True)
    order = [s["status"] for b in receiver.bodies[-3:] for s in b["entry"][0]["changes"][0]["value"]["statuses"]]
    assert order == ["read", "sent", "delivered", "delivered"]
    assert graph.message(wamid)["statuses"] == ["read", "sent", "delivered"]
    sent = receiver.bodies[-3]["entry"][0]["changes"][0]["value"]["statuses"][1]
    assert sent["conversation"]["origin"]["type"] == "service" and sent["pricing"]["category"] == "service"


async def test_replies_name_the_button_or_row_the_bot_sent(graph: FakeGraphApi, http: aiohttp.ClientSession,
                                                           receiver: Receiver) -> None:
    user = await opened(graph)
    wamid = (await send(http, graph, buttons(AYSE_PHONE, ("t1|yes", "Evet"), ("t1|no", "Hayır"))))[1]
    await graph.deliver_message(user, button_reply="t1|no")
    msg = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert msg["type"] == "interactive"
    assert msg["interactive"] == {"type": "button_reply", "button_reply": {"id": "t1|no", "title": "Hayır"}}
    assert msg["context"] == {"from": "31600000099", "id": wamid["messages"][0]["id"]}
    with pytest.raises(ValueError, match="no button_reply"):
        await graph.deliver_message(user, button_reply="t0|stale")
    await graph.deliver_message(user, button_reply="t0|stale", check_reply=False)  # a stale press, on purpose

    await send(http, graph, rows(AYSE_PHONE, [[{"id": "r1", "title": "Zorg", "description": "Wijkteam zorg"}]]))
    await graph.deliver_message(user, list_reply="r1")
    reply = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    assert reply == {"type": "list_reply", "list_reply": {"id": "r1", "title": "Zorg", "description": "Wijkteam zorg"}}


async def test_the_verification_call(graph: FakeGraphApi) -> None:
    assert await graph.verify_webhook(VERIFY, challenge="4242") == (200, "4242")
    assert (await graph.verify_webhook("wrong", challenge="4242"))[0] == 403


# --- media --------------------------------------------------------------------------------------------------
async def test_inbound_media_needs_the_token_and_its_url_expires(graph: FakeGraphApi, http: aiohttp.ClientSession,
                                                                 receiver: Receiver, clock: FakeClock) -> None:
    user = await opened(graph)
    photo = b"\xff\xd8\xff\xe0invented-photo"
    await graph.deliver_message(user, image=photo, caption="rekening")
    image = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    assert image["sha256"] == hashlib.sha256(photo).hexdigest() and image["caption"] == "rekening"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with http.get(f"{graph.api_url}/{image['id']}") as r:
        assert r.status == 401
    async with http.get(f"{graph.api_url}/{image['id']}", headers=auth) as r:
        info = await r.json()
    assert {k: info[k] for k in ("mime_type", "sha256", "file_size", "id")} == {
        "mime_type": "image/jpeg", "sha256": image["sha256"], "file_size": len(photo), "id": image["id"]}
    async with http.get(info["url"]) as r:
        assert r.status == 401
    async with http.get(info["url"], headers=auth) as r:
        assert (r.status, await r.read()) == (200, photo)
    clock.advance(seconds=MEDIA_URL_TTL)
    async with http.get(info["url"], headers=auth) as r:
        assert r.status == 404
    async with http.get(f"{graph.api_url}/{image['id']}", headers=auth) as r:  # a fresh URL works again
        fresh = (await r.json())["url"]
    async with http.get(fresh, headers=auth) as r:
        assert r.status == 200
    async with http.get(f"{graph.api_url}/123404", headers=auth) as r:
        assert (r.status, error_of(await r.json())) == (400, 100)

    await graph.deliver_message(user, document=b"%PDF-invented", filename="brief.pdf")
    doc = receiver.bodies[-1]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert doc["type"] == "document" and doc["document"]["filename"] == "brief.pdf"
    assert doc["document"]["mime_type"] == "application/pdf"


async def test_an_uploaded_file_can_be_sent_by_id(graph: FakeGraphApi, http: aiohttp.ClientSession) -> None:
    await opened(graph)
    form = aiohttp.FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", "application/pdf")
    form.add_field("file", b"%PDF-invented", filename="brief.pdf", content_type="application/pdf")
    url = f"{graph.api_url}/{graph.phone_number_id}/media"
    async with http.post(url, data=form, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        media_id = (await r.json())["id"]
    assert graph.media[media_id]["data"] == b"%PDF-invented"
    status, _ = await send(http, graph, {"to": AYSE_PHONE, "type": "document", "document": {"id": media_id}})
    assert status == 200
