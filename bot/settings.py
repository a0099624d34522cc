"""Operator settings, from the environment (prefix WIJKBRUG_) or a .env file in the working folder.

A value that is not valid stops Wijkbrug with `SettingsProblem`, whose message names the
variable and where it came from (for the .env file, the line), never the value itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "WIJKBRUG_"
ENV_FILE = Path(".env")


class SettingsProblem(Exception):
    """A setting the operator gave is not valid; the message names where it came from."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_file=ENV_FILE, extra="ignore")

    telegram_token: SecretStr | None = None
    # The Bot API base URL prefix; the token is appended. Tests point it at a local fake server.
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    # Used for invite links when the bot has not yet met Telegram (no getMe stored).
    bot_username: str | None = None
    # An SQLite file (a path, or sqlite:PATH), the default; or a postgresql:// URL (issue 18).
    database: Path | str = Path("data/wijkbrug.sqlite3")
    default_locale: str = "nl"
    timezone: str = "Europe/Amsterdam"
    invite_days: int = 14
    # Webhook mode (`wijkbrug run --webhook URL`): where the local server listens, and the secret
    # Telegram sends in X-Telegram-Bot-Api-Secret-Token (if unset, a new one for every run, kept in memory only).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None
    # Seconds a webhook connection may take to send a request's head, and again its body, and
    # may stay idle between requests; then it is closed.
    webhook_timeout: float = Field(default=10, gt=0)
    # On PostgreSQL several `wijkbrug run` may share the database, and two long-polling instances
    # get 409 Conflict from Telegram: polling needs this (or `--only-instance`), else use a webhook.
    only_instance: bool = False
    # Outgoing pace: Telegram allows about 30 messages a second overall and 1 a second per chat.
    send_per_second: float = 25
    chat_per_second: float = 1
    # How many `wijkbrug run` instances send for this bot at once (PostgreSQL, issue 18): Telegram's overall
    # limit is the bot's, not a process's, so each instance keeps to SEND_PER_SECOND divided by this.
    instances: int = Field(default=1, gt=0)
    # Chats one delivery worker sends to at once, each by a task of its own; more wait their turn.
    send_chats: int = Field(default=100, gt=0)
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
    key_file: Path | None = Field(default=None, validate_default=True)
    # The web page (issue 16; bot/web/): where `wijkbrug run` serves it, as host:port (off when
    # unset), behind the operator's HTTPS proxy (WIJKBRUG_PUBLIC_URL below is where people reach it).
    web_listen: str | None = None
    # E-mail notices for people without a chat app (docs/privacy.md, "E-mail"). Off while
    # WIJKBRUG_SMTP_HOST is unset; with it, WIJKBRUG_SMTP_FROM and WIJKBRUG_PUBLIC_URL are needed.
    # With a user and password the connection is encrypted first (STARTTLS; TLS on port 465).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = Field(default=None, validate_default=True)
    smtp_from: str | None = Field(default=None, validate_default=True)
    # Where people reach the web page (behind the operator's HTTPS proxy): links in e-mails start with it.
    public_url: str | None = Field(default=None, validate_default=True)
    # A person gets one e-mail per case in this many minutes, unless they opened the page since.
    email_quiet_minutes: float = Field(default=15, ge=0)

    # WhatsApp (Meta's WhatsApp Business Cloud API; bot/whatsapp_*.py): off while WIJKBRUG_WHATSAPP_TOKEN is
    # unset. With it: the business number's id, the app secret (signs the webhooks), the verify token (Meta's
    # GET check of the webhook), where `wijkbrug run` serves the webhook (host:port) and the number people
    # write to (digits, for the wa.me links of invites). The API's address is a setting for the tests.
    whatsapp_token: SecretStr | None = None
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str | None = Field(default=None, validate_default=True)
    whatsapp_app_secret: SecretStr | None = Field(default=None, validate_default=True)
    whatsapp_verify_token: SecretStr | None = Field(default=None, validate_default=True)
    whatsapp_listen: str | None = Field(default=None, validate_default=True)
    whatsapp_number: str | None = None

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, value: object) -> Path | str:
        text = str(value).strip()
        if text.startswith(("postgresql://", "postgres://")):
            parts = urlsplit(text)
            if not parts.hostname and "host=" not in parts.query:
                raise ValueError("a postgresql:// URL needs a host (postgresql://user@host:5432/wijkbrug)")
            if not parts.path.strip("/"):
                raise ValueError("a postgresql:// URL needs a database name (postgresql://user@host:5432/wijkbrug)")
            return text
        if text.startswith("sqlite:"):
            text = text.removeprefix("sqlite:")
            text = "/" + text.lstrip("/") if text.startswith("///") else text.removeprefix("//")
        if not text or "://" in text:
            raise ValueError("give a file path (or sqlite:PATH) for SQLite, or a postgresql:// URL")
        return Path(text)

    @field_validator("key_file")
    @classmethod
    def _shared_key(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        database, secret = info.data.get("database"), info.data.get("secret_key")
        if isinstance(database, str) and value is None and not (secret and secret.get_secret_value()):
            raise ValueError(
                "with a PostgreSQL database (WIJKBRUG_DATABASE) set this or WIJKBRUG_SECRET_KEY: "
                "every instance must use the same key"
            )
        return value

    @field_validator("smtp_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c.isspace() or c in "/:@" for c in value.strip())):
            raise ValueError("not a host name, such as smtp.example.org (the port goes in WIJKBRUG_SMTP_PORT)")
        return value.strip() if value else None

    @field_validator("smtp_password")
    @classmethod
    def _login(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if (value is None) != (info.data.get("smtp_user") is None):
            raise ValueError("WIJKBRUG_SMTP_USER and WIJKBRUG_SMTP_PASSWORD go together: set both or neither")
        return value

    @field_validator("smtp_from")
    @classmethod
    def _from(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("smtp_host") is not None:
                raise ValueError("needed when WIJKBRUG_SMTP_HOST is set: the address e-mails come from")
            return None
        _, address = parseaddr(value)
        local, at, domain = address.rpartition("@")
        if not (at and local and "." in domain):
            raise ValueError("not an e-mail address, such as wijkbrug@example.org or Wijkbrug <wijkbrug@example.org>")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("smtp_host") is not None:
                raise ValueError("needed when WIJKBRUG_SMTP_HOST is set: the links in e-mails start with it")
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("not a web address, such as https://wijkbrug.example.org")
        return value.strip().rstrip("/")

    @field_validator("whatsapp_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("not a web address, such as https://graph.facebook.com/v21.0")
        return value.strip().rstrip("/")

    @field_validator("whatsapp_phone_number_id", "whatsapp_number")
    @classmethod
    def _digits(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.field_name == "whatsapp_phone_number_id" and info.data.get("whatsapp_token") is not None:
                raise ValueError("needed when WIJKBRUG_WHATSAPP_TOKEN is set: the id of the business number "
                                 "(Meta's app dashboard, WhatsApp, API Setup)")
            return None
        digits = value.strip().removeprefix("+")
        if not digits.isdigit():
            raise ValueError("not a number of digits only, such as 106540352242922")
        return digits

    @field_validator("whatsapp_app_secret", "whatsapp_verify_token")
    @classmethod
    def _wa_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            if info.data.get("whatsapp_token") is not None:
                what = "the app secret (App settings, Basic)" if info.field_name == "whatsapp_app_secret" else (
                    "a verify token of your choice, given to Meta with the webhook's address")
                raise ValueError(f"needed when WIJKBRUG_WHATSAPP_TOKEN is set: {what}")
            return None
        return value

    @field_validator("whatsapp_listen")
    @classmethod
    def _wa_listen(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            if info.data.get("whatsapp_token") is not None:
                raise ValueError("needed when WIJKBRUG_WHATSAPP_TOKEN is set: host:port where the webhook listens")
            return None
        return _host_port(value)

    def whatsapp_address(self) -> tuple[str, int] | None:
        """Where the WhatsApp webhook listens (host, port), or None when WhatsApp is off."""
        if self.whatsapp_listen is None or self.whatsapp_token is None:
            return None
        host, _, port = self.whatsapp_listen.rpartition(":")
        return host.strip("[]"), int(port)

    def key_path(self) -> Path:
        if self.key_file:
            return self.key_file
        return self.database.with_suffix(".key") if isinstance(self.database, Path) else Path("data/wijkbrug.key")

    @field_validator("default_locale")
    @classmethod
    def _shipped(cls, value: str) -> str:
        from bot.i18n import shipped_languages

        shipped = shipped_languages()
        if value not in shipped:
            raise ValueError(f"not a shipped language; use one of {', '.join(sorted(shipped))}")
        return value

    @field_validator("web_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _host_port(value)

    def web_address(self) -> tuple[str, int] | None:
        """Where the web page listens (host, port), or None when it is off."""
        if self.web_listen is None:
            return None
        host, _, port = self.web_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError("not a time zone of the IANA database, such as Europe/Amsterdam") from None
        return value

    def catalogs(self):  # -> bot.i18n.Catalogs
        """The catalogs in the operator's default language, with times shown in their time zone
        (the bot's day, week, Monday push and working hours are counted in it too)."""
        from bot.i18n import Catalogs

        return Catalogs(default=self.default_locale, timezone=self.timezone)


def _host_port(value: str) -> str:
    host, colon, port = value.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("not host:port, such as 127.0.0.1:8080")
    return value.strip()


def load() -> Settings:
    """The settings, or `SettingsProblem` naming each bad value's variable and its source."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsProblem(describe(exc, os.environ, ENV_FILE)) from None


def describe(exc: ValidationError, environ: Mapping[str, str], env_file: Path) -> str:
    """Each problem as `<where>: WIJKBRUG_<NAME>: <what is wrong>`; the environment wins over the
    .env file, so a variable set in both is reported where its value came from."""
    lines = env_file.read_text("utf-8", errors="replace").splitlines() if env_file.is_file() else []
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = PREFIX + field.upper()
        where = "given"
        if any(key.upper() == name for key in environ):
            where = "the environment"
        else:
            defines = re.compile(rf"^\s*(?:export\s+)?{name}\s*=", re.IGNORECASE)
            found = [number for number, line in enumerate(lines, start=1) if defines.match(line)]
            if found:
                where = f"{env_file}, line {found[-1]}"  # the last one counts
        problems.append(f"{where}: {name}: {error['msg'].removeprefix('Value error, ')}")  # our validators' own words
    return "; ".join(problems)


def unknown(environ: Mapping[str, str]) -> list[str]:
    """WIJKBRUG_ variables that are no setting (a typo would otherwise pass unnoticed)."""
    internal = {"WIJKBRUG_UPDATE_GOLDEN", "WIJKBRUG_PROFILE"}  # the tests' and the benchmark's own
    return sorted(
        name for name in environ
        if name.upper().startswith(PREFIX) and name.upper() not in internal
        and name.upper()[len(PREFIX):].lower() not in Settings.model_fields
    )
