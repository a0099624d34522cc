"""The runner: one stored update in, one transaction out.

For each update in the inbox it finds the user (or decides about a stranger: the one place where
access is granted), loads the conversation, calls the pure flow, and then, in **one SQLite
transaction**, applies the effects, stores the new state, renders every message for its
recipient into the outbox and marks the update processed. A crash before the commit leaves the
update in the inbox to be processed again; after it, everything the update caused is stored.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import sqlite3
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot import departure, language_names, mention
from bot.export import to_csv
from bot.flood import Flood
from bot.i18n import Catalogs
from bot.updates import Inbound, parse
from db import alerts, conversations, inbox, invites, outbox, privacy, questions, summaries, timers, users, wal
from db import cases as stored_cases
from db import directory as stored_directory
from db import settings as stored_settings
from db.connection import Connection, StorageTrouble, storage_trouble, transaction
from db.users import Account
from db.vault import Vault, attach
from db.vault import of as vault_of
from flows import access, cases, safety, sending, session, summary
from flows.case_view import AskedQuestion
from flows.directory import Directory
from flows.holidays_nl import dutch_holidays
from flows.model import (
    AddAttachment,
    ChangeCase,
    Choice,
    Command,
    Effect,
    Env,
    EraseParent,
    LogQuestion,
    Message,
    OpenCase,
    RecordConsent,
    SaveParent,
    Schedule,
    SetAway,
    SetLanguage,
    SetQuestionWijk,
    ToCoordinators,
    ToUser,
    Transition,
    Unschedule,
)
from flows.names import clean_name
from flows.state import Saved, Step
from flows.text import t

log = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over the phone
CODE_ATTEMPTS = 8
MAX_TEXT = 4096  # Telegram's limit for one message
PUSH_KEY = "summary.next_push"
RETENTION_KEY = "retention.next_run"


def new_question_code() -> str:
    return "Q-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))


def new_case_id() -> str:
    return "H-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


class _CodeTaken(Exception):
    pass


class StorageProblem(StorageTrouble):
    """The database cannot be written now (locked, or the disk is full); try again later
    (the loops do, through `db.connection.keep_trying`)."""


@dataclass
class Runner:
    conn: Connection
    catalogs: Catalogs
    clock: Callable[[], datetime]
    channel: str = "telegram"
    new_code: Callable[[], str] = new_question_code
    vault: Vault | None = None  # default: the one opened for this connection
    reminder_hours: float = 16
    new_case: Callable[[], str] = new_case_id
    _directory: Directory = field(default_factory=Directory)
    _directory_version: str | None = None
    _holidays: dict[int, frozenset] = field(default_factory=dict)
    _open_counts: dict[str, int] | None = None  # cases per contact; this runner is their only writer
    _accounts: dict[int, Account] | None = None  # while one update is handled: the accounts it read
    summary_threshold: int = summary.THRESHOLD
    push_at: time = time(9, 0)  # Mondays, in the bot's time zone
    # No limit unless the channel sets one (the Telegram bot does, from the settings).
    flood: Flood = field(default_factory=Flood.unlimited)
    retention_days: int = 90  # a closed handover's personal data
    text_retention_days: int = 180  # a question's free text
    # Sends a call at once, beside the outbox (the Telegram bot's delivery worker); when set, a
    # button press is answered that way once its update is committed. See `_answer_callback`.
    send_now: Callable[[str, dict[str, Any]], object] | None = None
    _answers: list[dict[str, Any]] | None = None  # while one update is handled, with `send_now`

    def __post_init__(self) -> None:
        if self.vault is None:
            self.vault = vault_of(self.conn)
        attach(self.conn, self.vault)

    def holidays(self, year: int) -> frozenset:
        """Dutch public holidays of this year and the next (reminders may run over New Year)."""
        if year not in self._holidays:
            self._holidays[year] = dutch_holidays(year) | dutch_holidays(year + 1)
        return self._holidays[year]

    async def directory(self) -> Directory:
        """The directory in memory, read again when an import or /away changed it."""
        version = await stored_directory.version(self.conn)
        if version != self._directory_version:
            self._directory = await stored_directory.load(self.conn)
            self._directory_version = version
        return self._directory

    async def env(self, case=None, my_cases: tuple = ()) -> Env:
        """What the flows may consult for one update."""
        # Fresh codes are not looked up: a taken one fails the unique key when it is stored, and
        # the update is handled again with new codes (see `process`).
        code, case_id = self.new_code(), self.new_case()
        if self._open_counts is None:
            self._open_counts = await stored_cases.open_counts(self.conn)
        now = self.clock()
        return Env(
            now=now,
            today=now.astimezone(self.catalogs.timezone).date(),
            new_code=code,
            new_case_id=case_id,
            languages=self.catalogs.languages,
            directory=await self.directory(),
            reachable=await users.members_by_contact(self.conn),
            open_handovers=self._open_counts,
            timezone=self.catalogs.timezone.key,
            holidays=self.holidays(now.year),
            reminder_hours=self.reminder_hours,
            case=case,
            my_cases=my_cases,
            language_of=language_names.lookup,
        )

    async def case(self, case_id: str) -> cases.Case | None:
        record = await stored_cases.get(self.conn, case_id, self.vault)
        return await self._view(record) if record else None

    async def _view(self, r: stored_cases.CaseRecord) -> cases.Case:
        """A stored case with the names the directory and the accounts give it."""
        directory = await self.directory()
        contact = directory.contact(r.contact_id)
        team = directory.team(r.team_id)
        wijk = directory.wijk(r.wijk or "")
        volunteer = await users.get(self.conn, r.volunteer_id) if r.volunteer_id else None
        org = directory.organisation_name(r.org_id, r.org_id)
        parent = cases.Parent(first_name=r.first_name, phone=r.phone, call_time=r.call_time) if r.first_name and r.phone else None
        return cases.Case(
            id=r.id, kind=r.kind, status=r.status, version=r.version, question_code=r.question_code, theme=r.theme,
            age_group=r.age_group, parent_language=r.parent_language, wijk=r.wijk, wijk_name=wijk.name if wijk else None,
            urgent=r.urgent, question_text=r.question_text, volunteer_id=r.volunteer_id,
            volunteer_name=volunteer.display_name if volunteer else "–", org_id=r.org_id, org_name=org,
            contact_id=r.contact_id, contact_name=contact.name if contact else r.contact_id,
            contact_phone=contact.phone if contact else "", member_id=r.member_id, team_id=r.team_id,
            team_name=team.name if team else r.team_id, team_address=team.address if team else "", way=r.way,
            escalated=r.escalated, parent=parent, attachment_media=r.attachment_media, attachment_file=r.attachment_file,
            opened_at=r.opened_at, question_language=r.question_language, short_text=r.short_text,
            short_language=r.short_language, consent_contact=r.consent_contact,
        )

    def scope_of(self, account: Account) -> str:
        return f"team:{account.team_id}" if account.team_id else f"org:{account.org_id}"

    async def report(self, account: Account, week: summary.Week, with_rows: bool = False) -> tuple[summary.Report, list[dict]]:
        return await self.report_for_scope(self.scope_of(account), week, with_rows)

    async def report_for_scope(self, scope: str, week: summary.Week, with_rows: bool = False) -> tuple[summary.Report, list[dict]]:
        """One week's report of one scope (and, for an export, its rows): nothing of another scope."""
        directory = await self.directory()
        kind, _, key = scope.partition(":")
        team = directory.team(key) if kind == "team" else None
        wijken = list(team.wijken) if team else []
        name = team.name if team else directory.organisation_name(key, key)
        zone = self.catalogs.timezone.key
        now = self.clock()
        facts = []
        for one in (week, week.previous()):
            start, end = one.bounds(zone)
            facts.append((await summaries.questions(self.conn, scope, wijken, start, end), await summaries.events(self.conn, scope, start, end)))
        late = summary.stalled(await summaries.waiting(self.conn, scope), now, zone, self.holidays(now.year), self.reminder_hours)
        report = summary.build(name, week, facts[0], facts[1], late, now.astimezone(self.catalogs.timezone).date(), self.summary_threshold)
        rows = await summaries.export_rows(self.conn, scope, wijken, *week.bounds(zone)) if with_rows else []
        return report, rows

    async def push_summaries(self) -> int:
        """Every Monday (09:00 in the bot's time zone, configurable) each coordinator gets last week's
        summary. The next push time is stored: a bot that was down sends it once when it is back."""
        now = self.clock()
        due = await stored_settings.get(self.conn, PUSH_KEY)
        if due is None:
            async with transaction(self.conn):
                await stored_settings.put(self.conn, PUSH_KEY, self._next_push(now).isoformat())
            return 0
        if datetime.fromisoformat(due) > now:
            return 0
        sent = 0
        async with transaction(self.conn):
            week = summary.week_of(now.astimezone(self.catalogs.timezone).date() - timedelta(days=7))
            directory = await self.directory()
            for coordinator in await users.all_coordinators(self.conn):
                report, _ = await self.report(coordinator, week)
                messages = session.weekly_push(coordinator.as_user(), report, directory)
                for message in messages:
                    await self._deliver(message)
                sent += 1
            await stored_settings.put(self.conn, PUSH_KEY, self._next_push(now).isoformat())
        return sent

    def _next_push(self, now: datetime) -> datetime:
        local = now.astimezone(self.catalogs.timezone)
        day = local.date() + timedelta(days=(7 - local.weekday()) % 7)
        at = datetime.combine(day, self.push_at, self.catalogs.timezone)
        if at <= now:
            at = datetime.combine(day + timedelta(days=7), self.push_at, self.catalogs.timezone)
        return at.astimezone(UTC)

    async def fire_timers(self) -> int:
        """Fire every timer that is due (also those that fell due while the bot was down), each
        once, in its own transaction with what it causes."""
        fired = 0
        for timer in await timers.due(self.conn, self.clock()):
            try:
                async with transaction(self.conn):
                    case = await self.case(timer.case_id)
                    if case is not None:
                        member = await users.get(self.conn, case.member_id) if case.member_id else None
                        gone = member is None or bool(member.revoked_at)
                        messages, effects = cases.on_timer(case, timer.kind, self.reminder_hours, self.clock(), gone)
                        await self._apply(tuple(effects))
                        for message in messages:
                            await self._deliver(message)
                    await timers.fired(self.conn, timer.id, self.clock())
            except Exception as exc:  # noqa: BLE001 - like a failed update: close this timer, go on
                if storage_trouble(exc):
                    raise StorageProblem(str(exc)) from exc  # rolled back; the timer stays due
                # The type and where, never the message: it may quote a case's content.
                where = "".join(traceback.format_tb(exc.__traceback__)[-4:])
                log.error("timer %s (%s) failed with %s\n%s", timer.id, timer.kind, type(exc).__name__, where)
                async with transaction(self.conn):
                    await timers.fired(self.conn, timer.id, self.clock())
                    detail = f"{timer.kind}: {type(exc).__name__}"
                    await privacy.audit(self.conn, "bot", "timer-failed", timer.case_id, self.clock(), detail)
            fired += 1
        return fired + await self.push_summaries() + await self.retention() + await self.tell_unreachable()

    async def tell_unreachable(self) -> int:
        """Coordinators hear once about anyone the channel can no longer reach (a 403)."""
        told = 0
        for account in await users.newly_unreachable(self.conn):
            async with transaction(self.conn):
                directory = await self.directory()
                contact = directory.contact(account.contact_id or "")
                message = access.unreachable(account.as_user(), contact.team if contact else None)
                if message is not None:
                    await self._deliver(message)
                await users.told_unreachable(self.conn, account.id)
            told += 1
        return told

    async def retention(self) -> int:
        """Once a day (at night, from a stored next-run time) personal data past its retention
        period is erased; the counts for the summaries stay."""
        now = self.clock()
        due = await stored_settings.get(self.conn, RETENTION_KEY)
        if due is not None and datetime.fromisoformat(due) > now:
            return 0
        async with transaction(self.conn):
            if due is not None:
                # Cases without news for the retention period are closed first, so that their
                # parent's details go with the rest (a request never answered is never closed).
                for record in await stored_cases.quiet_since(self.conn, now - timedelta(days=self.retention_days), self.vault):
                    messages, effects = cases.expire(await self._view(record), self.retention_days, now)
                    await self._apply(tuple(effects))
                    for message in messages:
                        await self._deliver(message)
                await privacy.apply_retention(self.conn, now, self.retention_days, self.text_retention_days)
            local = now.astimezone(self.catalogs.timezone)
            tomorrow = datetime.combine(local.date() + timedelta(days=1), time(3, 0), self.catalogs.timezone)
            await stored_settings.put(self.conn, RETENTION_KEY, tomorrow.astimezone(UTC).isoformat())
        if due is not None:
            await wal.truncate(self.conn)  # the erased values must not stay in the write-ahead log
        return 0

    async def revoke(self, user_id: int) -> bool:
        """Revoke an account: their open cases go back to their team's coordinator and nothing more
        is delivered to them (see bot/departure.py)."""
        return await departure.revoke(self, user_id)

    async def process_pending(self, limit: int = 25, committed: Callable[[], object] | None = None) -> int:
        """Process what waits in this channel's inbox, oldest first. Returns how many.
        `committed` is called after each update's transaction (to wake the delivery worker: a
        reply need not wait for the rest of the batch).

        A chat sending faster than the flood limit (bot/flood.py) is slowed, and only that chat:
        the inbox is read page by page past its updates, so every other chat is handled as if
        nobody flooded. A registered person's excess waits in the inbox (nothing is lost) and
        is handled, in order, as the limit allows; they are told once, politely. A stranger's
        excess is closed at once, unanswered, keeping nothing of it."""
        done = 0
        after: int | None = None
        held: set[str] = set()  # registered chats over the limit: their later updates wait too
        while batch := await inbox.pending(self.conn, self.channel, limit, after=after):
            ignored: list[int] = []
            for item in batch:
                after = item.update_id
                inbound = _parse(item.payload)
                chat = inbound.chat_id if inbound else ""
                if chat in held:
                    continue
                if chat and not self.flood.allow(chat, self.flood.clock()):
                    assert inbound is not None
                    if await self._hold(inbound):
                        held.add(chat)
                    else:
                        ignored.append(item.update_id)
                    continue
                await self.process(item.update_id, inbound)
                done += 1
                if committed is not None:
                    committed()
                # Statements run in place and never yield: let the poller and the delivery
                # worker have their turn between two updates, or a long batch would hold them.
                await asyncio.sleep(0)
            if ignored:
                async with transaction(self.conn):
                    for update_id in ignored:
                        await inbox.mark_processed(self.conn, self.channel, update_id, "ignored", self.clock())
        return done

    async def _hold(self, inbound: Inbound) -> bool:
        """An update over the flood limit: True if it waits (a registered person's, who is told
        once per flood); False if it is a stranger's, to be closed unanswered."""
        account = await users.by_chat(self.conn, self.channel, inbound.chat_id)
        if account is None:
            return False
        if self.flood.warn(inbound.chat_id):
            async with transaction(self.conn):
                await self._send(inbound.chat_id, self.catalogs.render(access.slow_down(), account.language), ())
        return True

    async def process(self, update_id: int, inbound: Inbound | None) -> None:
        """Handle one update (parsed; None if it could not be) in one transaction."""
        for _ in range(CODE_ATTEMPTS):
            try:
                async with self._update_transaction():
                    self._accounts = {}  # read afresh by every update (and by every retry of one)
                    try:
                        outcome = await self._handle(inbound)
                    finally:
                        self._accounts = None
                    await inbox.mark_processed(self.conn, self.channel, update_id, outcome, self.clock())
                return
            except _CodeTaken:
                self._open_counts = None
                continue
            except Exception as exc:  # noqa: BLE001 - a bug must not stop every later update: park this one
                if storage_trouble(exc):
                    # Locked by another program, or the disk is full: nothing was written (the
                    # transaction rolled back) and the update stays in the inbox for a later try.
                    # (SQLite's own words, "database is locked": never anything a person typed.)
                    self._open_counts = None  # it may have been counted inside what was rolled back
                    raise StorageProblem(str(exc)) from exc
                # The type and where, never the message: it may hold what the user typed.
                where = "".join(traceback.format_tb(exc.__traceback__)[-4:])
                log.error("update %s failed with %s\n%s", update_id, type(exc).__name__, where)
                await self._fail(update_id, inbound)
                return

    @asynccontextmanager
    async def _update_transaction(self) -> AsyncIterator[None]:
        """One update's transaction; the button answers it made go out once it is committed."""
        self._answers = [] if self.send_now is not None else None
        try:
            async with transaction(self.conn):
                yield
            answers = self._answers or []
        finally:
            self._answers = None
        for answer in answers:
            self.send_now("answerCallbackQuery", answer)  # type: ignore[misc]

    async def _fail(self, update_id: int, inbound: Inbound | None) -> None:
        async with self._update_transaction():
            if inbound is not None:
                account = await users.by_chat(self.conn, self.channel, inbound.chat_id)
                language = account.language if account else self.catalogs.pick(inbound.language_code)
                sorry = t("Sorry, something went wrong on my side, and your last message was not handled. Please try again.")
                await self._send(inbound.chat_id, self.catalogs.render(sorry, language), ())
                if inbound.pressed is not None:
                    await self._answer_callback(inbound.pressed.callback_id, None, inbound.chat_id)
            await inbox.mark_processed(self.conn, self.channel, update_id, "failed", self.clock())

    async def _handle(self, inbound: Inbound | None) -> str:
        if inbound is None:
            return "ignored"
        account = await users.by_chat(self.conn, self.channel, inbound.chat_id)
        if account is None:
            return await self._stranger(inbound)
        self._remember(account)
        if account.revoked_at:
            # Nothing of what a revoked person sends is acted on; they are told so, politely.
            await self._send(inbound.chat_id, self.catalogs.render(access.revoked(), account.language), ())
            if inbound.pressed is not None:
                await self._answer_callback(inbound.pressed.callback_id, None, inbound.chat_id)
            await privacy.refused(self.conn, f"user:{account.id}", "revoked", self.clock())
            return "refused"
        if account.unreachable_at:
            await users.reachable_again(self.conn, account.id)  # they wrote again: they unblocked the bot
            self._forget(account.id)
        if isinstance(inbound.event, Command) and inbound.event.name == "start" and inbound.event.args:
            await self._deliver(access.invite_not_used(account.as_user(), await self.directory()))
            return "handled"  # the invite stays unused: one chat, one account
        state = await conversations.load(self.conn, account.id)
        user = account.as_user()
        event = inbound.event
        case_ref = cases.parse_button(event.data) if isinstance(event, Choice) else None
        case_id = case_ref[0] if case_ref else state.case_id
        case = await self.case(case_id) if case_id else None
        mine: tuple = ()
        if isinstance(event, Command) and event.name in ("inbox", "cases", "away"):
            mine = tuple([view for r in await stored_cases.of_user(self.conn, account.id, self.vault) if (view := await self._view(r))])
        env = await self.env(case=case, my_cases=mine)
        picking = Step.PICK_QUESTION in (state.step, state.resume) or (isinstance(event, Command) and event.name == "cases")
        if picking and account.role == "volunteer" and account.org_id:
            # A volunteer's own saved questions without a request, to pick one up (/cases).
            found = await questions.without_request(self.conn, account.id, account.org_id)
            saved = tuple(
                Saved(code=q.code, theme=q.theme, parent_language=q.parent_language, urgent=q.urgent, wijk=q.wijk) for q in found
            )
            env = env.model_copy(update={"my_questions": saved})
        if (code := sending.question_needed(state)) is not None and account.org_id:
            # The request to the member quotes the question, which the conversation does not hold.
            q = await questions.by_code(self.conn, account.org_id, code, self.vault)
            if q is not None:
                asked = AskedQuestion(
                    code=q.code, theme=q.theme, age_group=q.age_group, parent_language=q.parent_language, wijk=q.wijk,
                    urgent=q.urgent, text=q.text, text_language=q.text_language,
                )
                env = env.model_copy(update={"question": asked})
        if account.role == "volunteer" and state.step in safety.STEPS:  # who can be alerted now
            env = env.model_copy(update={"alertable": await users.coordinator_scopes(self.conn)})
        if isinstance(event, Command) and event.name in ("summary", "export") and account.role == "coordinator":
            week = summary.parse_week(summary.export_options(event.args)[0], env.today)
            if week is not None:
                report, rows = await self.report(account, week, with_rows=event.name == "export")
                env = env.model_copy(update={"report": report, "export_rows": tuple(rows)})
                if event.name == "export":
                    await privacy.audit(self.conn, f"user:{account.id}", "export", f"{self.scope_of(account)} {week.label}", self.clock())
        if case_ref is not None:
            # Authorisation, before any flow runs: only what flows.case_rules.TABLE gives this side of the case.
            if case is None or not access.may_act(user, case, case_ref[1]):
                await self._answer(inbound, Transition(state=state, notice=access.refusal(user, case)), account)
                await privacy.refused(self.conn, f"user:{account.id}", case_ref[0], self.clock())
                return "refused"
            moved = session.case_action(state, user, case, case_ref[1], case_ref[2], env)
        else:
            moved = session.step(state, user, event, env)
        await self._apply(moved.effects)
        await conversations.save(self.conn, account.id, moved.state, self.clock())
        await self._answer(inbound, moved, account)
        return "handled"

    async def _stranger(self, inbound: Inbound) -> str:
        """Let someone in with a usable invite; otherwise answer politely and store nothing of them."""
        event = inbound.event
        code = event.args if isinstance(event, Command) and event.name == "start" else ""
        invite = await invites.find_usable(self.conn, code, self.clock()) if code else None
        if invite is None:
            if not self.flood.may_refuse(inbound.chat_id, self.flood.clock()):
                return "ignored"  # refused a moment ago: a stranger's flood gets one answer a minute
            language = self.catalogs.pick(inbound.language_code)
            await self._send(inbound.chat_id, self.catalogs.render(access.refuse_stranger(bool(code)), language), ())
            if inbound.pressed is not None:
                await self._answer_callback(inbound.pressed.callback_id, None, inbound.chat_id)
            return "refused"
        account = await users.create(
            self.conn,
            channel=self.channel,
            chat_id=inbound.chat_id,
            role=invite.role,
            org_id=invite.org_id,
            language=self.catalogs.pick(inbound.language_code),
            display_name=clean_name(inbound.first_name),
            now=self.clock(),
            contact_id=invite.contact_id,
            team_id=invite.team_id,
        )
        await invites.mark_used(self.conn, invite.code_hash, account.id, self.clock())
        await self._deliver(access.welcome(account.as_user(), await self.directory(), inbound.language_code))
        await self._publish_menu(account)
        if account.role == "coordinator":
            scope = f"team:{account.team_id}" if account.team_id else f"org:{account.org_id}"
            for held in await alerts.take(self.conn, scope):
                await self._deliver(held)
        return "registered"

    async def _apply(self, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, SetLanguage):
                await users.set_language(self.conn, effect.user_id, effect.language)
                self._forget(effect.user_id)
                fresh = await self._account(effect.user_id)
                if fresh is not None:
                    await self._publish_menu(fresh)
            elif isinstance(effect, SetQuestionWijk):
                await questions.set_wijk(self.conn, effect.org_id, effect.code, effect.wijk)
            elif isinstance(effect, SetAway):
                await stored_directory.set_away(self.conn, effect.contact_id, effect.until)
            elif isinstance(effect, LogQuestion):
                try:
                    await questions.insert(self.conn, effect, self.vault)
                except sqlite3.IntegrityError as exc:
                    if "questions.code" in str(exc):
                        raise _CodeTaken from None
                    raise
            elif isinstance(effect, RecordConsent):
                await stored_cases.record_consent(self.conn, effect)
            elif isinstance(effect, SaveParent):
                await stored_cases.save_parent(self.conn, effect, self.vault)
            elif isinstance(effect, AddAttachment):
                await stored_cases.add_attachment(self.conn, effect, self.vault)
            elif isinstance(effect, OpenCase):
                self._open_counts = None
                try:
                    await stored_cases.open_case(self.conn, effect, self.vault)
                except sqlite3.IntegrityError as exc:
                    if "cases.id" in str(exc):
                        raise _CodeTaken from None
                    raise
            elif isinstance(effect, ChangeCase):
                self._open_counts = None
                await stored_cases.change(self.conn, effect, self.vault)
            elif isinstance(effect, EraseParent):
                await stored_cases.erase_parent(self.conn, effect.org_id, effect.question_code, effect.at)
            elif isinstance(effect, Schedule):
                await timers.schedule(self.conn, effect.timer, effect.case_id, effect.due_at)
            elif isinstance(effect, Unschedule):
                await timers.cancel(self.conn, effect.case_id, self.clock())

    async def _answer(self, inbound: Inbound, moved: Transition, account: Account) -> None:
        pressed = inbound.pressed
        if pressed is not None:
            notice = self.catalogs.render(moved.notice, account.language) if moved.notice else None
            await self._answer_callback(pressed.callback_id, notice, account.chat_id)
            # Show the choice under its prompt and drop the buttons, so the chat reads as a record.
            if moved.chosen is not None and pressed.message_id is not None:
                fresh = await self._account(account.id) or account
                chosen = self.catalogs.render(moved.chosen, fresh.language)
                await outbox.enqueue(
                    self.conn, self.channel, account.chat_id, "editMessageText",
                    {"chat_id": account.chat_id, "message_id": pressed.message_id, "text": f"{pressed.text}\n\n✓ {chosen}"},
                    self.clock(),
                )
        for message in moved.messages:
            await self._deliver(message)

    async def _account(self, user_id: int) -> Account | None:
        """An account, read once per update (an update often addresses its own sender twice)."""
        account = self._accounts.get(user_id) if self._accounts is not None else None
        if account is None and (account := await users.get(self.conn, user_id)) is not None:
            self._remember(account)
        return account

    def _remember(self, account: Account) -> None:
        if self._accounts is not None:  # only while an update is handled
            self._accounts[account.id] = account

    def _forget(self, user_id: int) -> None:
        """The account changed in this transaction: read it again when it is next needed."""
        if self._accounts is not None:
            self._accounts.pop(user_id, None)

    async def _deliver(self, message: Message) -> None:
        """Render a message for each of its recipients, in their own language, into the outbox."""
        if isinstance(message.to, ToUser):
            # A revoked account gets nothing more: no case content, no reminder, no relayed note.
            recipients = [a for a in [await self._account(message.to.user_id)] if a is not None and not a.revoked_at]
        else:
            assert isinstance(message.to, ToCoordinators)
            recipients = await users.coordinators(self.conn, message.to.scope)
            if not recipients:
                await alerts.hold(self.conn, message.to.scope, message, self.clock())
                return
        for account in recipients:
            text = self.catalogs.render_parts(message.parts, account.language)
            keyboard = [
                [{"text": self.catalogs.render(b.label, account.language), "callback_data": b.data} for b in row]
                for row in message.buttons
            ]
            if message.upload is not None:
                await self._upload(account, message, text)
                continue
            if message.attachment is not None:
                key = "photo" if message.attachment.media == "photo" else "document"
                method = "sendPhoto" if key == "photo" else "sendDocument"
                payload = {"chat_id": account.chat_id, key: message.attachment.file_id, "caption": text[:1024]}
                await outbox.enqueue(self.conn, account.channel, account.chat_id, method, payload, self.clock())
                continue
            entities: list[dict[str, Any]] = []
            if message.reach is not None and (reach := await self._account(message.reach)) is not None:
                same = reach.channel if reach.channel == account.channel else ""  # a link works within one channel
                text, entities = mention.add(text, reach.display_name, reach.chat_id, same)
            await self._send(account.chat_id, text, keyboard, channel=account.channel, entities=entities)

    async def _upload(self, account: Account, message: Message, caption: str) -> None:
        """A chart or an export, made for this reader in their language, sent as a file."""
        upload = message.upload
        assert upload is not None
        report = summary.Report.model_validate(upload.report)
        if upload.kind == "chart":
            from bot.charts import draw  # matplotlib is loaded only when a chart is drawn

            data, field_name, method, filename = draw(report, self.catalogs, account.language), "photo", "sendPhoto", "summary.png"
        else:
            data, field_name, method, filename = to_csv(upload.rows, upload.excel, self.catalogs.timezone), "document", "sendDocument", f"wijkbrug-{report.week.label}.csv"
        payload = {
            "chat_id": account.chat_id,
            "caption": caption[:1024],
            "_upload": {"field": field_name, "filename": filename, "data": base64.b64encode(data).decode("ascii")},
        }
        await outbox.enqueue(self.conn, account.channel, account.chat_id, method, payload, self.clock())

    async def _send(self, chat_id: str, text: str, keyboard: Any, channel: str | None = None, entities: list[dict[str, Any]] | None = None) -> None:
        """One message, or several when the text is longer than a message may be (the buttons go
        with the last one; `entities`, offsets into the whole text, only with a text that fits one)."""
        pieces = split_text(text)
        for i, piece in enumerate(pieces):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": piece}
            if entities and len(pieces) == 1:
                payload["entities"] = entities
            if keyboard and i == len(pieces) - 1:
                payload["reply_markup"] = {"inline_keyboard": keyboard}
            await outbox.enqueue(self.conn, channel or self.channel, chat_id, "sendMessage", payload, self.clock())

    async def _publish_menu(self, account: Account) -> None:
        """The command menu of this person's role, in their language, for their chat only."""
        commands = [
            {"command": name, "description": self.catalogs.render(session.COMMAND_HELP[name], account.language)[:256]}
            for name in session.COMMANDS[account.role]
        ]
        payload = {"commands": commands, "scope": {"type": "chat", "chat_id": account.chat_id}}
        await outbox.enqueue(self.conn, account.channel, account.chat_id, "setMyCommands", payload, self.clock())

    async def _answer_callback(self, callback_id: str, notice: str | None, chat_id: str) -> None:
        payload: dict[str, Any] = {"callback_query_id": callback_id}
        if notice:
            payload["text"] = notice
        if self._answers is not None:
            # Sent at once after the commit, beside the outbox: an answer only stops the button's
            # spinner (or shows a short notice) and is no use later, so it needs no durability;
            # through the outbox each cost a sealed row, its delete and a scan (a quarter of all rows).
            self._answers.append(payload)
            return
        # Keyed to the chat so it keeps its place among that chat's other calls.
        await outbox.enqueue(self.conn, self.channel, chat_id, "answerCallbackQuery", payload, self.clock())


def _parse(payload: str) -> Inbound | None:
    try:
        return parse(json.loads(payload))
    except ValueError:
        return None



def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a long text at paragraph (else line, else any) boundaries into pieces within `limit`."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces
