"""What `users list`, `invites list` and `audit` print: a header row, then one row per entry (tab
separated, so `cut` and a spreadsheet read it), or one line saying there is nothing yet. No names,
no codes, no personal data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from db.invites import Listed
from db.users import Account


def table(header: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> list[str]:
    lines = ["\t".join(header)]
    lines += ["\t".join(str(value) for value in row) for row in rows]
    return lines if len(lines) > 1 else [*lines, empty]


def users(accounts: Sequence[Account], uncoordinated: Sequence[str]) -> list[str]:
    """The users, then every organisation nobody can alert (no active coordinator)."""
    rows = [
        (
            str(a.id), a.role.value, a.org_id or a.team_id or a.contact_id or "-", a.language,
            "revoked" if a.revoked_at else "unreachable" if a.unreachable_at else "active",
        )
        for a in accounts
    ]
    lines = table(("id", "role", "scope", "language", "state"), rows, "(no users yet)")
    for org_id in uncoordinated:
        lines.append(
            f"warning: organisation {org_id} has no coordinator: its volunteers' safety alerts reach only a "
            f"wijkteam coordinator, or nobody; invite one with `wijkbrug invite --role coordinator --org {org_id}`"
        )
    return lines


def invites(listed: Sequence[Listed]) -> list[str]:
    rows = [(i.ref, i.role.value, i.bound_to, f"{i.expires_at:%Y-%m-%d}", i.state) for i in listed]
    return table(("ref", "role", "for", "expires", "state"), rows, "(no invites yet)")


def audit(entries: Sequence[Sequence[str]]) -> list[str]:
    return table(("at", "actor", "action", "subject", "detail"), entries, "(the audit log is empty)")
