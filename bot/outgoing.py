"""What the outbox holds: rendered, channel-neutral messages for a person.

A flow says *what* to tell *whom* (flows.model.Message, in source strings); rendering (bot/rendering.py)
turns it into one of these, in the reader's language, and stores it in the outbox. Each channel's
sender turns a stored message into its own calls when it is delivered: Telegram into sendMessage
with an inline keyboard, editMessageText and answerCallbackQuery; the console into lines on the
terminal; later WhatsApp (which cannot edit a message) and e-mail. Nothing here knows a channel's API.

The kinds:
    say       text, with buttons (each an id the channel hands back when it is pressed, and a label),
              a file the bot made (a chart, an export), a file a person sent (forwarded by the
              channel's own reference), or a person the reader may write to in one tap; and a
              `notice` (kind, code, organisation) for a channel that only notifies (e-mail)
    chosen    the choice made on an earlier prompt: "replace the prompt `ref` by this text"
              (a channel that cannot edit may show it as a new line, or not at all)
    answer    the answer to a press (`press`: the channel's id of it), with a short notice or none
    menu      the commands this person can use, with what each does, for the channel's menu

They are plain JSON-ready dicts (TypedDicts): one is built per message on the hot path, and
stored and read back as JSON.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Kind = Literal["say", "chosen", "answer", "menu"]
KINDS: frozenset[str] = frozenset({"say", "chosen", "answer", "menu"})
# Kinds that are no message to the person and do not count against a channel's rate limits.
UNPACED: frozenset[str] = frozenset({"answer"})


class Button(TypedDict):
    id: str  # what a press hands back (flows.callbacks encodes it)
    label: str


class File(TypedDict):
    """A file the bot made for this reader."""

    kind: Literal["photo", "document"]
    name: str
    data: str  # base64


class Forwarded(TypedDict):
    """A file a person sent, by the reference of the channel it came through."""

    media: str  # photo, document
    ref: str
    channel: str


class Person(TypedDict):
    """Someone the reader may write to in one tap, where their channel can link to them."""

    name: str
    channel: str
    address: str


class Notice(TypedDict):
    """For a channel that only notifies (e-mail): what kind of news a message is, without personal
    data (flows.model.Notice). Chat channels ignore it."""

    kind: str
    code: str
    org: str


class Say(TypedDict):
    text: str
    buttons: NotRequired[list[list[Button]]]
    file: NotRequired[File]
    forwarded: NotRequired[Forwarded]
    person: NotRequired[Person]
    notice: NotRequired[Notice]


class Chosen(TypedDict):
    ref: str  # the channel's id of the prompt whose button was pressed
    text: str  # the prompt with the choice under it


class Answer(TypedDict):
    press: str
    notice: NotRequired[str]


class MenuEntry(TypedDict):
    command: str
    description: str


class Menu(TypedDict):
    commands: list[MenuEntry]


Body = Say | Chosen | Answer | Menu


def say(text: str, buttons: list[list[Button]] | None = None) -> Say:
    message: Say = {"text": text}
    if buttons:
        message["buttons"] = buttons
    return message


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text at paragraph (else line, else any) boundaries into pieces within `limit`."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces
