"""Reading what a step needs into `Env`: what flows.needs asks for and nothing more; and the views
the flows see of a stored case and of a scope's week."""

from __future__ import annotations

from datetime import datetime

from bot import language_names
from bot.context import Work
from bot.core import Core
from db import cases as stored_cases
from db import privacy, questions, summaries, users
from db.users import Account
from flows import cases, summary
from flows.case_view import AskedQuestion
from flows.model import Command, Env, Input, Unread
from flows.needs import Needs
from flows.state import Saved


def scope_of(account: Account) -> str:
    """Whose figures a coordinator sees: their wijkteam's, or their organisation's."""
    return f"team:{account.team_id}" if account.team_id else f"org:{account.org_id}"


async def env(core: Core, work: Work, needs: Needs = Needs(), case: cases.Case | None = None) -> Env:
    """What the flows may consult for one update: always the directory and the clock; the rest
    (who is reachable, the open handovers, new ids) only when `needs` asks for it."""
    now = core.clock()
    conn = core.conn
    # Allocated here, inside the transaction that stores them, so they are certainly free.
    code = await questions.unused_code(conn, core.new_code) if needs.fresh_code else ""
    case_id = await stored_cases.unused_id(conn, core.new_case) if needs.fresh_case else ""
    # Built from the loader's own typed values, so not validated again.
    return Env.model_construct(
        now=now,
        today=now.astimezone(core.catalogs.timezone).date(),
        new_code=code,
        new_case_id=case_id,
        languages=core.catalogs.languages,
        directory=await core.directory(),
        reachable=await users.members_by_contact(conn) if needs.matching else Unread("reachable"),
        open_handovers=await core.open_counts() if needs.matching else Unread("open_handovers"),
        timezone=core.catalogs.timezone.key,
        holidays=core.holidays(now.year),
        reminder_hours=core.config.reminder_hours,
        case=case,
        language_of=language_names.lookup,
    )


async def for_step(
    core: Core, work: Work, account: Account, event: Input, needs: Needs
) -> tuple[Env, cases.Case | None]:
    """The `Env` of one step of `account`'s conversation, and the case it acts on (if any)."""
    case = await case_view(core, work, needs.case_id) if needs.case_id else None
    base = await env(core, work, needs, case)
    update: dict[str, object] = {}
    if needs.my_cases:
        records = await stored_cases.of_user(core.conn, account.id, core.vault)
        update["my_cases"] = tuple([await view(core, work, r) for r in records])
    if needs.my_questions and account.org_id:
        found = await questions.without_request(core.conn, account.id, account.org_id)
        update["my_questions"] = tuple(
            Saved(code=q.code, theme=q.theme, parent_language=q.parent_language, urgent=q.urgent, wijk=q.wijk)
            for q in found
        )
    if needs.question is not None and account.org_id:
        # The request to the member quotes the question, which the conversation does not hold.
        q = await questions.by_code(core.conn, account.org_id, needs.question, core.vault)
        if q is not None:
            update["question"] = AskedQuestion(
                code=q.code,
                theme=q.theme,
                age_group=q.age_group,
                parent_language=q.parent_language,
                wijk=q.wijk,
                urgent=q.urgent,
                text=q.text,
                text_language=q.text_language,
            )
    if needs.alertable:
        update["alertable"] = await users.coordinator_scopes(core.conn)
    if needs.report is not None and isinstance(event, Command):
        week = summary.parse_week(summary.export_options(event.args)[0], base.today)
        if week is not None:
            exporting = needs.report == "export"
            report, rows = await report_for_scope(core, scope_of(account), week, with_rows=exporting)
            update |= {"report": report, "export_rows": tuple(rows)}
            if exporting:
                what = f"{scope_of(account)} {week.label}"
                await privacy.audit(core.conn, f"user:{account.id}", "export", what, core.clock())
    return (base.model_copy(update=update) if update else base), case


async def case_view(core: Core, work: Work, case_id: str) -> cases.Case | None:
    record = await stored_cases.get(core.conn, case_id, core.vault)
    return await view(core, work, record) if record else None


async def view(core: Core, work: Work, r: stored_cases.CaseRecord) -> cases.Case:
    """A stored case with the names the directory and the accounts give it."""
    directory = await core.directory()
    contact = directory.contact(r.contact_id)
    team = directory.team(r.team_id)
    wijk = directory.wijk(r.wijk or "")
    volunteer = await work.account(r.volunteer_id) if r.volunteer_id else None
    org = directory.organisation_name(r.org_id, r.org_id)
    parent = (
        cases.Parent(first_name=r.first_name, phone=r.phone, call_time=r.call_time)
        if r.first_name and r.phone
        else None
    )
    return cases.Case(
        id=r.id,
        kind=r.kind,
        status=r.status,
        version=r.version,
        question_code=r.question_code,
        theme=r.theme,
        age_group=r.age_group,
        parent_language=r.parent_language,
        wijk=r.wijk,
        wijk_name=wijk.name if wijk else None,
        urgent=r.urgent,
        question_text=r.question_text,
        volunteer_id=r.volunteer_id,
        volunteer_name=volunteer.display_name if volunteer else "–",
        org_id=r.org_id,
        org_name=org,
        contact_id=r.contact_id,
        contact_name=contact.name if contact else r.contact_id,
        contact_phone=contact.phone if contact else "",
        member_id=r.member_id,
        team_id=r.team_id,
        team_name=team.name if team else r.team_id,
        team_address=team.address if team else "",
        way=r.way,
        escalated=r.escalated,
        parent=parent,
        attachment_media=r.attachment_media,
        attachment_file=r.attachment_file,
        opened_at=r.opened_at,
        question_language=r.question_language,
        short_text=r.short_text,
        short_language=r.short_language,
        consent_contact=r.consent_contact,
    )


async def report_for_scope(
    core: Core, scope: str, week: summary.Week, with_rows: bool = False
) -> tuple[summary.Report, list[dict[str, object]]]:
    """One week's report of one scope (and, for an export, its rows): nothing of another scope."""
    directory = await core.directory()
    kind, _, key = scope.partition(":")
    team = directory.team(key) if kind == "team" else None
    wijken = list(team.wijken) if team else []
    name = team.name if team else directory.organisation_name(key, key)
    zone = core.catalogs.timezone.key
    now: datetime = core.clock()
    facts = []
    for one in (week, week.previous()):
        start, end = one.bounds(zone)
        facts.append(
            (
                await summaries.questions(core.conn, scope, wijken, start, end),
                await summaries.events(core.conn, scope, start, end),
            )
        )
    waiting = await summaries.waiting(core.conn, scope)
    late = summary.stalled(waiting, now, zone, core.holidays(now.year), core.config.reminder_hours)
    today = now.astimezone(core.catalogs.timezone).date()
    report = summary.build(name, week, facts[0], facts[1], late, today, core.config.summary_threshold)
    rows = await summaries.export_rows(core.conn, scope, wijken, *week.bounds(zone)) if with_rows else []
    return report, rows
