"""Encryption at rest of personal data (the parent's name and phone, question text, file refs).

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`, behind MultiFernet so that a new key
can be added in front of the old ones. The key lives outside the database: in the environment
(WIJKBRUG_SECRET_KEY) or in a key file created with mode 0600 on first run. A sealed value is
`v1:<token>`; a value without the prefix is legacy plain text from before encryption.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from db.connection import Connection

PREFIX = "v1:"
CHECK_KEY = "vault.check"
CHECK_TEXT = "wijkbrug"


class KeyProblem(Exception):
    """The key is missing or does not open what this database holds: stop, never garble."""


class Vault:
    # How many values sealed for a handover (`seal(..., handover=True)`) are kept for their
    # opening; past that the oldest are forgotten and opened by decrypting, as any other.
    HANDOVERS = 512

    def __init__(self, keys: list[bytes], reload: Callable[[], list[bytes]] | None = None) -> None:
        """`reload`, if given, reads the keys again: after `wijkbrug rotate-key` a running bot
        meets data sealed under the new key, reloads once, and goes on (no downtime)."""
        self._reload = reload
        self._use(keys)
        self._handovers: dict[str, str] = {}

    def _use(self, keys: list[bytes]) -> None:
        if not keys:
            raise KeyProblem("no encryption key")
        try:
            fernets = [Fernet(key) for key in keys]
            self._fernet, self._newest = MultiFernet(fernets), fernets[0]
        except ValueError as exc:
            raise KeyProblem(f"the encryption key is not a valid Fernet key ({exc})") from None

    @classmethod
    def generate(cls) -> Vault:
        return cls([Fernet.generate_key()])

    def seal(self, text: str | None, handover: bool = False) -> str | None:
        """`handover`: this process will open it again in a moment (an update the poller
        stores for the runner, a call the runner stores for the delivery worker); the text is
        kept until then, so opening it costs a lookup instead of a decryption. A sealed value
        is unique (a random IV), so what is kept can only ever open its own token."""
        if text is None:
            return None
        sealed = PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")
        if handover:
            self._handovers[sealed] = text
            if len(self._handovers) > self.HANDOVERS:  # never opened here (rolled back, or taken elsewhere)
                del self._handovers[next(iter(self._handovers))]
        return sealed

    def open(self, sealed: str | None) -> str | None:
        if sealed is None or not sealed.startswith(PREFIX):
            return sealed
        if (kept := self._handovers.pop(sealed, None)) is not None:
            return kept
        token = sealed[len(PREFIX):].encode("ascii")
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            if self._reload is not None:
                self._use(self._reload())
                try:
                    return self._fernet.decrypt(token).decode("utf-8")
                except InvalidToken:
                    pass
            raise KeyProblem("the encryption key does not open the data in this database") from None

    def is_newest(self, sealed: str | None) -> bool:
        """Is this value sealed under the newest key already? (Checks the token's signature
        only, without decrypting: a rotation that is run again skips what it did before.)"""
        if sealed is None or not sealed.startswith(PREFIX):
            return False
        try:
            self._newest.extract_timestamp(sealed[len(PREFIX):].encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, sealed: str | None) -> str | None:
        """The same value sealed under the newest key."""
        if sealed is None or not sealed.startswith(PREFIX):
            return self.seal(sealed)
        return PREFIX + self._fernet.rotate(sealed[len(PREFIX):].encode("ascii")).decode("ascii")


def load_keys(secret: str | None, key_file: Path, create: bool) -> list[bytes]:
    """Keys from WIJKBRUG_SECRET_KEY (comma-separated, newest first), else from the key file,
    which is created (mode 0600) only when `create` is true: for a new database."""
    if secret:
        return [part.strip().encode("ascii") for part in secret.split(",") if part.strip()]
    if key_file.exists():
        try:
            if key_file.stat().st_mode & 0o077:
                key_file.chmod(0o600)  # readable by its owner only, however it was copied in place
        except OSError:
            pass  # not ours: leave it
        return [line.strip().encode("ascii") for line in key_file.read_text("ascii").splitlines() if line.strip()]
    if not create:
        raise KeyProblem(
            f"the key file {key_file} is missing, and this database holds encrypted data; restore the key "
            "file or set WIJKBRUG_SECRET_KEY"
        )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    # Written whole beside it, then linked into place: two instances starting together on a new database
    # (issue 18) end with one key file, and neither ever reads it half-written.
    descriptor, name = tempfile.mkstemp(prefix=f"{key_file.name}.", suffix=".new", dir=key_file.parent)  # 0600
    draft = Path(name)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(Fernet.generate_key().decode("ascii") + "\n")
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass  # another instance made it first: use that one
    finally:
        draft.unlink(missing_ok=True)
    return load_keys(None, key_file, create=False)


async def open_vault(conn: Connection, secret: str | None, key_file: Path) -> Vault:
    """The vault for this database: a new database gets a new key (file); an existing one must be
    opened by the key it was sealed with, or Wijkbrug stops with a clear message."""
    from db import settings
    from db.connection import transaction

    check = await settings.get(conn, CHECK_KEY)
    vault = Vault(
        load_keys(secret, key_file, create=check is None), reload=lambda: load_keys(secret, key_file, create=False)
    )
    if check is None:
        async with transaction(conn):
            await settings.put(conn, CHECK_KEY, vault.seal(CHECK_TEXT) or "")
    elif vault.open(check) != CHECK_TEXT:
        raise KeyProblem("the encryption key does not open the data in this database")
    return vault


_ATTACHED: weakref.WeakKeyDictionary[Connection, Vault] = weakref.WeakKeyDictionary()


def attach(conn: Connection, vault: Vault) -> Vault:
    """Use `vault` for what is sealed on this connection (the inbox, outbox and conversations)."""
    _ATTACHED[conn] = vault
    return vault


def of(conn: Connection) -> Vault:
    try:
        return _ATTACHED[conn]
    except KeyError:
        raise KeyProblem("no encryption key was opened for this database connection") from None


def write_keys(key_file: Path, keys: list[bytes]) -> None:
    """Replace the key file atomically (mode 0600), newest key first."""
    temporary = key_file.with_suffix(key_file.suffix + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(key.decode("ascii") + "\n" for key in keys))
    os.replace(temporary, key_file)
