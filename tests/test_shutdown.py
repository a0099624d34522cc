"""`wijkbrug run` stopped by SIGTERM (systemd, docker stop) ends cleanly: no warnings, exit 0."""

from __future__ import annotations

from tests.test_e2e_telegram import Wijkbrug, reply_containing, wijkbrug  # noqa: F401 - the fixture

VOLUNTEER = 4100


async def test_sigterm_closes_the_http_sessions_and_the_databases(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    api = wijkbrug.api
    await wijkbrug.start()
    api.user_sends(VOLUNTEER, "/start no-such-code", language_code="en")
    await reply_containing(api, VOLUNTEER, "does not work")
    await api.wait_for(lambda a: a.polls_waiting == 1, timeout=20)  # a long poll is in flight when the signal comes
    assert await wijkbrug.stop() == 0
    logs = wijkbrug.logs()
    assert "stopped" in logs
    assert "Unclosed" not in logs and "Traceback" not in logs and "Task was destroyed" not in logs, logs


async def test_sigterm_while_telegram_cannot_be_reached_yet_closes_the_http_sessions(wijkbrug: Wijkbrug) -> None:  # noqa: F811
    api = wijkbrug.api
    api.fail_next("getMe", status=502, times=50)  # the bot keeps trying to meet Telegram
    await wijkbrug.start()
    # the signal comes while it waits to try again: after a refused second try
    await api.wait_for(lambda a: sum(c["method"] == "getMe" for c in a.calls) >= 2, timeout=20)
    assert await wijkbrug.stop() == 0
    logs = wijkbrug.logs()
    assert "cannot reach Telegram" in logs and "stopped" in logs
    assert "Unclosed" not in logs and "Traceback" not in logs, logs
