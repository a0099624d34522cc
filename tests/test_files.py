"""Attachments: only files a wijkteam member can safely open are passed on (flows/files.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.directory_file import load, sample_path
from bot.i18n import Catalogs
from bot.updates import parse
from flows import session
from flows.model import Attachment, Env, Role, User
from flows.state import Conversation, Request, Saved, Step
from tests import updates

CATALOGS = Catalogs()
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
ENV = Env(
    now=NOW, today=NOW.date(), new_code="Q-TEST", new_case_id="H-TEST01", languages=CATALOGS.languages,
    directory=load(sample_path()).directory, reachable={"c-overvecht-2": 2},
)
VOLUNTEER = User(id=1, role=Role.VOLUNTEER, org_id="lantaarn", language="en", name="Sara")
AT_ATTACH = Conversation(
    step=Step.ATTACH,
    token=7,
    saved=Saved(code="Q-TEST", theme="school", parent_language="tr", urgent=False, wijk="overvecht"),
    request=Request(
        contact_id="c-overvecht-2", way="parent_calls", consent_language="tr", first_name="Fatma", phone="+31612345678"
    ),
)
MB = 1024 * 1024


def document(name: str | None, mime: str | None, size: int | None) -> dict:
    """A Telegram update with a document, as a volunteer's phone sends it (invented values)."""
    update = updates.message(500, "x")
    message = update["message"]
    del message["text"]
    doc = {"file_id": "BQAC-invented", "file_unique_id": "u1"}
    for key, value in (("file_name", name), ("mime_type", mime), ("file_size", size)):
        if value is not None:
            doc[key] = value
    message["document"] = doc
    return update


def photo(size: int | None) -> dict:
    update = updates.message(500, "x")
    message = update["message"]
    del message["text"]
    sizes = [
        {"file_id": "AgAC-small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 2000},
        {"file_id": "AgAC-big", "file_unique_id": "b", "width": 800, "height": 800},
    ]
    if size is not None:
        sizes[1]["file_size"] = size
    message["photo"] = sizes
    return update


def attach(update: dict) -> tuple[Attachment, session.Transition]:
    inbound = parse(update)
    assert inbound is not None and isinstance(inbound.event, Attachment)
    return inbound.event, session.step(AT_ATTACH, VOLUNTEER, inbound.event, ENV)


def test_telegram_tells_the_flows_a_documents_name_type_and_size() -> None:
    event, _ = attach(document("brief.pdf.exe", "application/x-msdownload", 2 * 1024 * MB))
    assert (event.media, event.file_id, event.file_name, event.mime_type, event.size) == (
        "document", "BQAC-invented", "brief.pdf.exe", "application/x-msdownload", 2 * 1024 * MB,
    )
    event, _ = attach(photo(123_456))
    assert (event.media, event.file_id, event.size) == ("photo", "AgAC-big", 123_456)


@pytest.mark.parametrize(
    ("update", "refusal"),
    [
        (document("brief.pdf.exe", "application/x-msdownload", 2 * 1024 * MB), "I cannot pass on this kind of file"),
        (
            document("brief.pdf.exe", "application/pdf", 80_000),
            "I cannot pass on this kind of file",
        ),  # the name decides too
        (
            document("brief.pdf", "application/x-msdownload", 80_000),
            "I cannot pass on this kind of file",
        ),  # and the type
        (document("setup.sh", "text/x-shellscript", 800), "I cannot pass on this kind of file"),
        (document(None, None, 800), "I cannot pass on this kind of file"),
        (document("brief.pdf", "application/pdf", 21 * MB), "This file is too large to pass on: at most 20 MB."),
        (document("brief.pdf", "application/pdf", None), "This file is too large to pass on"),  # size unknown
        (photo(25 * MB), "This file is too large to pass on: at most 20 MB."),
    ],
)
def test_a_file_a_member_cannot_safely_open_is_refused_and_nothing_changes(update: dict, refusal: str) -> None:
    _, moved = attach(update)
    assert moved.state == AT_ATTACH and moved.effects == ()
    [message] = moved.messages
    text = CATALOGS.render_parts(message.parts, "en")
    assert text.startswith(refusal), text
    assert CATALOGS.render_parts(message.parts, "tr") != text  # translated


@pytest.mark.parametrize(
    "update",
    [
        document("Brief van school.PDF", "application/pdf", 300_000),
        document("formulier.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 40_000),
        document("scan.jpg", "image/jpeg", 20 * MB),
        photo(None),
        photo(900_000),
    ],
)
def test_photos_pdfs_and_office_documents_within_20_mb_are_taken(update: dict) -> None:
    event, moved = attach(update)
    assert moved.state.step is Step.SEND
    assert moved.state.request is not None and moved.state.request.attachment_file == event.file_id
