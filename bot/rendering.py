"""Flows' messages rendered for each recipient, in their language, as channel-neutral messages
(bot/outgoing.py) stored in the outbox for the person, at the address they are reached on.

A revoked person gets nothing more (no case content, no reminder, no relayed note); a message for
the coordinators of a scope that has none yet is held (db/alerts.py) until one registers. A text
longer than the person's channel allows is cut into several messages at paragraph boundaries,
the buttons under the last; a file's caption is cut to what the channel shows.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from bot import outgoing
from bot.context import Work
from bot.export import to_csv
from bot.whatsapp_updates import MEDIA_PREFIX
from db import alerts, outbox, users
from db.users import Account
from flows import summary
from flows.model import Message, ToCoordinators, ToUser
from flows.text import Text, t


@dataclass(frozen=True)
class Limits:
    text: int = 4096  # Telegram's limit for one message
    caption: int = 1024


# What one message may hold on each channel (a channel without an entry: the default).
LIMITS: dict[str, Limits] = {"telegram": Limits()}


def limits(channel: str) -> Limits:
    return LIMITS.get(channel, Limits())


async def deliver(work: Work, message: Message) -> None:
    """Render `message` for each of its recipients, in their own language, into the outbox."""
    conn = work.conn
    if isinstance(message.to, ToUser):
        account = await work.account(message.to.user_id)
        recipients = [account] if account is not None and not account.revoked_at else []
    else:
        assert isinstance(message.to, ToCoordinators)
        recipients = await users.coordinators(conn, message.to.scope)
        if not recipients:
            await alerts.hold(conn, message.to.scope, message, work.core.clock())
            return
    for account in recipients:
        await _render_for(work, account, message)


async def _render_for(work: Work, account: Account, message: Message) -> None:
    catalogs = work.core.catalogs
    language = account.language
    text = catalogs.render_parts(message.parts, language)
    fits = limits(work.address_of(account)[0])
    if message.upload is not None:
        file = await _file(work, account, message)
        if file is None:  # the chart could not be drawn: the summary's text has gone before; say so
            missing = t("The chart could not be drawn this time; the summary above has all its figures.")
            await store(work, account, "say", outgoing.say(catalogs.render(missing, language)))
            return
        body: outgoing.Say = {"text": text[: fits.caption], "file": file}
        await store(work, account, "say", body)
        return
    if message.attachment is not None:
        media = "photo" if message.attachment.media == "photo" else "document"
        # Telegram's references are good for any chat of the bot; WhatsApp's media ids carry a prefix.
        ref, channel = message.attachment.file_id, "telegram"
        if ref.startswith(MEDIA_PREFIX):
            ref, channel = ref.removeprefix(MEDIA_PREFIX), "whatsapp"
        forwarded: outgoing.Forwarded = {"media": media, "ref": ref, "channel": channel}
        await store(work, account, "say", {"text": text[: fits.caption], "forwarded": forwarded})
        return
    buttons = [[{"id": b.data, "label": catalogs.render(b.label, language)} for b in row] for row in message.buttons]
    person: outgoing.Person | None = None
    if message.reach is not None and (reach := await work.account(message.reach)) is not None:
        person = {"name": reach.display_name, "channel": reach.channel, "address": reach.chat_id}
    pieces = outgoing.split_text(text, fits.text)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        body = outgoing.say(piece, buttons if last else None)
        if person is not None and last:
            body["person"] = person  # after the text, where the channel can link to them
        if message.notice is not None and last:
            body["notice"] = {"kind": message.notice.kind, "code": message.notice.code, "org": message.notice.org}
        await store(work, account, "say", body)


async def _file(work: Work, account: Account, message: Message) -> outgoing.File | None:
    """A chart or an export, made for this reader in their language; None: the chart could not be drawn.
    The chart is drawn in a child process (bot/charts.py `drawn`), inside this update's transaction,
    as every reply is: about a second of holding the write lock (docs/performance.md), during which
    the event loop runs on (the other connections' writers wait, asynchronously)."""
    upload = message.upload
    assert upload is not None
    report = summary.Report.model_validate(upload.report)
    if upload.kind == "chart":
        from bot.charts import drawn  # pydantic models only: matplotlib is loaded in the child

        data = await drawn(report, work.core.catalogs, account.language)
        if data is None:
            return None
        return {"kind": "photo", "name": "summary.png", "data": base64.b64encode(data).decode("ascii")}
    data = to_csv(list(upload.rows), upload.excel, work.core.catalogs.timezone)
    return {
        "kind": "document",
        "name": f"wijkbrug-{report.week.label}.csv",
        "data": base64.b64encode(data).decode("ascii"),
    }


async def store(work: Work, account: Account, kind: str, body: outgoing.Body) -> None:
    channel, address = work.address_of(account)
    await outbox.enqueue(work.conn, channel, address, kind, body, work.core.clock(), account.id)


async def say_to(work: Work, channel: str, address: str, text: Text, language: str) -> None:
    """A short text to an address that may be nobody's yet (a stranger), in `language`."""
    rendered = work.core.catalogs.render(text, language)
    await outbox.enqueue(work.conn, channel, address, "say", outgoing.say(rendered), work.core.clock())


async def answer_press(work: Work, channel: str, address: str, press: str, notice: str | None) -> None:
    """A press is answered (on Telegram: its button stops spinning, and a notice shows). With a
    channel that can send at once (`send_now`), the answer goes out once the update is committed,
    beside the outbox: it is no use later, so it needs no durability; through the outbox each cost a
    sealed row, its delete and a scan (a quarter of all rows). Otherwise it is stored first among
    what the update sends, keyed to the address so it keeps its place among its other messages."""
    body: outgoing.Answer = {"press": press}
    if notice:
        body["notice"] = notice
    if work.core.send_now is not None:
        work.answers.append((channel, address, dict(body)))
    else:
        await outbox.enqueue(work.conn, channel, address, "answer", body, work.core.clock())


async def chosen(work: Work, account: Account, ref: str, prompt: str, choice: Text) -> None:
    """The pressed prompt shows the choice under it, and loses its buttons: the chat reads as a record."""
    fresh = await work.account(account.id) or account
    label = work.core.catalogs.render(choice, fresh.language)
    body: outgoing.Chosen = {"ref": ref, "text": f"{prompt}\n\n✓ {label}"}
    await store(work, account, "chosen", body)


async def publish_menu(work: Work, account: Account, helps: dict[str, Text], commands: tuple[str, ...]) -> None:
    """The command menu of this person's role, in their language, for them only."""
    render = work.core.catalogs.render
    entries: list[outgoing.MenuEntry] = [
        {"command": name, "description": render(helps[name], account.language)} for name in commands
    ]
    await store(work, account, "menu", {"commands": entries})
