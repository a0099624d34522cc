"""The WhatsApp channel's own parts (issue 17): parsing webhooks, rendering within Meta's limits, and the
webhook's signature check, duplicates and statuses, on a real server on 127.0.0.1. Every id, name and
number here is invented."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot import whatsapp_render as render
from bot.whatsapp_updates import parse
from bot.whatsapp_webhook import PATH, Intake, make_app
from db import outbox, users, whatsapp
from db.connection import Connection, Patience, transaction
from flows.model import Attachment, Choice, Command, Role, Said

SECRET = b"invented-app-secret"
BSUID = "NL.1234567890123456"


def webhook(messages: list[dict[str, Any]] = (), statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
            contacts: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1065"},
             "contacts": list(contacts), "messages": list(messages), "statuses": list(statuses)}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
                                                                                    "value": value}]}]}


def text_message(wamid: str, body: str, sender: str = "31600000001") -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": "1764500000", "type": "text", "text": {"body": body}}


def test_a_sender_known_only_by_their_business_scoped_id_and_the_start_code() -> None:
    body = webhook(
        [{"from_user_id": BSUID, "id": "wamid.A", "type": "text", "text": {"body": "START abcDEF123"}}],
        contacts=[{"profile": {"name": "Ayşe (invented)"}, "user_id": BSUID}],
    )
    [message], statuses = parse(body)
    assert statuses == [] and message.wamid == "wamid.A"
    assert message.inbound.chat_id == BSUID and message.inbound.first_name == "Ayşe (invented)"
    assert message.inbound.event == Command(name="start", args="abcDEF123")


def test_presses_files_and_statuses_are_parsed() -> None:
    press = {"from": "31600000001", "id": "wamid.B", "type": "interactive", "context": {"id": "wamid.P"},
             "interactive": {"type": "list_reply", "list_reply": {"id": "tok1|yes", "title": "Yes"}}}
    image = {"from": "31600000001", "id": "wamid.C", "type": "image",
             "image": {"id": "media-1", "mime_type": "image/jpeg"}}
    failed = {"id": "wamid.S", "status": "failed", "recipient_id": "31600000001", "errors": [{"code": 131047}]}
    messages, statuses = parse(webhook([press, image, text_message("wamid.D", "hallo")], [failed]))
    assert messages[0].inbound.event == Choice(data="tok1|yes") and messages[0].inbound.pressed is not None
    assert messages[1].inbound.event == Attachment(media="photo", file_id="wa:media-1", mime_type="image/jpeg")
    assert messages[2].inbound.event == Said(text="hallo")
    assert statuses[0].codes == (131047,) and statuses[0].address == "31600000001"
    assert parse({"entry": "nonsense"}) == ([], [])


def test_rendering_keeps_to_meta_s_limits() -> None:
    three = [[{"id": "a|1", "label": "Ja"}, {"id": "a|2", "label": "Nee, dat is niet het geval"}],
             [{"id": "a|3", "label": "Weet ik niet"}]]
    [message] = render.messages("31600000001", "say", {"text": "Vraag?", "buttons": three}, "Kies")
    titles = [b["reply"]["title"] for b in message["interactive"]["action"]["buttons"]]
    assert titles[1] == "Nee, dat is niet he…" and all(len(title) <= 20 for title in titles)
    many = [[{"id": f"b|{n}", "label": f"Keuze nummer {n} met een heel lange naam erbij"}] for n in range(23)]
    pages = render.messages(BSUID, "say", {"text": "x" * 3000, "buttons": many}, "Kies")
    lists = [p for p in pages if p["type"] == "interactive"]
    assert len(lists) == 3 and pages[0]["type"] == "text" and pages[0]["recipient"] == BSUID
    for page in lists:
        assert len(page["interactive"]["body"]["text"]) <= 1024
        rows = page["interactive"]["action"]["sections"][0]["rows"]
        assert len(rows) <= 10 and all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
    long = render.messages("31600000001", "say", {"text": "woord " * 1500}, "Kies")
    assert len(long) == 3 and all(len(m["text"]["body"]) <= 4096 for m in long)
    assert render.messages("1", "chosen", {"ref": "x", "text": "y"}, "Kies") == []
    assert render.messages("1", "answer", {"press": "p"}, "Kies") == []
    assert render.messages("1", "answer", {"press": "p", "notice": "Verlopen"}, "Kies")[0]["text"]["body"] == "Verlopen"
    assert render.template_language("so", "nl") == "nl" and render.template_language("tr", "nl") == "tr"


@pytest.fixture
async def hook(conn: Connection, clock) -> AsyncIterator[tuple[str, list[int]]]:  # noqa: ANN001
    woken: list[int] = []
    intake = Intake(conn, SECRET, "invented-verify", clock, lambda: woken.append(1), Patience())
    runner = web.AppRunner(make_app(intake), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}{PATH}", woken
    await runner.cleanup()


async def post(url: str, body: dict[str, Any], secret: bytes | None = SECRET) -> int:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as client, client.post(url, data=raw, headers=headers) as response:
        return response.status


async def inbox_rows(conn: Connection) -> list[tuple[Any, ...]]:
    async with conn.execute("SELECT update_id, external_id FROM inbox WHERE channel = 'whatsapp'") as cur:
        return list(await cur.fetchall())


async def test_the_verification_echoes_the_challenge_only_with_our_token(hook) -> None:  # noqa: ANN001
    url, _ = hook
    async with aiohttp.ClientSession() as client:
        good = {"hub.mode": "subscribe", "hub.verify_token": "invented-verify", "hub.challenge": "1158201444"}
        async with client.get(url, params=good) as response:
            assert response.status == 200 and await response.text() == "1158201444"
        async with client.get(url, params={**good, "hub.verify_token": "guess"}) as response:
            assert response.status == 403


async def test_a_missing_or_wrong_signature_gets_403_and_nothing_is_stored(hook, conn) -> None:  # noqa: ANN001
    url, woken = hook
    body = webhook([text_message("wamid.X", "hallo")])
    assert await post(url, body, secret=None) == 403
    assert await post(url, body, secret=b"another secret") == 403
    assert await inbox_rows(conn) == [] and woken == []


async def test_a_redelivered_message_is_stored_once(hook, conn) -> None:  # noqa: ANN001
    url, woken = hook
    body = webhook([text_message("wamid.X", "hallo"), text_message("wamid.Y", "nog iets")])
    assert await post(url, body) == 200
    assert await post(url, body) == 200
    assert await inbox_rows(conn) == [(1, "wamid.X"), (2, "wamid.Y")]


async def test_statuses_out_of_order_act_once_and_a_late_131047_requeues(hook, conn, clock) -> None:  # noqa: ANN001
    url, _ = hook
    address = "31600000002"
    async with transaction(conn):
        account = await users.create(conn, channel="whatsapp", chat_id=address, role=Role.VOLUNTEER, org_id="lantaarn",
                                     language="tr", display_name="Invented", now=clock())
        await whatsapp.sent(conn, "wamid.OUT1", address, "say", {"text": "Bericht"}, clock())
        await whatsapp.sent(conn, "wamid.OUT2", address, "say", {"text": "Tweede"}, clock())
    statuses = [
        {"id": "wamid.OUT1", "status": "read", "recipient_id": address},
        {"id": "wamid.OUT1", "status": "sent", "recipient_id": address},
        {"id": "wamid.OUT1", "status": "delivered", "recipient_id": address},
        {"id": "wamid.OUT2", "status": "failed", "recipient_id": address, "errors": [{"code": 131047}]},
    ]
    assert await post(url, webhook(statuses=statuses)) == 200
    assert await post(url, webhook(statuses=statuses)) == 200  # again: nothing more happens
    assert await outbox.size(conn, "whatsapp") == 1  # the failed one, to go again after the template
    assert await whatsapp.window(conn, address, clock()) == (False, True)
    assert await whatsapp.address_of_sent(conn, "wamid.OUT1") is None
    failed = {"id": "wamid.OUT3", "status": "failed", "recipient_id": address, "errors": [{"code": 131026}]}
    assert await post(url, webhook(statuses=[failed])) == 200
    assert [a.id for a in await users.newly_unreachable(conn)] == [account.id]
    clock.advance(minutes=5)
    assert await post(url, webhook([text_message("wamid.Z", "terug", sender=address)])) == 200
    assert await whatsapp.window(conn, address, clock()) == (True, False)


@pytest.fixture
def operator(tmp_path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    import os

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("WIJKBRUG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WIJKBRUG_DATABASE", str(tmp_path / "data" / "test.sqlite3"))
    return tmp_path


def test_a_whatsapp_invite_is_a_wa_me_link_with_the_start_code(operator, monkeypatch, capsys) -> None:  # noqa: ANN001
    from bot import cli, directory_file

    assert cli.main(["directory", "import", str(directory_file.sample_path())]) == 0
    assert cli.main(["invite", "--role", "volunteer", "--org", "lantaarn", "--channel", "whatsapp"]) == 2
    assert "WIJKBRUG_WHATSAPP_NUMBER" in capsys.readouterr().err
    monkeypatch.setenv("WIJKBRUG_WHATSAPP_NUMBER", "+31600000099")
    assert cli.main(["invite", "--role", "volunteer", "--org", "lantaarn", "--channel", "whatsapp", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["link"] == f"https://wa.me/31600000099?text=START%20{made['code']}"
    [message], _ = parse(webhook([text_message("wamid.J", "START " + made["code"])]))
    assert message.inbound.event == Command(name="start", args=made["code"])


def test_the_templates_for_meta_in_every_language_meta_offers(operator, capsys) -> None:  # noqa: ANN001
    from bot import cli

    assert cli.main(["whatsapp", "templates"]) == 0
    captured = capsys.readouterr()
    made = {t["language"]: t for t in json.loads(captured.out)}
    assert set(made) == {"en", "nl", "tr", "ar", "pl", "uk", "fa"}
    assert made["tr"]["name"] == render.TEMPLATE_NAME and made["tr"]["category"] == "UTILITY"
    assert "Wijkbrug" in made["tr"]["components"][0]["text"] and "yanıt" in made["tr"]["components"][0]["text"]
    assert "so, ti" in captured.err and "(nl)" in captured.err


def test_i18n_check_warns_of_labels_too_long_for_a_whatsapp_button(capsys) -> None:  # noqa: ANN001
    from bot import cli, i18n_check

    long = i18n_check.long_labels()
    assert long and all("WhatsApp buttons show 20" in line for line in long)
    assert any("Toestemming intrekken" in line for line in long)  # nl, 21 characters
    assert cli.main(["i18n", "check"]) == 0
    assert "warning: locales/nl/LC_MESSAGES/wijkbrug.po" in capsys.readouterr().err


def test_labels_alike_in_their_first_20_characters_go_as_a_list_with_the_whole_label() -> None:
    alike = [[{"id": "t|yes", "label": "Anne veya baba kabul ediyor"}],
             [{"id": "t|no", "label": "Anne veya baba kabul etmiyor"}]]
    [message] = render.messages(BSUID, "say", {"text": "Onay?", "buttons": alike}, "Seçin")
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert message["interactive"]["type"] == "list"
    assert [r["description"] for r in rows] == ["Anne veya baba kabul ediyor", "Anne veya baba kabul etmiyor"]
