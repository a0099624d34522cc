"""Operator settings, from the environment (prefix WIJKBRUG_) or a .env file in the working folder.

The environment wins over the .env file, and names are not case-sensitive, as with the usual
dotenv tools. A value that is not valid stops Wijkbrug with an error naming the variable and,
for the .env file, the line: `SettingsProblem`. Read here rather than with pydantic-settings,
which cost 4.6 MB of the bot's memory (its sources for cloud vaults and config formats are
imported whether used or not) and reported a bad .env value without its line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

PREFIX = "WIJKBRUG_"
ENV_FILE = Path(".env")
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class SettingsProblem(Exception):
    """A setting the operator gave is not valid; the message names where it came from."""


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False)

    telegram_token: SecretStr | None = None
    # The Bot API base URL prefix; the token is appended. Tests point it at a local fake server.
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    # Used for invite links when the bot has not yet met Telegram (no getMe stored).
    bot_username: str | None = None
    database: Path = Path("data/wijkbrug.sqlite3")
    default_locale: str = "nl"
    timezone: str = "Europe/Amsterdam"
    invite_days: int = 14
    # Webhook mode (`wijkbrug run --webhook URL`): where the local server listens, and the secret
    # Telegram sends in X-Telegram-Bot-Api-Secret-Token (made and kept in the database if unset).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None
    # Outgoing pace: Telegram allows about 30 messages a second overall and 1 a second per chat.
    send_per_second: float = 25
    chat_per_second: float = 1
    # Long-poll timeout for getUpdates, in seconds.
    poll_timeout: int = 25
    # Working hours without an answer before a member is reminded; twice this, the team's
    # coordinator is alerted. Weekends and Dutch public holidays do not count.
    reminder_hours: float = 16
    # The key that encrypts personal data at rest (Fernet, comma-separated newest first), or the
    # file it is kept in (created with mode 0600 beside a new database).
    secret_key: SecretStr | None = None
    # Flood protection: messages per minute per person (after a burst of 10) before they are slowed.
    flood_per_minute: float = 30
    # Days after which a closed handover's personal data, and a question's free text, are erased.
    retention_days: int = 90
    text_retention_days: int = 180
    key_file: Path | None = None

    def __init__(self, **given: Any) -> None:
        """Values given here win; the others come from the environment, then the .env file."""
        found = read(os.environ, ENV_FILE)
        values = {name: value for name, (value, _) in found.items()}
        try:
            super().__init__(**(values | given))
        except ValidationError as exc:
            raise SettingsProblem(describe(exc, found)) from None

    def key_path(self) -> Path:
        return self.key_file or self.database.with_suffix(".key")


def read(environ: Mapping[str, str], env_file: Path) -> dict[str, tuple[str, str]]:
    """{field: (value, where it came from)} for every known setting that is set."""
    fields = Settings.model_fields
    found: dict[str, tuple[str, str]] = {}
    if env_file.is_file():
        for number, line in enumerate(env_file.read_text("utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = _LINE.match(line)
            if match is None:
                raise SettingsProblem(f"{env_file}, line {number}: expected NAME=value")
            name, value = match.group(1).upper(), _unquote(match.group(2), env_file, number)
            if name.startswith(PREFIX) and name[len(PREFIX):].lower() in fields:
                found[name[len(PREFIX):].lower()] = (value, f"{env_file}, line {number}")
    for name, value in environ.items():
        key = name.upper()
        if key.startswith(PREFIX) and key[len(PREFIX):].lower() in fields:
            found[key[len(PREFIX):].lower()] = (value, "the environment")
    return found


def unknown(environ: Mapping[str, str]) -> list[str]:
    """WIJKBRUG_ variables that are no setting (a typo would otherwise pass unnoticed)."""
    internal = {"WIJKBRUG_UPDATE_GOLDEN", "WIJKBRUG_PROFILE"}  # the tests' and the benchmark's own
    return sorted(
        name for name in environ
        if name.upper().startswith(PREFIX) and name.upper() not in internal
        and name.upper()[len(PREFIX):].lower() not in Settings.model_fields
    )


def _unquote(value: str, env_file: Path, number: int) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end == -1:
            raise SettingsProblem(f"{env_file}, line {number}: the value's closing {quote} is missing")
        return value[1:end]
    return value.split(" #", 1)[0].rstrip()  # an unquoted value may be followed by a comment


def describe(exc: ValidationError, found: Mapping[str, tuple[str, str]]) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        where = found.get(field, (None, "given"))[1]
        problems.append(f"{where}: {PREFIX}{field.upper()}: {error['msg']}")
    return "; ".join(problems)
