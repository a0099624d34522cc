"""A real PostgreSQL server for the tests (issue 18): the one `WIJKBRUG_TEST_POSTGRES` names (a
postgresql:// URL of a role that may create databases), else a throw-away cluster started here
with Debian's `initdb` and `pg_ctl` (as the `postgres` user when the tests run as root), listening
on 127.0.0.1 at a free port with trust authentication, in a data folder under /tmp, stopped and
removed at the end of the session.

Each test gets a fresh database: `CREATE DATABASE … TEMPLATE` of one that already holds the
schema, which takes milliseconds where running the migrations takes much longer."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from urllib.parse import urlsplit, urlunsplit

import psycopg

HOW = (
    "PostgreSQL is needed: install Debian's server (apt-get install postgresql) "
    "or set WIJKBRUG_TEST_POSTGRES=postgresql://user@host:port/db"
)
TEMPLATE = "wijkbrug_template"


class NoPostgres(Exception):
    pass


def _bin(name: str) -> str:
    on_path = shutil.which(name)
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or ([on_path] if on_path else [])
    if not found:
        raise NoPostgres(HOW)
    return str(found[-1])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def own_cluster() -> Iterator[str]:
    """A cluster of our own: its URL while it runs."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    root = os.geteuid() == 0
    user = pwd.getpwnam("postgres") if root else None
    # As root the server runs as `postgres`, which must reach the folder: its own home when there is
    # one (the temporary folder may be root's alone, e.g. a /tmp of mode 0700).
    parent = user.pw_dir if user is not None and os.path.isdir(user.pw_dir) else None
    folder = tempfile.mkdtemp(prefix="wijkbrug-pg-", dir=parent)
    data = os.path.join(folder, "data")
    prefix: list[str] = []
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    role = "postgres" if root else pwd.getpwuid(os.geteuid()).pw_name
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, cwd=folder)
        if done.returncode:
            raise NoPostgres(f"{args[0]} failed ({done.stderr.strip()[-300:]}); {HOW}")

    try:
        run(initdb, "-D", data, "-A", "trust", "-U", role, "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
        options += " -c synchronous_commit=off -c max_connections=200"
        run(pg_ctl, "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start")
        try:
            yield f"postgresql://{role}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class PostgresServer:
    """Hands out fresh databases with Wijkbrug's schema on one server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._numbers = count(1)
        self._prefix = f"wijkbrug_t{os.getpid()}"
        self._template: str | None = None

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def empty(self) -> str:
        """A new database without any schema (a migration test's)."""
        name = f"{self._prefix}_{next(self._numbers)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return with_database(self.url, name)

    def fresh(self) -> str:
        """A new database with the schema already migrated (a copy of the template)."""
        if self._template is None:
            self._template = self._make_template()
        name = f"{self._prefix}_{next(self._numbers)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return with_database(self.url, name)

    def _make_template(self) -> str:
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        from db.connection import connect

        name = f"{self._prefix}_{TEMPLATE}"
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')

        async def migrate() -> None:
            conn = await connect(with_database(self.url, name))
            await conn.close()

        with ThreadPoolExecutor(1) as aside:  # a loop of its own: a test's loop may be running here
            aside.submit(asyncio.run, migrate()).result()
        return name

    def drop_all(self) -> None:
        """Every database this session made (on a server of the operator's, not ours)."""
        with self._admin() as admin:
            rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{self._prefix}_%",))
            for (name,) in rows.fetchall():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The server of WIJKBRUG_TEST_POSTGRES, else one of our own; NoPostgres (saying how to get
    one) when neither works."""
    given = os.environ.get("WIJKBRUG_TEST_POSTGRES")
    if given:
        try:
            psycopg.connect(given, connect_timeout=5).close()
        except psycopg.Error as exc:
            raise NoPostgres(f"WIJKBRUG_TEST_POSTGRES: cannot connect ({type(exc).__name__}); {HOW}") from exc
        server = PostgresServer(given)
        try:
            yield server
        finally:
            server.drop_all()
        return
    with own_cluster() as url:
        yield PostgresServer(url)
