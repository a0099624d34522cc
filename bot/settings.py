"""Operator settings, from the environment (prefix WIJKBRUG_) or a .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WIJKBRUG_", env_file=".env", extra="ignore")

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
    # Days after which a closed handover's personal data, and a question's free text, are erased.
    # Flood protection: messages per minute per person (after a burst of 10) before they are slowed.
    flood_per_minute: float = 30
    retention_days: int = 90
    text_retention_days: int = 180
    key_file: Path | None = None

    def key_path(self) -> Path:
        return self.key_file or self.database.with_suffix(".key")
