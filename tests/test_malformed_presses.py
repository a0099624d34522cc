"""Malformed or forged button data is answered as an expired button and changes nothing."""

from __future__ import annotations

import pytest

from db import conversations, inbox
from tests import updates
from tests.test_runner import feed, invite, runner, sent  # noqa: F401 - the fixture


@pytest.mark.parametrize(
    "data",
    [
        "x", "|||", "|", ":::", "", "\x00\x01", "y" * 64, "ÿ" * 64,
        "1|no-such-value", "2|", "2|yes|more",  # the current prompt's token, a value it does not offer
        "c:", "c:::1", "c:H-AAAAAA:show:x",
        "c:H-AAAAAA:show:²", "c:H-AAAAAA:accept:¹", "c:H-AAAAAA:show:٣",  # digits int() refuses, or not ASCII
        "c:H-AAAAAA:show:99999999999999999999",
    ],
)
async def test_malformed_button_data_is_answered_as_expired_and_changes_nothing(runner, conn, data: str) -> None:  # noqa: F811
    await feed(runner, updates.message(930, f"/start {await invite(runner)}", language_code="en"))
    await feed(runner, updates.message(930, "/new"))
    before = await conversations.load(conn, 1)
    await sent(runner)
    await feed(runner, updates.press(930, 3, data, language_code="en"))
    calls = await sent(runner)
    assert [c[1] for c in calls] == ["answerCallbackQuery"]
    assert calls[0][2]["text"] == "This choice has expired. Please use the latest message."
    assert await conversations.load(conn, 1) == before
    assert list((await inbox.outcomes(conn, "telegram")).values())[-1] == "handled"
