"""Processing the inbox: one stored update in, one transaction out.

For each update it finds the person (or lets the gate decide about a stranger), loads what the
step needs, calls the flow, and then, in **one transaction**, stores the effects, the new
state and every message rendered for its recipient, and marks the update processed. A crash
before the commit leaves the update in the inbox to be processed again; after it, everything the
update caused is stored. A bug in one update parks that update (the person is told, by kind, and
nothing of it is logged) and the rest go on; a database that cannot be written stops the round,
to be tried again.

Several processing loops may read the same inbox (instances on one PostgreSQL database, each
looking about once a second). An update's transaction first locks its address and its person
(`db.connection.lock_address`, `lock_person`; the case it acts on after them), then looks again:
an update handled meanwhile is left alone, and so is one whose chat has an older update still
waiting, which goes first. So each person's updates are handled one at a time, in order, once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Awaitable, Callable
from contextlib import nullcontext

from bot import effects, gate, loading, rendering
from bot.context import Work
from bot.core import Core, StorageProblem
from bot.updates import Inbound, parse
from db import conversations, inbox, users
from db.connection import lock_address, lock_case, lock_person, storage_trouble, transaction
from db.users import Account
from flows import access
from flows.model import Transition
from flows.needs import needs as needs_of
from flows.text import t

log = logging.getLogger(__name__)


def parse_stored(payload: str) -> Inbound | None:
    """An inbox row as the input it holds (None: nothing Wijkbrug acts on, or unreadable)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if isinstance(data, dict) and "inbound" in data:  # a channel that stores the neutral form (the console)
        try:
            return Inbound.model_validate(data["inbound"])
        except ValueError:
            return None
    return parse(data) if isinstance(data, dict) else None


async def process_pending(core: Core, limit: int = 25, committed: Callable[[int], object] | None = None) -> int:
    """Process what waits in this channel's inbox, oldest first. Returns how many.
    `committed` is called with each update's id after its transaction (to wake the delivery
    worker: a reply need not wait for the rest of the batch).

    A chat sending faster than the flood limit (bot/flood.py) is slowed, and only that chat:
    the inbox is read page by page past its updates, so every other chat is handled as if
    nobody flooded. A registered person's excess waits in the inbox (nothing is lost) and
    is handled, in order, as the limit allows; they are told once, politely. A stranger's
    excess is closed at once, unanswered, keeping nothing of it."""
    done = 0
    after: int | None = None
    # Chats whose later updates wait for the next round: over the flood limit (registered people), or
    # being handled by another instance right now.
    held: set[str] = set()
    chats: dict[int, str] = {}  # the chat of each update read this round (the re-check's look-up)
    # Meanwhile the delivery worker's sent rows are deleted by our transactions (bot/confirmations.py).
    with core.confirmations.busy() if core.confirmations else nullcontext():
        while batch := await inbox.pending(core.conn, core.channel, limit, after=after):
            done += await _page(core, batch, held, chats, committed)
            after = batch[-1].update_id
    return done


async def _page(core: Core, batch: list[inbox.Incoming], held: set[str], chats: dict[int, str],
                committed: Callable[[int], object] | None) -> int:
    """One page of the inbox (see `process_pending`): how many of its updates were handled."""
    done = 0
    ignored: list[int] = []
    flood = core.flood
    for item in batch:
        inbound = parse_stored(item.payload)
        chat = chats[item.update_id] = inbound.chat_id if inbound else ""
        if chat in held:
            continue
        if chat and not flood.allow(chat, flood.clock()):
            assert inbound is not None
            if await _hold(core, inbound):
                held.add(chat)
            else:
                ignored.append(item.update_id)
            continue
        if not await process(core, item.update_id, inbound, chats):
            held.add(chat)  # another instance is at this chat (or was): it goes on with it
            continue
        done += 1
        if committed is not None:
            committed(item.update_id)
        # Statements run in place and never yield: let the poller and the delivery
        # worker have their turn between two updates, or a long batch would hold them.
        await asyncio.sleep(0)
    if ignored:
        async with transaction(core.conn):
            for update_id in ignored:
                await inbox.mark_processed(core.conn, core.channel, update_id, "ignored", core.clock())
    return done


async def _hold(core: Core, inbound: Inbound) -> bool:
    """An update over the flood limit: True if it waits (a registered person's, who is told
    once per flood); False if it is a stranger's, to be closed unanswered."""
    account = await users.by_chat(core.conn, core.channel, inbound.chat_id)
    if account is None:
        return False
    if core.flood.warn(inbound.chat_id):
        async with transaction(core.conn):
            await rendering.say_to(Work(core), core.channel, inbound.chat_id, access.slow_down(), account.language)
    return True


