"""`wijkbrug run` on PostgreSQL refuses to long-poll Telegram unless told it is the only instance
(two pollers on one token get 409 Conflict): the operator is told the setting and the webhook."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.cli_run import polling_refused
from bot.settings import Settings
from tests.test_e2e_telegram import Wijkbrug, reply_containing, wijkbrug  # noqa: F401 - the fixture

URL = "postgresql://wijkbrug@127.0.0.1:1/wijkbrug"  # never reached: the refusal comes first


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder
    monkeypatch.setenv("WIJKBRUG_DATABASE", URL)
    monkeypatch.setenv("WIJKBRUG_KEY_FILE", str(tmp_path / "wijkbrug.key"))
    monkeypatch.setenv("WIJKBRUG_TELEGRAM_TOKEN", "123:TEST")
    monkeypatch.delenv("WIJKBRUG_ONLY_INSTANCE", raising=False)
    return tmp_path


def test_polling_on_postgresql_is_refused_naming_the_setting_and_the_webhook(on_postgresql, capsys) -> None:
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "WIJKBRUG_DATABASE is PostgreSQL" in err and "409 Conflict" in err
    assert "--webhook URL" in err and "--only-instance" in err and "WIJKBRUG_ONLY_INSTANCE=1" in err
    assert not (on_postgresql / "wijkbrug.key").exists()  # refused before anything was opened or made


def test_which_forms_may_poll(on_postgresql) -> None:
    pg = Settings()
    assert polling_refused(pg, None) is not None
    assert polling_refused(pg, "https://bot.example.org/telegram") is None  # a webhook: any number of instances
    assert polling_refused(pg.model_copy(update={"only_instance": True}), None) is None
    assert polling_refused(pg.model_copy(update={"telegram_token": None}), None) is None  # no Telegram: no poller
    sqlite = Settings(database=on_postgresql / "wijkbrug.sqlite3")
    assert polling_refused(sqlite, None) is None  # SQLite: one instance by nature


@pytest.mark.parametrize("told", ["flag", "setting"])
async def test_the_only_instance_polls_on_postgresql(wijkbrug: Wijkbrug, told: str) -> None:  # noqa: F811
    """Told by `--only-instance` or by WIJKBRUG_ONLY_INSTANCE=1, the bot polls and answers."""
    wijkbrug.env.pop("WIJKBRUG_ONLY_INSTANCE")
    if told == "flag":
        await wijkbrug.start("--only-instance")
    else:
        wijkbrug.env["WIJKBRUG_ONLY_INSTANCE"] = "1"
        await wijkbrug.start()
    wijkbrug.api.user_sends(5301, "/start made-up-code", language_code="en")
    await reply_containing(wijkbrug.api, 5301, "does not work")
    assert any(poll["ended"] for poll in wijkbrug.api.polls)  # it long-polled
    assert await wijkbrug.stop() == 0, wijkbrug.logs()[-2000:]
