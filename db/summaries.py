"""The facts a weekly summary counts, for one scope: an organisation (`org:<id>`) or a wijkteam
(`team:<id>`, by the wijken it serves and the cases sent to it). Only codes, categories and
times: no names, numbers or question text."""

from __future__ import annotations

from datetime import UTC, datetime

from db.connection import Connection
from flows.summary import EventFact, OpenCaseFact, QuestionFact


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _case_scope(scope: str, alias: str = "c.") -> tuple[str, str]:
    """The column that puts a case in this scope, and the scope's key."""
    kind, _, key = scope.partition(":")
    return (f"{alias}org_id" if kind == "org" else f"{alias}team_id"), key


def _question_scope(scope: str, wijken: list[str]) -> tuple[str, list[str]]:
    """An organisation's questions, or those in the wijken a team serves."""
    kind, _, key = scope.partition(":")
    if kind == "org":
        return "q.org_id = ?", [key]
    return f"q.wijk IN ({','.join('?' * len(wijken)) or 'NULL'})", list(wijken)


async def questions(
    conn: Connection, scope: str, wijken: list[str], start: datetime, end: datetime
) -> list[QuestionFact]:
    condition, params = _question_scope(scope, wijken)
    async with conn.execute(
        f"SELECT q.code, q.created_at, q.theme, q.wijk, q.parent_language, q.age_group, q.urgent, q.volunteer_id "
        f"FROM questions q WHERE {condition} AND q.created_at >= ? AND q.created_at < ?",
        (*params, _utc(start), _utc(end)),
    ) as cur:
        rows = await cur.fetchall()
    return [
        QuestionFact(
            code=r[0], created_at=r[1], theme=r[2], wijk=r[3], parent_language=r[4], age_group=r[5], urgent=bool(r[6]),
            volunteer_id=r[7],
        )
        for r in rows
    ]


async def events(conn: Connection, scope: str, start: datetime, end: datetime) -> list[EventFact]:
    column, key = _case_scope(scope)
    async with conn.execute(
        f"SELECT e.case_id, c.kind, e.status, e.at, c.opened_at FROM case_events e JOIN cases c ON c.id = e.case_id "
        f"WHERE {column} = ? AND e.at >= ? AND e.at < ?",
        (key, _utc(start), _utc(end)),
    ) as cur:
        rows = await cur.fetchall()
    return [EventFact(case_id=r[0], kind=r[1], status=r[2], at=r[3], opened_at=r[4]) for r in rows]


async def waiting(conn: Connection, scope: str) -> list[OpenCaseFact]:
    """Handovers of this scope still waiting for an answer."""
    column, key = _case_scope(scope, alias="")
    async with conn.execute(
        f"SELECT id, team_id, opened_at FROM cases WHERE {column} = ? AND status = 'requested' AND kind = 'handover'",
        (key,),
    ) as cur:
        rows = await cur.fetchall()
    return [OpenCaseFact(case_id=r[0], team_id=r[1], opened_at=r[2]) for r in rows]


# One row of /export's file: column to value (text; urgent as 0 or 1; a case's team may be NULL).
ExportRow = dict[str, str | int | None]


async def export_rows(
    conn: Connection, scope: str, wijken: list[str], start: datetime, end: datetime
) -> list[ExportRow]:
    """One row per question logged or case opened in the week: pseudonymous codes only."""
    out: list[ExportRow] = [
        {"type": "question", "code": q.code, "question": q.code, "date": q.created_at.isoformat(), "theme": q.theme,
         "wijk": q.wijk or "", "parent_language": q.parent_language, "age_group": q.age_group, "urgent": int(q.urgent),
         "status": "", "team": ""}
        for q in await questions(conn, scope, wijken, start, end)
    ]
    column, key = _case_scope(scope)
    async with conn.execute(
        "SELECT c.id, c.kind, q.code, c.opened_at, q.theme, q.wijk, "
        "q.parent_language, q.age_group, q.urgent, c.status, c.team_id "
        "FROM cases c LEFT JOIN questions q ON q.id = c.question_id "
        f"WHERE {column} = ? AND c.opened_at >= ? AND c.opened_at < ?",
        (key, _utc(start), _utc(end)),
    ) as cur:
        for r in await cur.fetchall():
            out.append(
                {
                    "type": r[1], "code": r[0], "question": r[2] or "", "date": r[3], "theme": r[4] or "",
                    "wijk": r[5] or "", "parent_language": r[6] or "", "age_group": r[7] or "",
                    "urgent": int(bool(r[8])), "status": r[9], "team": r[10],
                }
            )
    return out
