"""What happens because time passed: case timers (reminders, escalations), the Monday summary,
the nightly retention and telling coordinators about people the channel can no longer reach.
Each is stored (timers as rows, the next push and the next retention run as settings), so a bot
that was down does each once when it is back, and none twice. `wijkbrug run` looks at them in one
task of its own, whatever channels are on (`keep_firing`, started by bot/service.py).

Several instances on one PostgreSQL database each run that task; each piece of work is still done
once. A timer is fired in one transaction with what it causes and its `fired` mark, under its case's
lock (tried: a case someone is acting on waits for the next round) and its claim (db/timers.py). The
Monday push, the retention and the unreachable check each take `once` and then read their stored
"done" mark again under it: another instance may just have done them.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, datetime, time, timedelta

from bot import effects, loading, rendering
from bot.email_people import CHANNEL as EMAIL
from bot.context import Work
from bot.core import Core, StorageProblem
from db import cases as stored_cases
from db import alerts, privacy, timers, users, wal
from db import settings as stored_settings
from db.connection import Patience, keep_trying, lock_case, lock_everything, once, storage_trouble, transaction
from flows import access, case_followup, summary
from flows.session import weekly_push

log = logging.getLogger(__name__)

PUSH_KEY = "summary.next_push"
RETENTION_KEY = "retention.next_run"


LOOK_EVERY = 1.0  # seconds between two looks: timers are due by the minute


async def keep_firing(core: Core, patience: Patience, look_every: float = LOOK_EVERY) -> None:
    """Fire what is due, again and again, until cancelled: once per process, on a connection of its
    own, channel-neutral (what a timer says goes to each person's preferred address, on any channel).
    While the database cannot be written the round was rolled back (the timer stays due) and is
    tried again with growing pauses; a round that fired something looks again at once."""
    while True:
        if not await keep_trying("timers", lambda: fire_timers(core), patience):
            await asyncio.sleep(look_every)


async def fire_timers(core: Core) -> int:
    """Fire every timer that is due (also those that fell due while the bot was down), each once,
    in its own transaction with what it causes; then the weekly push, the retention and the
    unreachable people, each when due."""
    fired = 0
    for timer in await timers.due(core.conn, core.clock()):
        try:
            async with transaction(core.conn):
                if not await _claim(core, timer.case_id, timer.id, wait=False):
                    continue  # fired already, or another instance (or a press) is at its case now
                work = Work(core)
                case = await loading.case_view(core, work, timer.case_id)
                if case is not None:
                    member = await work.account(case.member_id) if case.member_id else None
                    gone = member is None or bool(member.revoked_at)
                    messages, done = core.flow.on_timer(
                        case, timer.kind, core.config.reminder_hours, core.clock(), gone
                    )
                    await effects.apply(work, tuple(done))
                    for message in messages:
                        await rendering.deliver(work, message)
                await timers.fired(core.conn, timer.id, core.clock())
        except Exception as exc:  # noqa: BLE001 - like a failed update: close this timer, go on
            if storage_trouble(exc):
                raise StorageProblem(str(exc)) from exc  # rolled back; the timer stays due
            # The type and where, never the message: it may quote a case's content.
            where = "".join(traceback.format_tb(exc.__traceback__)[-4:])
            log.error("timer %s (%s) failed with %s\n%s", timer.id, timer.kind, type(exc).__name__, where)
            async with transaction(core.conn):
                if not await _claim(core, timer.case_id, timer.id, wait=True):
                    continue
                await timers.fired(core.conn, timer.id, core.clock())
                detail = f"{timer.kind}: {type(exc).__name__}"
                await privacy.audit(core.conn, "bot", "timer-failed", timer.case_id, core.clock(), detail)
        fired += 1
    return (
        fired + await push_summaries(core) + await retention(core) + await tell_unreachable(core)
        + await release_held(core)
    )


async def _claim(core: Core, case_id: str, timer_id: int, wait: bool) -> bool:
    """The timer's case locked (`wait=False`: only if nobody is at it now), then the timer claimed."""
    return await lock_case(core.conn, case_id, wait) and await timers.claim(core.conn, timer_id)


async def release_held(core: Core) -> int:
    """Alerts held for a scope without a coordinator go out once one is there. A coordinator who
    joins on a chat gets them at once (bot/gate.py); one who joins by e-mail, on the web page
    (bot/email_people.py), gets them here, within a second."""
    released = 0
    waiting = await alerts.scopes(core.conn)
    if not waiting:
        return 0
    present = await users.coordinator_scopes(core.conn)
    for scope in waiting:
        if scope not in present:
            continue
        async with transaction(core.conn):
            work = Work(core)
            for held in await alerts.take(core.conn, scope):
                await rendering.deliver(work, held)
                released += 1
    return released


async def push_summaries(core: Core) -> int:
    """Every Monday (09:00 in the bot's time zone, configurable) each coordinator gets last week's
    summary. The next push time is stored: a bot that was down sends it once when it is back."""
    now = core.clock()
    due = await stored_settings.get(core.conn, PUSH_KEY)
    if due is None:
        async with transaction(core.conn):
            await stored_settings.put(core.conn, PUSH_KEY, next_push(core, now).isoformat())
        return 0
    if datetime.fromisoformat(due) > now:
        return 0
    sent = 0
    async with transaction(core.conn):
        if not await once(core.conn, PUSH_KEY) or await _done(core, PUSH_KEY, now):
            return 0  # another instance is sending it, or has just sent it
        work = Work(core)
        week = summary.week_of(now.astimezone(core.catalogs.timezone).date() - timedelta(days=7))
        directory = await core.directory()
        for coordinator in await users.all_coordinators(core.conn):
            report, _ = await loading.report_for_scope(core, loading.scope_of(coordinator), week)
            for message in weekly_push(coordinator.as_user(), report, directory):
                await rendering.deliver(work, message)
            sent += 1
        await stored_settings.put(core.conn, PUSH_KEY, next_push(core, now).isoformat())
    return sent


async def _done(core: Core, key: str, now: datetime) -> bool:
    """Read under `once`: whether the job's stored next run is still ahead (another instance did it)."""
    due = await stored_settings.get(core.conn, key)
    return due is not None and datetime.fromisoformat(due) > now


async def next_due(core: Core) -> datetime | None:
    """When something is next due: a case's timer, the Monday push or the nightly retention (None:
    nothing is scheduled yet). A clock moved on far (the demo's `/later`) fires each in its turn."""
    moments = [await timers.next_due(core.conn)]
    for key in (PUSH_KEY, RETENTION_KEY):
        stored_at = await stored_settings.get(core.conn, key)
        moments.append(datetime.fromisoformat(stored_at) if stored_at else None)
    return min((moment for moment in moments if moment is not None), default=None)


def next_push(core: Core, now: datetime) -> datetime:
    zone = core.catalogs.timezone
    local = now.astimezone(zone)
    day = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    at = datetime.combine(day, core.config.push_at, zone)
    if at <= now:
        at = datetime.combine(day + timedelta(days=7), core.config.push_at, zone)
    return at.astimezone(UTC)


async def tell_unreachable(core: Core) -> int:
    """Coordinators hear once about anyone the channel can no longer reach (a 403)."""
    if not await users.newly_unreachable(core.conn):
        return 0
    told = 0
    async with transaction(core.conn):
        if not await once(core.conn, "unreachable"):
            return 0  # another instance is telling them
        directory = await core.directory()
        for account in await users.newly_unreachable(core.conn):  # again, under the lock
            contact = directory.contact(account.contact_id or "")
            by_email = account.channel == EMAIL  # the preferred address is the one that refuses
            message = access.unreachable(account.as_user(), contact.team if contact else None, by_email)
            if message is not None:
                await rendering.deliver(Work(core), message)
            await users.told_unreachable(core.conn, account.id)
            told += 1
    return told


async def retention(core: Core) -> int:
    """Once a day (at night, from a stored next-run time) personal data past its retention
    period is erased; the counts for the summaries stay."""
    now = core.clock()
    config = core.config
    due = await stored_settings.get(core.conn, RETENTION_KEY)
    if due is not None and datetime.fromisoformat(due) > now:
        return 0
    async with transaction(core.conn):
        if not await once(core.conn, RETENTION_KEY) or await _done(core, RETENTION_KEY, now):
            return 0  # another instance is at it, or has just done it
        await lock_everything(core.conn)  # it erases across the whole database
        due = await stored_settings.get(core.conn, RETENTION_KEY)
        if due is not None:
            # Cases without news for the retention period are closed first, so that their
            # parent's details go with the rest (a request never answered is never closed).
            work = Work(core)
            quiet = await stored_cases.quiet_since(core.conn, now - timedelta(days=config.retention_days), core.vault)
            for record in quiet:
                view = await loading.view(core, work, record)
                messages, done = case_followup.expire(view, config.retention_days, now)
                await effects.apply(work, tuple(done))
                for message in messages:
                    await rendering.deliver(work, message)
            await privacy.apply_retention(core.conn, now, config.retention_days, config.text_retention_days)
        local = now.astimezone(core.catalogs.timezone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(3, 0), core.catalogs.timezone)
        await stored_settings.put(core.conn, RETENTION_KEY, tomorrow.astimezone(UTC).isoformat())
    if due is not None:
        await wal.truncate(core.conn)  # the erased values must not stay in the write-ahead log
    return 0
