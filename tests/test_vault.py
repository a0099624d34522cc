"""The vault: what is sealed opens only with its key; a value sealed for a handover inside the
process opens once without decrypting, and the memory for that stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.vault import KeyProblem, Vault


class Counting:
    """Wraps the vault's Fernet to count decryptions."""

    def __init__(self, fernet) -> None:
        self.fernet = fernet
        self.decrypted = 0

    def encrypt(self, data: bytes) -> bytes:
        return self.fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        self.decrypted += 1
        return self.fernet.decrypt(token)


def counting(vault: Vault) -> Counting:
    vault._fernet = Counting(vault._fernet)  # type: ignore[assignment]
    return vault._fernet  # type: ignore[return-value]


def test_a_handed_over_value_opens_once_without_decrypting_then_as_any_other() -> None:
    vault = Vault.generate()
    fernet = counting(vault)
    sealed = vault.seal("an invented update", handover=True)
    assert sealed is not None and "invented" not in sealed
    assert vault.open(sealed) == "an invented update" and fernet.decrypted == 0
    assert vault.open(sealed) == "an invented update" and fernet.decrypted == 1  # a second reader decrypts


def test_a_plain_seal_is_not_kept() -> None:
    vault = Vault.generate()
    fernet = counting(vault)
    assert vault.open(vault.seal("a draft")) == "a draft" and fernet.decrypted == 1


def test_handovers_never_opened_are_forgotten_oldest_first() -> None:
    vault = Vault.generate()
    fernet = counting(vault)
    sealed = [vault.seal(f"call {n}", handover=True) for n in range(Vault.HANDOVERS + 10)]
    assert len(vault._handovers) == Vault.HANDOVERS
    assert vault.open(sealed[0]) == "call 0" and fernet.decrypted == 1  # forgotten: decrypted
    assert vault.open(sealed[-1]) == f"call {Vault.HANDOVERS + 9}" and fernet.decrypted == 1


def test_another_key_s_value_still_stops_the_bot() -> None:
    sealed = Vault.generate().seal("sealed elsewhere", handover=True)
    with pytest.raises(KeyProblem):
        Vault.generate().open(sealed)


def test_instances_starting_together_on_a_new_database_share_one_key_file(tmp_path: Path) -> None:
    """Two `wijkbrug run` on a new PostgreSQL database both find no key: one file is made, both use it."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from db.vault import load_keys

    for n in range(30):
        key_file = tmp_path / f"keys{n}" / "wijkbrug.key"
        start = Barrier(6)

        def make(key_file: Path = key_file, start: Barrier = start) -> list[bytes]:
            start.wait()
            return load_keys(None, key_file, create=True)

        with ThreadPoolExecutor(6) as pool:
            made = list(pool.map(lambda _: make(), range(6)))
        assert all(keys == made[0] and len(keys) == 1 for keys in made)
        assert sorted(p.name for p in key_file.parent.iterdir()) == ["wijkbrug.key"]