async def process(core: Core, update_id: int, inbound: Inbound | None, chats: dict[int, str] | None = None) -> bool:
    """Handle one update (parsed; None if it could not be) in one transaction. False: not now (it
    was handled meanwhile, or an older update of its chat waits). `chats`: the chat of updates the
    caller read, so the re-check opens only others."""
    chats = {} if chats is None else chats
    try:
        handle: Handle = lambda work, account: _handle(work, inbound, account)  # noqa: E731
        return await _in_transaction(core, handle, update_id, inbound, chats)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop every later update: park this one
        if storage_trouble(exc):
            # Locked by another program, or the disk is full: nothing was written (the
            # transaction rolled back) and the update stays in the inbox for a later try.
            # (SQLite's own words, "database is locked": never anything a person typed.)
            raise StorageProblem(str(exc)) from exc
        # The type and where, never the message: it may hold what the user typed.
        where = "".join(traceback.format_tb(exc.__traceback__)[-4:])
        log.error("update %s failed with %s\n%s", update_id, type(exc).__name__, where)
        sorry: Handle = lambda work, account: _sorry(work, inbound, account)  # noqa: E731
        return await _in_transaction(core, sorry, update_id, inbound, chats)


Handle = Callable[[Work, Account | None], Awaitable[str]]


async def _in_transaction(core: Core, handle: Handle, update_id: int, inbound: Inbound | None,
                          chats: dict[int, str]) -> bool:
    """One update's transaction, with a fresh `Work`, once it is the update's turn; the presses'
    answers go out once committed."""
    work = Work(core)
    deleted: list[int] = []
    confirmations = core.confirmations
    async with transaction(core.conn):
        locked, account = await _lock(core, inbound)
        if not locked or not await _its_turn(core, update_id, inbound.chat_id if inbound else "", chats):
            return False
        outcome = await handle(work, account)
        await inbox.mark_processed(core.conn, core.channel, update_id, str(outcome), core.clock())
        if confirmations is not None:  # the sent rows waiting for a transaction: this one (see busy())
            deleted = await confirmations.ride(core.conn)
    if confirmations is not None and deleted:
        confirmations.landed(deleted)
    work.flush_answers()
    return True


async def _lock(core: Core, inbound: Inbound | None) -> tuple[bool, Account | None]:
    """Lock the update's address and then its person (if it has one yet), and return the person.
    False: another instance is at this address now; rather than wait for it, this one goes on with
    other chats (the other instance, reading the inbox in the same order, goes on with this one)."""
    if inbound is None:
        return True, None
    if not await lock_address(core.conn, core.channel, inbound.chat_id, wait=False):
        return False, None
    account = await users.by_chat(core.conn, core.channel, inbound.chat_id)
    if account is not None:
        await lock_person(core.conn, account.id)  # waited for: the same person on another channel
    return True, account


async def _its_turn(core: Core, update_id: int, chat: str, chats: dict[int, str]) -> bool:
    """Under the locks: the update still waits, and no older update of its chat does."""
    waiting = await inbox.waiting_up_to(core.conn, core.channel, update_id)
    if not waiting or waiting[-1] != update_id:
        return False  # handled meanwhile, by another loop
    older = waiting[:-1]
    for item in await inbox.opened(core.conn, core.channel, [i for i in older if i not in chats]):
        parsed = parse_stored(item.payload)
        chats[item.update_id] = parsed.chat_id if parsed else ""
    return not (chat and any(chats.get(i) == chat for i in older))


async def _sorry(work: Work, inbound: Inbound | None, account: Account | None) -> str:
    core = work.core
    if inbound is not None:
        language = account.language if account else core.catalogs.pick(inbound.language_code)
        sorry = t("Sorry, something went wrong on my side, and your last message was not handled. Please try again.")
        await rendering.say_to(work, core.channel, inbound.chat_id, sorry, language)
        if inbound.pressed is not None:
            await rendering.answer_press(work, core.channel, inbound.chat_id, inbound.pressed.callback_id, None)
    return "failed"


async def _handle(work: Work, inbound: Inbound | None, account: Account | None) -> str:
    if inbound is None:
        return "ignored"
    core = work.core
    channel = core.channel
    if account is None:
        return await gate.stranger(work, channel, inbound)
    work.remember(account)
    work.here[account.id] = (channel, inbound.chat_id)  # replies go where they wrote from
    if (outcome := await gate.known(work, channel, inbound, account)) is not None:
        return outcome
    state = await conversations.load(core.conn, account.id)
    user = account.as_user()
    event = inbound.event
    needs = needs_of(state, user, event)
    if needs.case_id:  # the case a press or a timer or its other party may change too
        await lock_case(core.conn, needs.case_id)
    env, case = await loading.for_step(core, work, account, event, needs)
    if needs.case_press is not None:
        case_id, action, version = needs.case_press
        refusal = await gate.may_press(work, user, state, case, action, case_id)
        if refusal is not None:
            await _answer(work, inbound, refusal, account)
            return "refused"
        assert case is not None
        moved = core.flow.case_action(state, user, case, action, version, env)
    else:
        moved = core.flow.step(state, user, event, env)
    await effects.apply(work, moved.effects)
    await conversations.save(core.conn, account.id, moved.state, core.clock())
    await _answer(work, inbound, moved, account)
    return "handled"


async def _answer(work: Work, inbound: Inbound, moved: Transition, account: Account) -> None:
    pressed = inbound.pressed
    channel = work.core.channel
    if pressed is not None:
        notice = work.core.catalogs.render(moved.notice, account.language) if moved.notice else None
        await rendering.answer_press(work, channel, inbound.chat_id, pressed.callback_id, notice)
        if moved.chosen is not None and pressed.message_id is not None:
            await rendering.chosen(work, account, str(pressed.message_id), pressed.text, moved.chosen)
    for message in moved.messages:
        await rendering.deliver(work, message)
