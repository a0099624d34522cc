"""The demo's WhatsApp people (issue 17): the WhatsApp channel's real sender (bot/whatsapp_send.py, with
its 24-hour window in db/whatsapp.py on the demo's clock) renders each stored message as Cloud API
payloads (bot/whatsapp_render.py); instead of posting them to Meta it hands them to `ConsoleWhatsApp`,
which prints each as the phone shows it, labelled with its reader:

    📱 Yusuf: Lütfen soruyu kontrol edin:       a text message (further lines indented)
        [1] Kaydet  [2] Değişiklik yap  [3] İptal     reply buttons, titles cut to 20 characters (…)
    📱 Yusuf: Aile, Emre Kocabaş ile nasıl görüşecek?
        ☰ Seçin                                 a list message: its button, then its rows; a row's
        [1] Anne veya baba, uzmanı… — Anne veya baba, uzmanı arar     title cut to 24, the whole label
    📱 Yusuf: ▣ template wijkbrug_new_message (tr): Wijkbrug'da yeni bir mesajınız var. …
                                                the one template Meta lets through a closed window

What the person does goes the other way as Meta would send it: a webhook's `messages` change
(text, a reply button's or a list row's id) parsed by bot/whatsapp_updates.py and stored by the
webhook's own intake (bot/whatsapp_webhook.Intake.store: the inbox under its wamid, the window opened,
what was held made due); the phone reports each message `delivered` the same way. This is the
demo's channel, not a stand-in for tests: tests use the fake Graph API (tests/fakegraphapi.py).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import whatsapp_render
from bot.i18n import Catalogs
from bot.whatsapp_updates import Status, parse
from bot.whatsapp_webhook import Intake
from db.connection import Connection, Patience, keep_trying

if TYPE_CHECKING:
    from bot.console import ConsolePerson

LABEL = "📱"
DEMO_MEDIA = {"photo": ("image", "image/jpeg", ""), "document": ("document", "application/pdf", "letter.pdf")}
DEMO_MEDIA_SIZE = 80_000  # what Meta's GET /{media id} would say of the invented file


@dataclass
class ConsoleWhatsApp:
    write: Callable[..., None]  # the console's: respects its quiet time and the clock's heading
    catalogs: Catalogs
    people: dict[str, ConsolePerson] = field(default_factory=dict)  # WhatsApp address -> the demo's ConsolePerson
    lists: set[int] = field(default_factory=set)  # message ids that were list messages (rows, not buttons)
    shown: list[tuple[str, str]] = field(default_factory=list)  # (wamid, address) the phones have, not yet reported
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """One Cloud API message payload, shown as the phone shows it; Meta's answer (its wamid)."""
        address = str(payload.get("to") or payload.get("recipient") or "")
        person = self.people.get(address)
        name = person.name if person is not None else f"({address})"
        number = next(self._ids)
        kind = payload["type"]
        if kind == "text":
            self._text(name, person, number, payload["text"]["body"])
        elif kind == "interactive":
            self._interactive(name, person, number, payload["interactive"])
        elif kind == "template":
            code = payload["template"]["language"]["code"]
            words = self.catalogs.render(whatsapp_render.TEMPLATE_TEXT, code)
            self.write(f"{LABEL} {name}: ▣ template {payload['template']['name']} ({code}): {words}")
        elif kind in ("image", "document"):
            media = "photo" if kind == "image" else "document"
            self.write(f"📎 {name}: {media} “{payload[kind].get('caption', '')}”")
        wamid = f"wamid.demo-{secrets.token_hex(6)}"
        self.shown.append((wamid, address))
        return {"messaging_product": "whatsapp", "messages": [{"id": wamid}]}

    async def report(self, conn: Connection, clock: Callable[[], datetime], patience: Patience) -> None:
        """The phones say what they got: a `delivered` status for each message shown, through the
        webhook's intake (which forgets the copy the sender kept in case of a late failure)."""
        if not self.shown:
            return
        statuses = [Status(wamid=wamid, status="delivered", address=address, codes=()) for wamid, address in self.shown]
        self.shown = []
        intake = Intake(conn, b"", "", clock, lambda: None, patience)
        await keep_trying("console", lambda: intake.store([], statuses), patience)

    def _text(self, name: str, person: ConsolePerson | None, number: int, body: str) -> None:
        if person is not None:
            person.messages[number] = body
        first, *rest = body.split("\n")
        self.write(f"{LABEL} {name}: {first}", *(f"  {line}".rstrip() for line in rest))

    def _interactive(self, name: str, person: ConsolePerson | None, number: int, interactive: dict[str, Any]) -> None:
        self._text(name, person, number, interactive["body"]["text"])
        action = interactive["action"]
        if interactive["type"] == "button":
            rows = [[(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]]
            self.write("    " + "  ".join(f"[{n}] {title}" for n, (title, _) in enumerate(rows[0], 1)))
        else:
            self.lists.add(number)
            found = [row for section in action["sections"] for row in section["rows"]]
            rows = [[(row["title"], row["id"])] for row in found]
            self.write(f"    ☰ {action['button']}", *(
                f"    [{n}] {row['title']}" + (f" — {row['description']}" if row.get("description") else "")
                for n, row in enumerate(found, 1)
            ))
        if person is not None:
            person.buttons[number] = rows


def webhook(address: str, name: str, message: dict[str, Any]) -> dict[str, Any]:
    """One inbound message as Meta's webhook carries it, from a person known by their business-scoped id."""
    wamid = f"wamid.demo-in-{secrets.token_hex(8)}"
    contact = {"profile": {"name": name}, "user_id": address}
    value = {"messaging_product": "whatsapp", "contacts": [contact],
             "messages": [{"from_user_id": address, "id": wamid, "type": message["type"], **message["content"]}]}
    return {"object": "whatsapp_business_account", "entry": [{"id": "demo", "changes": [
        {"field": "messages", "value": value}]}]}


def typed(text: str) -> dict[str, Any]:
    return {"type": "text", "content": {"text": {"body": text}}}


def pressed(message_id: int, lists: set[int], title: str, data: str) -> dict[str, Any]:
    """A press on a reply button or a list row: its id (the one the renderer gave it) comes back."""
    if message_id in lists:
        return {"type": "interactive", "content": {"interactive": {
            "type": "list_reply", "list_reply": {"id": data, "title": title}}}}
    return {"type": "interactive", "content": {"interactive": {
        "type": "button_reply", "button_reply": {"id": data, "title": title}}}}


def sent_file(media: str) -> dict[str, Any]:
    kind, mime, filename = DEMO_MEDIA[media]
    content: dict[str, Any] = {"id": f"demo-{kind}-{secrets.token_hex(4)}", "mime_type": mime}
    if filename:
        content["filename"] = filename
    return {"type": kind, "content": {kind: content}}


async def receive(
    conn: Connection, clock: Callable[[], datetime], patience: Patience, address: str, name: str,
    message: dict[str, Any],
) -> None:
    """What the webhook does with a message (bot/whatsapp_webhook.py): parsed, and stored by the intake."""

    async def size(_: str) -> int:
        return DEMO_MEDIA_SIZE

    intake = Intake(conn, b"", "", clock, lambda: None, patience, size_of=size)
    messages, statuses = parse(webhook(address, name, message))
    messages = [await intake.sized(m) for m in messages]
    await keep_trying("console", lambda: intake.store(messages, statuses), patience)
