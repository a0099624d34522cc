"""The directory in SQLite: replaced whole by an import, read whole into memory by the bot.

`version` changes with every write, so a running bot notices an import made by the operator
from another process and reloads.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from pydantic import BaseModel

from db import settings
from db.connection import Connection, lock_everything
from flows.directory import Contact, Directory, Organisation, Service, Team, Wijk

VERSION_KEY = "directory.version"
KINDS = ("organisations", "wijken", "teams", "contacts", "services")


class Change(BaseModel):
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []


class InUse(Exception):
    """Entries the file leaves out but that are still in use (an organisation with users, a
    contact with a member account): the import is refused."""


async def version(conn: Connection) -> str:
    return await settings.get(conn, VERSION_KEY) or ""


async def _bump(conn: Connection) -> None:
    await settings.put(conn, VERSION_KEY, uuid.uuid4().hex)


async def load(conn: Connection) -> Directory:
    async with conn.execute("SELECT id, name FROM organisations ORDER BY id") as cur:
        orgs = [Organisation(id=r[0], name=r[1]) for r in await cur.fetchall()]
    postcodes: dict[str, list[str]] = {}
    async with conn.execute("SELECT pc4, wijk_code FROM wijk_postcodes ORDER BY pc4") as cur:
        for pc4, code in await cur.fetchall():
            postcodes.setdefault(code, []).append(pc4)
    async with conn.execute("SELECT code, name FROM wijken ORDER BY position") as cur:
        wijken = [Wijk(code=r[0], name=r[1], postcodes=tuple(postcodes.get(r[0], ()))) for r in await cur.fetchall()]
    served: dict[str, list[str]] = {}
    async with conn.execute("SELECT team_id, wijk_code FROM team_wijken ORDER BY team_id, position") as cur:
        for team_id, code in await cur.fetchall():
            served.setdefault(team_id, []).append(code)
    async with conn.execute("SELECT id, name, address, phone, email, hours FROM teams ORDER BY position") as cur:
        teams = [
            Team(
                id=r[0], name=r[1], wijken=tuple(served.get(r[0], ())), address=r[2], phone=r[3], email=r[4], hours=r[5]
            )
            for r in await cur.fetchall()
        ]
    async with conn.execute(
        "SELECT id, team_id, name, role, themes, languages, phone, email, away_until FROM contacts ORDER BY position"
    ) as cur:
        contacts = [
            Contact(
                id=r[0], team=r[1], name=r[2], role=r[3], themes=tuple(json.loads(r[4])),
                languages=tuple(json.loads(r[5])), phone=r[6], email=r[7], away_until=r[8],
            )
            for r in await cur.fetchall()
        ]
    async with conn.execute(
        "SELECT id, name, themes, phone, url, hours, description FROM services ORDER BY position"
    ) as cur:
        services = [
            Service(
                id=r[0], name=r[1], themes=tuple(json.loads(r[2])), phone=r[3], url=r[4], hours=r[5], description=r[6]
            )
            for r in await cur.fetchall()
        ]
    return Directory.of(orgs, wijken, teams, contacts, services)


def _diff(old: dict[str, BaseModel], new: dict[str, BaseModel]) -> Change:
    return Change(
        added=[k for k in new if k not in old],
        changed=[k for k in new if k in old and old[k] != new[k]],
        removed=[k for k in old if k not in new],
    )


async def replace(conn: Connection, new: Directory, away_given: frozenset[str]) -> dict[str, Change]:
    """Make the stored directory equal to `new` (inside the caller's transaction).

    A contact's `away_until` is taken from the file only where the file gives it; otherwise
    the date a member set with /away stays. Nobody writes meanwhile (an /away, a new case naming a
    contact): it locks everything."""
    await lock_everything(conn)
    old = await load(conn)
    kept_away = {c.id: c.away_until for c in old.contacts}
    contacts = [
        c if c.id in away_given or c.id not in kept_away else c.model_copy(update={"away_until": kept_away[c.id]})
        for c in new.contacts
    ]
    new = Directory.of(new.organisations, new.wijken, new.teams, contacts, new.services)
    report = {
        "organisations": _diff({o.id: o for o in old.organisations}, {o.id: o for o in new.organisations}),
        "wijken": _diff({w.code: w for w in old.wijken}, {w.code: w for w in new.wijken}),
        "teams": _diff({t.id: t for t in old.teams}, {t.id: t for t in new.teams}),
        "contacts": _diff({c.id: c for c in old.contacts}, {c.id: c for c in new.contacts}),
        "services": _diff({s.id: s for s in old.services}, {s.id: s for s in new.services}),
    }
    await _refuse_removing_what_is_used(conn, report)
    if not any(c.added or c.changed or c.removed for c in report.values()):
        return report
    for table in ("wijk_postcodes", "team_wijken", "services"):
        await conn.execute(f"DELETE FROM {table}")
    # Order matters for the foreign keys: what points at a removed row goes first, and rows are
    # inserted before what points at them.
    await conn.executemany("DELETE FROM contacts WHERE id = ?", [(c,) for c in report["contacts"].removed])
    await conn.executemany(
        "INSERT INTO organisations (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        [(o.id, o.name) for o in new.organisations],
    )
    await conn.executemany(
        "INSERT INTO wijken (code, name, position) VALUES (?, ?, ?) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, position = excluded.position",
        [(w.code, w.name, i) for i, w in enumerate(new.wijken)],
    )
    await conn.executemany(
        "INSERT INTO wijk_postcodes (pc4, wijk_code) VALUES (?, ?)",
        [(pc4, w.code) for w in new.wijken for pc4 in w.postcodes],
    )
    await conn.executemany(
        "INSERT INTO teams (id, name, address, phone, email, hours, position) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, phone = excluded.phone, "
        "email = excluded.email, hours = excluded.hours, position = excluded.position",
        [(t.id, t.name, t.address, t.phone, t.email, t.hours, i) for i, t in enumerate(new.teams)],
    )
    await conn.executemany(
        "INSERT INTO team_wijken (team_id, wijk_code, position) VALUES (?, ?, ?)",
        [(t.id, code, i) for t in new.teams for i, code in enumerate(t.wijken)],
    )
    await conn.executemany(
        "INSERT INTO contacts (id, team_id, name, role, themes, languages, phone, email, away_until, position) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, "
        "name = excluded.name, role = excluded.role, themes = excluded.themes, languages = excluded.languages, "
        "phone = excluded.phone, email = excluded.email, away_until "
        "= excluded.away_until, position = excluded.position",
        [
            (
                c.id, c.team, c.name, c.role, json.dumps(list(c.themes)), json.dumps(list(c.languages)), c.phone,
                c.email, c.away_until.isoformat() if c.away_until else None, i,
            )
            for i, c in enumerate(new.contacts)
        ],
    )
    await conn.executemany("DELETE FROM teams WHERE id = ?", [(t,) for t in report["teams"].removed])
    await conn.executemany("DELETE FROM wijken WHERE code = ?", [(w,) for w in report["wijken"].removed])
    await conn.executemany("DELETE FROM organisations WHERE id = ?", [(o,) for o in report["organisations"].removed])
    await conn.executemany(
        "INSERT INTO services (id, name, themes, phone, url, hours, "
        "description, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (s.id, s.name, json.dumps(list(s.themes)), s.phone, s.url, s.hours, s.description, i)
            for i, s in enumerate(new.services)
        ],
    )
    await _bump(conn)
    return report


async def _refuse_removing_what_is_used(conn: Connection, report: dict[str, Change]) -> None:
    problems = []
    for org in report["organisations"].removed:
        async with conn.execute(
            "SELECT (SELECT count(*) FROM users WHERE org_id = ?) + (SELECT count(*) FROM questions WHERE org_id = ?)",
            (org, org),
        ) as cur:
            if (await cur.fetchone())[0]:
                problems.append(f"organisation {org!r} has users or questions; keep it in the file")
    for contact in report["contacts"].removed:
        async with conn.execute("SELECT count(*) FROM users WHERE contact_id = ?", (contact,)) as cur:
            if (await cur.fetchone())[0]:
                problems.append(f"contact {contact!r} has a member account; keep it in the file (mark it away instead)")
    if problems:
        raise InUse("; ".join(problems))


async def set_away(conn: Connection, contact_id: str, until: date | None) -> None:
    await conn.execute(
        "UPDATE contacts SET away_until = ? WHERE id = ?", (until.isoformat() if until else None, contact_id)
    )
    await _bump(conn)
