"""Operator settings: the environment, then a .env file; a bad value is named with its source
(for the .env file, its line) and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli
from bot.settings import Settings, SettingsProblem, load, unknown


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.upper().startswith("WIJKBRUG_"):
            monkeypatch.delenv(name)
    return tmp_path


def test_defaults_without_environment_or_file(folder: Path) -> None:
    settings = Settings()
    assert settings.telegram_token is None
    assert settings.database == Path("data/wijkbrug.sqlite3")
    assert settings.key_path() == Path("data/wijkbrug.key")
    assert settings.send_per_second == 25 and settings.invite_days == 14


def test_the_env_file_is_read_and_the_environment_wins(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / ".env").write_text(
        "# invented settings for a test\n"
        "\n"
        "export WIJKBRUG_TELEGRAM_TOKEN='123:FROM-FILE'\n"
        'WIJKBRUG_DATABASE = "store/bot.sqlite3"\n'
        "wijkbrug_invite_days=7  # a week\n"
        "WIJKBRUG_REMINDER_HOURS=8\n"
        "OTHER_PROGRAM_SETTING=left alone\n",
        "utf-8",
    )
    monkeypatch.setenv("WIJKBRUG_REMINDER_HOURS", "4.5")
    settings = Settings()
    assert settings.telegram_token is not None and settings.telegram_token.get_secret_value() == "123:FROM-FILE"
    assert settings.database == Path("store/bot.sqlite3")
    assert settings.invite_days == 7
    assert settings.reminder_hours == 4.5


def test_a_value_given_in_code_wins_over_both(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIJKBRUG_INVITE_DAYS", "3")
    assert Settings(invite_days=30).invite_days == 30


def test_a_bad_value_in_the_env_file_names_the_file_line_and_variable(folder: Path) -> None:
    (folder / ".env").write_text("WIJKBRUG_DATABASE=x.sqlite3\nWIJKBRUG_INVITE_DAYS=two weeks\n", "utf-8")
    with pytest.raises(SettingsProblem) as problem:
        load()
    message = str(problem.value)
    assert message.startswith(".env, line 2: WIJKBRUG_INVITE_DAYS: ")
    assert "integer" in message


def test_a_bad_value_in_the_environment_is_named(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIJKBRUG_SEND_PER_SECOND", "fast")
    with pytest.raises(SettingsProblem, match=r"^the environment: WIJKBRUG_SEND_PER_SECOND: .*number"):
        load()


def test_a_secret_never_appears_in_the_error(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIJKBRUG_TELEGRAM_TOKEN", "123:INVENTED-SECRET")
    monkeypatch.setenv("WIJKBRUG_POLL_TIMEOUT", "never")
    with pytest.raises(SettingsProblem) as problem:
        load()
    assert "INVENTED-SECRET" not in str(problem.value) and "never" not in str(problem.value)


def test_unknown_variables_are_listed() -> None:
    environ = {"WIJKBRUG_TELEGRAM_TOKN": "x", "WIJKBRUG_DATABASE": "y", "WIJKBRUG_PROFILE": "z", "HOME": "/"}
    assert unknown(environ) == ["WIJKBRUG_TELEGRAM_TOKN"]


def test_the_cli_stops_with_the_problem_and_no_traceback(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / ".env").write_text("WIJKBRUG_WEBHOOK_PORT=eighty\n", "utf-8")
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wijkbrug: .env, line 1: WIJKBRUG_WEBHOOK_PORT: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_when_a_variable_is_in_both_the_environment_s_bad_value_is_the_one_named(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / ".env").write_text("WIJKBRUG_INVITE_DAYS=7\n", "utf-8")
    monkeypatch.setenv("WIJKBRUG_INVITE_DAYS", "seven")
    with pytest.raises(SettingsProblem, match=r"^the environment: WIJKBRUG_INVITE_DAYS: "):
        load()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("WIJKBRUG_DEFAULT_LOCALE", "de", "not a shipped language; use one of ar, en, fa, nl, pl, so, ti, tr, uk"),
        ("WIJKBRUG_TIMEZONE", "Europe/Amsterdm", "not a time zone of the IANA database, such as Europe/Amsterdam"),
        ("WIJKBRUG_TIMEZONE", "../../etc/passwd", "not a time zone"),
    ],
)
def test_a_language_that_is_not_shipped_or_an_unknown_time_zone_is_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsProblem, match=rf"^the environment: {name}: {expected}"):
        load()
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (folder / "data").exists()  # nothing was created


def test_the_time_zone_set_is_the_one_the_bot_counts_days_and_shows_times_in(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIJKBRUG_TIMEZONE", "America/Kralendijk")  # Bonaire, a Dutch municipality too
    monkeypatch.setenv("WIJKBRUG_DEFAULT_LOCALE", "tr")
    monkeypatch.setenv("WIJKBRUG_TELEGRAM_TOKEN", "123:INVENTED")
    seen = {}

    class Bot:  # stands in for the Telegram bot: `wijkbrug run` hands it the catalogs it built
        def __init__(self, settings, catalogs, clock, webhook=None, **_) -> None:
            seen["catalogs"] = catalogs

        async def run(self, vault) -> None:
            return None  # a channel that ends stops `wijkbrug run`

    monkeypatch.setattr("bot.telegram.TelegramBot", Bot)
    assert cli.main(["run"]) == 0
    catalogs = seen["catalogs"]
    assert catalogs.timezone.key == "America/Kralendijk" and catalogs.default == "tr"
    from datetime import UTC, datetime

    from flows.text import plain, when

    # 02:00 UTC is still the evening before on Bonaire: times are shown in the zone set
    shown = catalogs.render(plain(when(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))), "en")
    assert "Nov 30" in shown and "10:00" in shown, shown


def test_the_web_page_s_settings_are_named_by_line_when_wrong(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / ".env").write_text(
        "# invented settings for a test\nWIJKBRUG_WEB_LISTEN=8080\nWIJKBRUG_PUBLIC_URL=wijkbrug.example.nl\n", "utf-8"
    )
    with pytest.raises(SettingsProblem) as problem:
        load()
    assert ".env, line 2: WIJKBRUG_WEB_LISTEN: not host:port" in str(problem.value)
    assert ".env, line 3: WIJKBRUG_PUBLIC_URL: not a web address" in str(problem.value)
    (folder / ".env").write_text("WIJKBRUG_WEB_LISTEN=127.0.0.1:8080\nWIJKBRUG_TELEGRAM_TOKEN=123:X\n", "utf-8")
    assert load().web_address() == ("127.0.0.1", 8080)
    assert cli.main(["run"]) == 2  # the page's links need the public address
    assert "WIJKBRUG_PUBLIC_URL is not" in capsys.readouterr().err


def test_whatsapp_settings_go_together_and_are_named_by_line(folder: Path) -> None:
    (folder / ".env").write_text(
        "# invented settings for a test\n"
        "WIJKBRUG_WHATSAPP_TOKEN=EAAG-invented-secret\n"
        "WIJKBRUG_WHATSAPP_PHONE_NUMBER_ID=12ab\n",
        "utf-8",
    )
    with pytest.raises(SettingsProblem) as problem:
        load()
    message = str(problem.value)
    assert ".env, line 3: WIJKBRUG_WHATSAPP_PHONE_NUMBER_ID: not a number" in message
    assert "WIJKBRUG_WHATSAPP_APP_SECRET: needed when WIJKBRUG_WHATSAPP_TOKEN is set" in message
    assert "WIJKBRUG_WHATSAPP_VERIFY_TOKEN: needed" in message and "WIJKBRUG_WHATSAPP_LISTEN: needed" in message
    assert "invented-secret" not in message and "12ab" not in message


def test_whatsapp_settings_when_complete(folder: Path) -> None:
    settings = Settings(
        whatsapp_token="invented-token", whatsapp_phone_number_id="106540352242922", whatsapp_app_secret="s3",
        whatsapp_verify_token="v", whatsapp_listen="127.0.0.1:8444", whatsapp_number="+31 6 0000 0000".replace(" ", ""),
    )
    assert settings.whatsapp_address() == ("127.0.0.1", 8444)
    assert settings.whatsapp_api_url == "https://graph.facebook.com/v21.0"
    assert "invented-token" not in repr(settings) and settings.whatsapp_number == "31600000000"
    assert Settings().whatsapp_address() is None
